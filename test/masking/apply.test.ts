import t from 'tap'
import { createHmac } from 'node:crypto'
import { applyMask, compileMaskRules, type MaskRule } from '../../src/masking/index.js'
import { isBouncerError } from '../../src/errors.js'

const hashKey = Buffer.from('0123456789abcdef0123456789abcdef')
const hmac = (s: string): string => 'hmac-sha256:' + createHmac('sha256', hashKey).update(s).digest('hex')
const mask = (doc: unknown, rules: MaskRule[]) => applyMask(doc, compileMaskRules(rules), { hashKey })

t.test('redact: default and custom replacement, any value type', async (t) => {
  const r = mask({ a: 'secret', b: 42, c: { deep: true }, d: [1], e: 's' }, [
    { path: '/a', action: 'redact' }, { path: '/b', action: 'redact' }, { path: '/c', action: 'redact' },
    { path: '/d', action: 'redact' }, { path: '/e', action: 'redact', replacement: '<hidden>' },
  ])
  t.strictSame(r.value, { a: '[REDACTED]', b: '[REDACTED]', c: '[REDACTED]', d: '[REDACTED]', e: '<hidden>' })
  t.strictSame(r.masked, ['/a', '/b', '/c', '/d', '/e'])
  t.strictSame(r.erased, [])
})

t.test('remove: object keys and array elements (indices refer to the original array)', async (t) => {
  const r = mask({ keep: 1, drop: 2, list: ['a', 'b', 'c', 'd'] }, [
    { path: '/drop', action: 'remove' },
    { path: '/list/0', action: 'remove' },
    { path: '/list/2', action: 'remove' }, // still "c": removals compact only at the end
    { path: '/list/0', action: 'redact' }, // already removed: no match
  ])
  t.strictSame(r.value, { keep: 1, list: ['b', 'd'] })
  t.strictSame(r.erased, ['/drop', '/list/0', '/list/2'])
  t.strictSame(r.masked, [])
  t.notOk(Object.prototype.hasOwnProperty.call(r.value, 'drop'), 'key is gone, not set to undefined')
})

t.test('null', async (t) => {
  const r = mask({ a: 'x', b: [1, 2] }, [{ path: '/a', action: 'null' }, { path: '/b/1', action: 'null' }])
  t.strictSame(r.value, { a: null, b: [1, null] })
  t.strictSame(r.masked, ['/a', '/b/1'])
})

t.test('hash: HMAC-SHA-256 with a documented prefix, stable, keyed', async (t) => {
  const doc = { email: 'ann@example.com', id: 42, sid: '42', obj: { b: 1, a: 2 }, n: null }
  const rules: MaskRule[] = ['/email', '/id', '/sid', '/obj', '/n'].map((path) => ({ path, action: 'hash' }))
  const r = mask(doc, rules)
  const v = r.value as Record<string, string>
  t.equal(v.email, hmac('ann@example.com'), 'strings hash as raw UTF-8, reproducible with any HMAC tool')
  t.match(v.email, /^hmac-sha256:[0-9a-f]{64}$/)
  t.equal(v.id, hmac('42'), 'numbers hash as their JSON text')
  t.equal(v.id, v.sid, 'so 42 and "42" join')
  t.equal(v.obj, hmac('{"a":2,"b":1}'), 'objects hash as canonical JSON (sorted keys)')
  t.equal(v.n, hmac('null'))
  t.strictSame(mask(doc, rules).value, r.value, 'stable across applications (requests)')
  const other = applyMask(doc, compileMaskRules(rules), { hashKey: Buffer.alloc(32, 7) }).value as Record<string, string>
  t.not(other.email, v.email, 'a different key gives different hashes')
  t.strictSame(mask({ u: 'żółw 🐢' }, [{ path: '/u', action: 'hash' }]).value, { u: hmac('żółw 🐢') }, 'non-ASCII hashes as UTF-8')
})

t.test('hash needs a key of at least 16 bytes; other actions need none', async (t) => {
  const m = compileMaskRules([{ path: '/a', action: 'hash' }])
  const err = t.throws(() => applyMask({ a: 1 }, m), /no hash key is configured/)
  t.ok(isBouncerError(err, 'BOUNCER_ERR_MASK_HASH_KEY'))
  t.throws(() => applyMask({ a: 1 }, m, { hashKey: Buffer.alloc(8) }), /8 bytes; at least 16/)
  t.strictSame(applyMask({ a: 1 }, compileMaskRules([{ path: '/a', action: 'null' }])).value, { a: null })
})

t.test('last4: strings, short strings, numbers, other types, code points', async (t) => {
  const doc = {
    card: '4111-1111-1111-1234', short: 'abcd', five: 'abcde', num: 4111111111111111, neg: -12345,
    float: 1234.5678, bool: true, obj: { x: 1 }, nil: null, emoji: 'id-🐢🐢🐢🐢', custom: '123456789',
  }
  const rules: MaskRule[] = Object.keys(doc).map((k) => ({ path: '/' + k, action: 'last4' as const }))
  rules[rules.length - 1] = { path: '/custom', action: 'last4', replacement: 'XXX-XX-' }
  t.strictSame(mask(doc, rules).value, {
    card: '****1234',
    short: '****', // keeping the last four of a four-character value would reveal it all
    five: '****bcde',
    num: '****1111', // numbers become strings of their JSON text
    neg: '****2345',
    float: '****5678',
    bool: '****', obj: '****', nil: '****',
    emoji: '****🐢🐢🐢🐢', // four code points, surrogate pairs kept whole
    custom: 'XXX-XX-6789',
  })
})

t.test('wildcards over arrays and objects, nested arrays', async (t) => {
  const doc = {
    customers: [{ name: 'A', ssn: '111-11-1111' }, { name: 'B', ssn: '222-22-2222' }, { name: 'C' }, 'not-an-object'],
    byRegion: { eu: { ssn: '333' }, us: { ssn: '444' }, empty: {} },
    matrix: [[{ v: 1, k: 'a' }, { v: 2 }], [], [{ v: 3 }]],
  }
  const r = mask(doc, [
    { path: '/customers/*/ssn', action: 'redact' },
    { path: '/byRegion/*/ssn', action: 'null' },
    { path: '/matrix/*/*/v', action: 'remove' },
  ])
  t.strictSame(r.value, {
    customers: [{ name: 'A', ssn: '[REDACTED]' }, { name: 'B', ssn: '[REDACTED]' }, { name: 'C' }, 'not-an-object'],
    byRegion: { eu: { ssn: null }, us: { ssn: null }, empty: {} },
    matrix: [[{ k: 'a' }, {}], [], [{}]],
  })
  t.strictSame(r.masked, ['/customers/0/ssn', '/customers/1/ssn', '/byRegion/eu/ssn', '/byRegion/us/ssn'])
  t.strictSame(r.erased, ['/matrix/0/0/v', '/matrix/0/1/v', '/matrix/2/0/v'])
})

t.test('wildcard as the last token and whole-array removal', async (t) => {
  const r = mask({ tags: ['a', 'b', 'c'], o: { x: 1, y: 2 } }, [
    { path: '/tags/*', action: 'remove' },
    { path: '/o/*', action: 'hash' },
  ])
  t.strictSame(r.value, { tags: [], o: { x: hmac('1'), y: hmac('2') } })
  t.strictSame(r.erased, ['/tags/0', '/tags/1', '/tags/2'])
})

t.test('non-matching paths are not errors; scalars and type mismatches do not match', async (t) => {
  const doc = { a: 'str', arr: [1, 2], obj: { '0': 'zero' } }
  const r = mask(doc, [
    { path: '/missing', action: 'redact' },
    { path: '/a/b', action: 'redact' }, // into a string
    { path: '/arr/5', action: 'redact' }, // out of range
    { path: '/arr/-', action: 'redact' }, // "-" is never an element
    { path: '/arr/01', action: 'redact' }, // non-canonical index
    { path: '/arr/length', action: 'redact' }, // arrays have no keys
    { path: '/obj/0', action: 'redact' }, // on an object "0" is a key
    { path: '/obj/toString', action: 'redact' }, // inherited properties are not keys
  ])
  t.strictSame(r.value, { a: 'str', arr: [1, 2], obj: { '0': '[REDACTED]' } })
  t.strictSame(r.masked, ['/obj/0'])
})

t.test('escaped keys, literal "*" key, empty key; reported paths use the same escapes', async (t) => {
  const doc = { 'a/b': 1, 'c~d': 2, '*': 3, star: { '*': 4, x: 5 }, '': 6 }
  const r = mask(doc, [
    { path: '/a~1b', action: 'null' },
    { path: '/c~0d', action: 'null' },
    { path: '/~2', action: 'null' },
    { path: '/star/~2', action: 'redact' },
    { path: '/', action: 'null' },
  ])
  t.strictSame(r.value, { 'a/b': null, 'c~d': null, '*': null, star: { '*': '[REDACTED]', x: 5 }, '': null })
  t.strictSame(r.masked, ['/a~1b', '/c~0d', '/~2', '/star/~2', '/'])
  const w = mask({ k: { 'x/y': 1 } }, [{ path: '/k/*', action: 'null' }])
  t.strictSame(w.masked, ['/k/x~1y'])
})

t.test('outer rule wins; masked and erased stay consistent', async (t) => {
  const r1 = mask({ a: { b: 1 } }, [{ path: '/a', action: 'redact' }, { path: '/a/b', action: 'hash' }])
  t.strictSame(r1.value, { a: '[REDACTED]' })
  t.strictSame(r1.masked, ['/a'])
  const r2 = mask({ a: 1 }, [{ path: '/a', action: 'hash' }, { path: '/a', action: 'remove' }])
  t.strictSame(r2.value, {})
  t.strictSame(r2.masked, [], 'a removed location is listed only as erased')
  t.strictSame(r2.erased, ['/a'])
  const r3 = mask({ a: 1 }, [{ path: '/a', action: 'redact' }, { path: '/*', action: 'redact' }])
  t.strictSame(r3.masked, ['/a'], 'paths are listed once')
})

t.test('the input document is never modified; unchanged parts are shared', async (t) => {
  const doc = { input: { user: { password: 'p', name: 'n' }, list: [{ s: 1 }, { s: 2 }] }, result: { allow: true }, other: { big: [1, 2, 3] } }
  const before = JSON.stringify(doc)
  const r = mask(doc, [{ path: '/input/user/password', action: 'remove' }, { path: '/input/list/*/s', action: 'redact' }, { path: '/input/list/1', action: 'remove' }])
  t.equal(JSON.stringify(doc), before)
  const v = r.value as typeof doc
  t.not(v, doc)
  t.not(v.input.user, doc.input.user)
  t.equal(v.other, doc.other, 'untouched subtree is the same object')
  t.equal(v.result, doc.result)
  t.strictSame(v.input.list, [{ s: '[REDACTED]' }])
  t.equal(doc.input.list.length, 2)
})

t.test('inPlace modifies the given document (for documents the caller owns)', async (t) => {
  const doc = { a: { b: 1 }, l: [1, 2, 3] }
  const r = applyMask(doc, compileMaskRules([{ path: '/a/b', action: 'null' }, { path: '/l/1', action: 'remove' }]), { inPlace: true })
  t.equal(r.value, doc)
  t.strictSame(doc, { a: { b: null }, l: [1, 3] })
})

t.test('a JSON "__proto__" key is masked as data, never as the prototype', async (t) => {
  const doc = JSON.parse('{"__proto__": {"ssn": "1"}, "x": {"__proto__": "s"}}') as Record<string, unknown>
  const r = mask(doc, [{ path: '/__proto__/ssn', action: 'redact' }, { path: '/x/__proto__', action: 'hash' }])
  t.equal(JSON.stringify(r.value), `{"__proto__":{"ssn":"[REDACTED]"},"x":{"__proto__":"${hmac('s')}"}}`)
  t.equal(Object.getPrototypeOf(r.value), Object.prototype)
  t.equal(Object.getPrototypeOf((r.value as Record<string, unknown>).x), Object.prototype)
  t.equal(({} as Record<string, unknown>).ssn, undefined, 'Object.prototype untouched')
})

t.test('decision-log erasure: /input and /result pointers, like OPA system.log.mask', async (t) => {
  const event = {
    input: { attributes: { request: { http: { headers: { authorization: 'Bearer abc', 'x-tenant': 'acme' } } } }, parsed_body: { password: 'hunter2', cards: [{ pan: '4111111111111111' }] } },
    result: { allow: true, identity: { email: 'ann@example.com' } },
  }
  const rules = compileMaskRules([
    { path: '/input/attributes/request/http/headers/authorization', action: 'remove' },
    { path: '/input/parsed_body/password', action: 'remove' },
    { path: '/input/parsed_body/cards/*/pan', action: 'last4' },
    { path: '/result/identity/email', action: 'hash' },
    { path: '/input/not/there', action: 'remove' },
  ])
  const r = applyMask(event, rules, { hashKey })
  t.strictSame(r.erased, ['/input/attributes/request/http/headers/authorization', '/input/parsed_body/password'])
  t.strictSame(r.masked, ['/input/parsed_body/cards/0/pan', '/result/identity/email'])
  t.strictSame(r.value, {
    input: { attributes: { request: { http: { headers: { 'x-tenant': 'acme' } } } }, parsed_body: { cards: [{ pan: '****1111' }] } },
    result: { allow: true, identity: { email: hmac('ann@example.com') } },
  })
  t.equal(event.input.parsed_body.password, 'hunter2', 'the live event object is untouched')
})

t.test('empty mask returns the document as is', async (t) => {
  const doc = { a: 1 }
  const r = applyMask(doc, compileMaskRules([]))
  t.equal(r.value, doc)
  t.strictSame([r.masked, r.erased], [[], []])
})

t.test('a later rule sees a container without the elements an earlier rule removed', async (t) => {
  const doc = { c: [1, 2, 3], d: { x: [4, 5, 6], y: 'k' } }
  const r = mask(doc, [{ path: '/*/1', action: 'remove' }, { path: '/d/x/0', action: 'remove' }, { path: '/c', action: 'hash' }, { path: '/d', action: 'hash' }])
  const v = r.value as Record<string, string>
  t.equal(v.c, hmac('[1,3]'), 'the hash of what is left of /c')
  t.equal(v.d, hmac('{"x":[5,6],"y":"k"}'), 'nested: /d/x lost its first element')
  t.same(doc, { c: [1, 2, 3], d: { x: [4, 5, 6], y: 'k' } }, 'the input is untouched')
})
