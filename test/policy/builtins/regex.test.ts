// Regex builtins: Go RE2 syntax and semantics (expected values from the OPA builtin docs and
// Go's regexp documentation), through compiled policies.
import t from 'tap'
import { E, table, V } from './helpers.js'
import { translateGoRegex } from '../../../src/policy/builtins/re2.js'

t.test('regex.match / re_match', async t => {
  await table(t, [
    // the corpus' regexmatch cases, in v1 syntax
    ['regex.match("^[a-z]+\\\\[[0-9]+\\\\]$", "foo[1]")', V(true)],
    ['re_match("^[a-z]+\\\\[[0-9]+\\\\]$", "foo[\\"bar\\"]")', V(false)],
    ['re_match(`^[a-z]+\\[[0-9]+\\]$`, "foo[1]")', V(true)],
    ['[x | some x, v in ["bar", "baz", "qux"]; re_match("^b.*$", v)]', V([0, 1])],
    ['re_match("][", "foo[\\"bar\\"]")', E(/^eval_builtin_error: re_match: error parsing regexp: missing closing \]: `\[`$/)],
    ['regex.match(input.p, "x")', E(/^eval_type_error: regex\.match: operand 1 must be string but got number$/)],
    // flags
    ['regex.match(`(?i)^hello$`, "HeLLo")', V(true)],
    ['regex.match(`a(?i)b`, "aB")', V(true)],
    ['regex.match(`a(?i)b`, "AB")', V(false)],
    ['regex.match(`^a(?i:b)c$`, "aBc")', V(true)],
    ['regex.match(`^a(?i:b)c$`, "aBC")', V(false)],
    ['regex.match(`^a.b$`, "a\\nb")', V(false)],
    ['regex.match(`(?s)^a.b$`, "a\\nb")', V(true)],
    ['regex.match(`(?m)^b$`, "a\\nb\\nc")', V(true)],
    ['regex.match(`^b$`, "a\\nb\\nc")', V(false)],
    ['regex.match(`(?U)^a+`, "aaa")', V(true)],
    ['regex.find_n(`(?U)a+`, "aaa", -1)', V(['a', 'a', 'a'])],
    ['regex.find_n(`(?m)^\\w`, "ab\\ncd\\ref", -1)', V(['a', 'c'])],
    ['regex.match(`^*a`, "a")', V(true)],
    // where JS and Go differ
    ['regex.match(`^a.b$`, "a\\rb")', V(true)],
    ['regex.match(`^\\s$`, "\\u00a0")', V(false)],
    ['regex.match(`^\\s$`, "\\u000b")', V(false)],
    ['regex.match(`^\\s$`, "\\t")', V(true)],
    ['regex.match(`^[^\\S]$`, " ")', V(true)],
    ['regex.match(`a$`, "a\\n")', V(false)],
    ['regex.match(`\\Aab\\z`, "ab")', V(true)],
    ['regex.match(`a\\z`, "a\\n")', V(false)],
    ['regex.match(`^a{,2}$`, "a{,2}")', V(true)],
    ['regex.match(`^}$`, "}")', V(true)],
    ['regex.match(`^\\Q*.x\\E$`, "*.x")', V(true)],
    ['regex.match(`^\\_\\-\\!$`, "_-!")', V(true)],
    ['regex.match(`^\\101$`, "A")', V(true)],
    ['regex.match(`^\\x41\\x{1F600}$`, "A😀")', V(true)],
    ['regex.match(`^.$`, "😀")', V(true)],
    ['regex.match(`^\\pL+$`, "héllo")', V(true)],
    ['regex.match(`^\\p{Greek}+$`, "αβγ")', V(true)],
    ['regex.match(`^\\P{Greek}+$`, "αβγ")', V(false)],
    ['regex.match(`^[[:alpha:]]+[[:digit:]]$`, "abc1")', V(true)],
    ['regex.match(`^[[:^alpha:]]$`, "a")', V(false)],
    ['regex.match(`^(?P<year>\\d{4})-(?<month>\\d{2})$`, "2024-05")', V(true)],
    // what Go rejects
    ['regex.match(`(?=a)`, "a")', E(/invalid or unsupported Perl syntax: `\(\?=`/)],
    ['regex.match(`(a)\\1`, "aa")', E(/invalid escape sequence: `\\1`/)],
    ['regex.match(`a**`, "a")', E(/invalid nested repetition operator: `\*\*`/)],
    ['regex.match(`*a`, "a")', E(/missing argument to repetition operator: `\*`/)],
    ['regex.match(`(a`, "a")', E(/missing closing \): `\(a`/)],
    ['regex.match(`a)`, "a")', E(/unexpected \): `a\)`/)],
    ['regex.match(`a{1001}`, "a")', E(/invalid repeat count: `\{1001\}`/)],
    ['regex.match(`[z-a]`, "a")', E(/invalid character class range: `z-a`/)],
    ['regex.match(`\\Z`, "a")', E(/invalid escape sequence: `\\Z`/)],
  ], { p: 1 })
})

t.test('regex.is_valid', async t => {
  await table(t, [
    ['regex.is_valid("[a-z]+")', V(true)],
    ['regex.is_valid("[")', V(false)],
    ['regex.is_valid(`(?=x)`)', V(false)],
    ['regex.is_valid(`(?P<n>x)`)', V(true)],
    ['regex.is_valid(1)', V(false)],
  ])
})

t.test('regex.find_n / regex.find_all_string_submatch_n (Go FindAll semantics)', async t => {
  await table(t, [
    ['regex.find_n(`a.`, "paranormal", -1)', V(['ar', 'an', 'al'])],
    ['regex.find_n(`a.`, "paranormal", 2)', V(['ar', 'an'])],
    ['regex.find_n(`a.`, "graal", -1)', V(['aa'])],
    ['regex.find_n(`a.`, "none", -1)', V([])],
    ['regex.find_n(`a.`, "paranormal", 0)', V([])],
    // empty matches abutting a preceding match are ignored
    ['regex.find_n(`a*`, "baaac", -1)', V(['', 'aaa', ''])],
    ['regex.find_n(`x*`, "😀", -1)', V(['', ''])],
    ['regex.find_all_string_submatch_n(`a(x*)b`, "-ab-", -1)', V([['ab', '']])],
    ['regex.find_all_string_submatch_n(`a(x*)b`, "-axxb-", -1)', V([['axxb', 'xx']])],
    ['regex.find_all_string_submatch_n(`a(x*)b`, "-ab-axb-", -1)', V([['ab', ''], ['axb', 'x']])],
    ['regex.find_all_string_submatch_n(`a(x*)b`, "-axxb-ab-", 1)', V([['axxb', 'xx']])],
    ['regex.find_all_string_submatch_n(`(a)(z)?`, "a", -1)', V([['a', 'a', '']])],
    ['regex.find_n(`[`, "a", -1)', E(/^eval_builtin_error: regex\.find_n: error parsing regexp: missing closing \]/)],
    ['regex.find_n(`a`, "a", 1.5)', E(/^eval_type_error: regex\.find_n: operand 3 must be integer/)],
  ])
})

t.test('regex.replace (Go ReplaceAllString and $ expansion)', async t => {
  await table(t, [
    ['regex.replace("-ab-axxb-", `a(x*)b`, "T")', V('-T-T-')],
    ['regex.replace("-ab-axxb-", `a(x*)b`, "$1")', V('--xx-')],
    ['regex.replace("-ab-axxb-", `a(x*)b`, "$1W")', V('---')],
    ['regex.replace("-ab-axxb-", `a(x*)b`, "${1}W")', V('-W-xxW-')],
    ['regex.replace("-ab-axxb-", `a(?P<x>x*)b`, "[${x}]")', V('-[]-[xx]-')],
    ['regex.replace("a.b.c", `\\.`, "$$")', V('a$b$c')],
    ['regex.replace("abc", `x*`, "-")', V('-a-b-c-')],
    ['regex.replace("baaac", `a*`, "-")', V('-b-c-')],
  ])
})

t.test('regex.template_match and regex.globs_match', async t => {
  await table(t, [
    ['regex.template_match("urn:foo:{.*}", "urn:foo:bar:baz", "{", "}")', V(true)],
    ['regex.template_match("urn:foo.bar.com:{.*}", "urn:foo.com:bar:baz", "{", "}")', V(false)],
    ['regex.template_match("urn:foo:<[a-z]+>:x", "urn:foo:bar:x", "<", ">")', V(true)],
    ['regex.template_match("urn:foo:{.*", "urn:foo:bar", "{", "}")', E(/unbalanced braces/)],
    ['regex.globs_match("a.a[0-9]+", "a.a1")', V(true)],
    ['regex.globs_match("a.*", "ab+")', V(true)],
    ['regex.globs_match("[a-c]x", "[d-f]x")', V(false)],
    ['regex.globs_match("a+", "b*")', V(false)],
    ['regex.globs_match(".*", "")', V(false)],
    ['regex.globs_match("a.a.", ".b.b")', V(true)],
    ['regex.globs_match("a.a", "abb")', V(false)],
  ])
})

t.test('translation details', async t => {
  t.equal(translateGoRegex('(?i)abc').flags, 'ui', 'a leading (?i) becomes the JS flag')
  t.equal(translateGoRegex('a.b').source, 'a[^\\n]b')
  t.equal(translateGoRegex('^a$').source, '^a$', 'text anchors stay native (V8 optimises anchored patterns)')
  t.same(translateGoRegex('(a)(?P<n>b)(?:c)').groupNames, [null, 'n'])
})
