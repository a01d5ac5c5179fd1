// upper/lower as OPA computes them: Go's strings.ToUpper/ToLower, a code point at a time by
// Unicode's simple case mapping. The runtime's own toUpperCase/toLowerCase apply the full
// mapping (upper("ß") "SS", lower("İ") two code points, a final Σ "ς"), so a policy normalising
// a name with lower() decided differently from OPA: lower("ADMİN") == "admin" holds in OPA.
import t from 'tap'
import { runRego } from '../run-rego.js'

const cases: Array<[string, unknown]> = [
  ['upper("ß")', 'ß'],
  ['upper("straße")', 'STRAßE'],
  ['lower("ΣΑΣ")', 'σασ'], // no final sigma
  ['lower("İ")', 'i'], // one code point, U+0069
  ['lower("ADMİN") == "admin"', true],
  ['upper("ﬁ")', 'ﬁ'], // ligatures have no simple uppercase
  ['upper("ᾳ")', 'ᾼ'], // ypogegrammeni: the simple mapping, U+1FBC
  ['upper("ᾀ")', 'ᾈ'],
  ['upper("ǅ")', 'Ǆ'],
  ['lower("ǅ")', 'ǆ'],
  ['upper("àéî😀x")', 'ÀÉÎ😀X'],
  ['lower("ÀÉÎ")', 'àéî'],
  ['upper("abc-XYZ")', 'ABC-XYZ'],
  ['lower("abc-XYZ")', 'abc-xyz'],
  // Unicode 14's pairs, in Go's tables (Unicode 15.0) but not in the AssemblyScript runtime's.
  ['lower("\u2c2f\ua7c0\ua7d0\ua7d6\ua7d8")', '\u2c5f\ua7c1\ua7d1\ua7d7\ua7d9'],
  ['upper("\u2c5f\ua7c1\ua7d1\ua7d7\ua7d9")', '\u2c2f\ua7c0\ua7d0\ua7d6\ua7d8'],
  ['lower("\u{10570}\u{1057a}\u{1057c}\u{1058c}\u{10595}")', '\u{10597}\u{105a1}\u{105a3}\u{105b3}\u{105bc}'],
  ['upper("\u{10597}\u{105bc}")', '\u{10570}\u{10595}'],
  // Unassigned between them, and pairs added after Unicode 15.0 (Garay, U+A7CB, U+1C89): Go maps none.
  ['lower("\u{1057b}\u{10d50}\ua7cb\u1c89")', '\u{1057b}\u{10d50}\ua7cb\u1c89'],
  ['upper("\u{105a2}\u{10d70}\u0264\u1c8a")', '\u{105a2}\u{10d70}\u0264\u1c8a'],
]

t.test('upper and lower map code points one to one, as Go', async t => {
  const src = 'package test\n\np := [\n' + cases.map(([e]) => `  ${e},`).join('\n') + '\n]\n'
  const r = await runRego(src)
  t.equal(r.error, undefined)
  const got = r.value as unknown[]
  cases.forEach(([e, want], i) => t.same(got[i], want, e))
})
