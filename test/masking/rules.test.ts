import t from 'tap'
import { compileMaskRules, clearMaskRuleCache, maskRuleCacheSize, MaskRuleError } from '../../src/masking/index.js'
import { isBouncerError } from '../../src/errors.js'

t.beforeEach(() => clearMaskRuleCache())

t.test('valid rules compile; absent or empty lists are the empty mask', async (t) => {
  const m = compileMaskRules([
    { path: '/customers/*/ssn', action: 'redact' },
    { path: '/customers/*/card', action: 'last4', replacement: 'XXXX-' },
    { path: '/email', action: 'hash' },
    { path: '/notes', action: 'remove' },
    { path: '/dob', action: 'null' },
    { path: '/name', action: 'redact', replacement: '***' },
  ])
  t.equal(m.empty, false)
  t.equal(m.usesHash, true)
  t.same(m.rules.map((r) => [r.index, r.action, r.replacement]), [
    [0, 'redact', undefined], [1, 'last4', 'XXXX-'], [2, 'hash', undefined], [3, 'remove', undefined], [4, 'null', undefined], [5, 'redact', '***'],
  ])
  t.ok(Object.isFrozen(m) && Object.isFrozen(m.rules), 'compiled masks are shared, so frozen')
  for (const none of [undefined, null, []]) t.equal(compileMaskRules(none).empty, true, `${JSON.stringify(none)} is empty`)
  t.equal(compileMaskRules([{ path: '/a', action: 'null' }]).usesHash, false)
})

t.test('compiled once per distinct rule set (canonical key ignores key order)', async (t) => {
  const a = compileMaskRules([{ path: '/a', action: 'redact', replacement: 'x' }])
  const b = compileMaskRules([{ replacement: 'x', action: 'redact', path: '/a' }])
  t.equal(a, b, 'same compiled object from the cache')
  t.equal(maskRuleCacheSize(), 1)
  const c = compileMaskRules([{ path: '/a', action: 'redact', replacement: 'y' }])
  t.not(a, c, 'a different replacement is a different rule set')
  t.equal(maskRuleCacheSize(), 2)
  t.equal(a.key, '[{"action":"redact","path":"/a","replacement":"x"}]')
})

t.test('a fresh list equal to a cached one (as each decision hands over) is the cached set; anything unusual is still validated', async (t) => {
  const fresh = () => JSON.parse('[{"path":"/a","action":"redact"},{"path":"/b","action":"last4","replacement":"#"}]') as unknown
  const a = compileMaskRules(fresh())
  t.equal(compileMaskRules(fresh()), a)
  t.equal(compileMaskRules([{ action: 'redact', path: '/a' }, { replacement: '#', path: '/b', action: 'last4' }]), a, 'key order does not matter')
  t.not(compileMaskRules([{ path: '/a', action: 'redact' }, { path: '/b', action: 'last4', replacement: '*' }]), a)
  t.not(compileMaskRules([{ path: '/a', action: 'redact' }, { path: '/b', action: 'last4' }]), a, 'no replacement is another set')
  // The same strings with an extra field, or a field of another type, are not the cached set.
  t.throws(() => compileMaskRules([{ path: '/a', action: 'redact', extra: 'x' }, { path: '/b', action: 'last4', replacement: '#' }]), MaskRuleError)
  t.throws(() => compileMaskRules([{ path: '/a', action: 'redact' }, { path: '/b', action: 'last4', replacement: 7 }]), MaskRuleError)
  t.throws(() => compileMaskRules([{ path: '/a', action: 'redact' }, { path: '/b', action: 'last4', replacement: '#', note: 'x' }]), MaskRuleError)
  t.equal(maskRuleCacheSize(), 3)
})

t.test('the cache is bounded', async (t) => {
  for (let i = 0; i < 600; i++) compileMaskRules([{ path: `/f${i}`, action: 'null' }])
  t.equal(maskRuleCacheSize(), 512)
})

t.test('invalid rules throw MaskRuleError naming the rule index and reason', async (t) => {
  const cases: [unknown, number | null, RegExp][] = [
    [{ rules: 1 }, null, /expected an array of rules, got object/],
    ['x', null, /expected an array/],
    [Array.from({ length: 257 }, () => ({ path: '/a', action: 'null' })), null, /257 rules; at most 256/],
    [[{ path: '/ok', action: 'null' }, 'nope'], 1, /expected an object, got "nope"/],
    [[{ path: '/ok', action: 'null' }, { path: '/a~3', action: 'null' }], 1, /"path" "\/a~3": segment 1 .* invalid escape/],
    [[{ path: 'no-slash', action: 'redact' }], 0, /must start with "\/"/],
    [[{ path: '', action: 'redact' }], 0, /path is empty/],
    [[{ path: 42, action: 'redact' }], 0, /"path" must be a string, got number/],
    [[{ action: 'redact' }], 0, /"path" must be a string, got undefined/],
    [[{ path: '/a', action: 'encrypt' }], 0, /"action" must be one of redact, remove, null, hash, last4, got "encrypt"/],
    [[{ path: '/a', action: 'REDACT' }], 0, /"action" must be one of/],
    [[{ path: '/a' }], 0, /"action" must be one of .* got undefined/],
    [[{ path: '/a', action: 'hash', replacement: 'x' }], 0, /only valid with redact or last4, not hash/],
    [[{ path: '/a', action: 'redact', replacement: 7 }], 0, /"replacement" must be a string, got number/],
    [[{ path: '/a', action: 'redact', replacement: 'x'.repeat(2000) }], 0, /longer than 1024/],
    [[{ path: '/a', action: 'redact', replacment: 'x' }], 0, /unknown field "replacment"/],
    [[{ path: '/a', action: 'null' }, [1]], 1, /expected an object, got an array/],
  ]
  for (const [rules, index, reason] of cases) {
    const err = t.throws(() => compileMaskRules(rules)) as unknown
    if (!(err instanceof MaskRuleError)) { t.fail(`not a MaskRuleError for ${JSON.stringify(rules).slice(0, 80)}`); continue }
    t.equal(err.ruleIndex, index, `index for ${reason}`)
    t.match(err.message, reason)
    t.ok(isBouncerError(err, index === null ? 'BOUNCER_ERR_MASK_RULES_INVALID' : 'BOUNCER_ERR_MASK_RULE_INVALID'))
    if (index !== null) t.same(err.rule, (rules as unknown[])[index], 'the offending rule is attached for logs')
  }
  t.equal(maskRuleCacheSize(), 0, 'failures are not cached')
})

t.test('rules that are not plain JSON are refused', async (t) => {
  const cyclic: Record<string, unknown> = { path: '/a', action: 'null' }
  cyclic.self = cyclic
  t.throws(() => compileMaskRules([cyclic]), MaskRuleError)
  t.throws(() => compileMaskRules([{ path: '/a', action: 'null', f: () => 1 }]), /not plain JSON/)
})
