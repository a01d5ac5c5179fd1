import t from 'tap'
import { parseMaskPointer, escapeToken, MAX_POINTER_TOKENS } from '../../src/masking/index.js'

const keys = (p: string): unknown => {
  const r = parseMaskPointer(p)
  return typeof r === 'string' ? r : r.map((x) => (x.wildcard ? '<*>' : x.key))
}

t.test('RFC 6901 escapes decode ~1 before ~0', async (t) => {
  t.same(keys('/a~1b/c~0d'), ['a/b', 'c~d'])
  t.same(keys('/~01'), ['~1'], '~01 is a literal "~1", not "/"')
  t.same(keys('/~02'), ['~2'], '~02 is a literal "~2", not "*"')
  t.same(keys('/'), [''], 'a lone "/" is the empty key')
  t.same(keys('/a//b'), ['a', '', 'b'])
})

t.test('wildcard and literal star', async (t) => {
  t.same(keys('/customers/*/ssn'), ['customers', '<*>', 'ssn'])
  t.same(keys('/weird/~2'), ['weird', '*'], '~2 is a literal "*" key')
  t.same(keys('/a*b/**'), ['a*b', '**'], 'only a whole "*" token is a wildcard')
})

t.test('array indices are recognised only in canonical form', async (t) => {
  const idx = (p: string): number => {
    const r = parseMaskPointer(p)
    if (typeof r === 'string' || r[0]!.wildcard) throw new Error('unexpected')
    return r[0]!.index
  }
  t.equal(idx('/0'), 0)
  t.equal(idx('/17'), 17)
  t.equal(idx('/01'), -1)
  t.equal(idx('/-'), -1)
  t.equal(idx('/+1'), -1)
  t.equal(idx('/1e3'), -1)
  t.equal(idx('/9999999999999999999'), -1, 'beyond safe integers is just a key')
  t.equal(idx('/2147483647'), 2147483647)
  t.equal(idx('/2147483648'), -1, 'past what an i32 holds (no array is that long) is just a key')
  t.equal(idx('/4294967296'), -1)
})

t.test('invalid pointers give a reason', async (t) => {
  t.match(parseMaskPointer(''), /empty/)
  t.match(parseMaskPointer('a/b'), /must start with "\/"/)
  t.match(parseMaskPointer('/a~3'), /invalid escape/)
  t.match(parseMaskPointer('/a~'), /invalid escape/)
  t.match(parseMaskPointer('/x'.repeat(MAX_POINTER_TOKENS + 1)), /more than 128 segments/)
  t.match(parseMaskPointer('/' + 'x'.repeat(3000)), /longer than/)
})

t.test('escapeToken round-trips through parse', async (t) => {
  for (const k of ['plain', 'a/b', 'c~d', '~1', '*', 'a*', '']) {
    t.same(keys('/' + escapeToken(k)), [k], `key ${JSON.stringify(k)}`)
  }
})
