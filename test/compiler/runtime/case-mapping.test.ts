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
]

t.test('upper and lower map code points one to one, as Go', async t => {
  const src = 'package test\n\np := [\n' + cases.map(([e]) => `  ${e},`).join('\n') + '\n]\n'
  const r = await runRego(src)
  t.equal(r.error, undefined)
  const got = r.value as unknown[]
  cases.forEach(([e, want], i) => t.same(got[i], want, e))
})
