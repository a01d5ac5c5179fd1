import t from 'tap'
import { lex, KEYWORDS } from '../../src/compiler/lexer/index.js'

const kinds = (src: string): string[] => lex(src, 'f.rego').tokens.map(k => `${k.kind}:${k.text}`)

t.test('identifiers, keywords, numbers, operators', async t => {
  t.same(kinds('p := x.y[0] if'), [
    'ident:p', 'op::=', 'ident:x', 'op:.', 'ident:y', 'op:[', 'number:0', 'op:]', 'ident:if', 'eof:',
  ])
  t.same(kinds('a==b!=c<=d>=e<f>g=h'), [
    'ident:a', 'op:==', 'ident:b', 'op:!=', 'ident:c', 'op:<=', 'ident:d', 'op:>=', 'ident:e',
    'op:<', 'ident:f', 'op:>', 'ident:g', 'op:=', 'ident:h', 'eof:',
  ])
  t.same(kinds('+-*/%&|(){},;:'), [
    'op:+', 'op:-', 'op:*', 'op:/', 'op:%', 'op:&', 'op:|', 'op:(', 'op:)', 'op:{', 'op:}',
    'op:,', 'op:;', 'op::', 'eof:',
  ])
  t.same(kinds('1 1.5 1e3 2E-7 0.25e+10 123456789012345678901234567890'), [
    'number:1', 'number:1.5', 'number:1e3', 'number:2E-7', 'number:0.25e+10',
    'number:123456789012345678901234567890', 'eof:',
  ])
  // `-` is never part of a number token: the parser decides unary vs binary
  t.same(kinds('x-1'), ['ident:x', 'op:-', 'number:1', 'eof:'])
  // a dot after a number not followed by a digit is a ref dot
  t.same(kinds('a[1].b'), ['ident:a', 'op:[', 'number:1', 'op:]', 'op:.', 'ident:b', 'eof:'])
  t.same(kinds('_ __local0__ x_1'), ['ident:_', 'ident:__local0__', 'ident:x_1', 'eof:'])
  for (const k of ['if', 'contains', 'in', 'every', 'some', 'not', 'with', 'as', 'default', 'else',
    'package', 'import', 'true', 'false', 'null']) t.ok(KEYWORDS.has(k), k)
  t.notOk(KEYWORDS.has('set'))
})

t.test('positions and whitespace flags', async t => {
  const { tokens } = lex('package a\n\n# comment\np  :=\t1 # trailing\n  q', 'f.rego')
  const pos = tokens.map(k => [k.text, k.line, k.col, k.wsBefore, k.nlBefore])
  t.same(pos, [
    ['package', 1, 1, false, false],
    ['a', 1, 9, true, false],
    ['p', 4, 1, true, true],
    [':=', 4, 4, true, false],
    ['1', 4, 7, true, false],
    ['q', 5, 3, true, true],
    ['', 5, 4, false, false],
  ])
  const adj = lex('f(x)[0] f (x)', 'f').tokens
  t.equal(adj[1].wsBefore, false)
  t.equal(adj[4].wsBefore, false)
  t.equal(adj[8].wsBefore, true)
  // CRLF line endings
  const crlf = lex('a\r\nb', 'f').tokens
  t.same([crlf[1].line, crlf[1].col, crlf[1].nlBefore], [2, 1, true])
})

t.test('strings', async t => {
  const v = (src: string): string | undefined => lex(src, 'f').tokens[0].value
  t.equal(v('"a\\"b\\\\c\\/d"'), 'a"b\\c/d')
  t.equal(v('"\\b\\f\\n\\r\\t"'), '\b\f\n\r\t')
  t.equal(v('"\\u00e9"'), 'é')
  t.equal(v('"\\ud83d\\ude00"'), '😀')
  // a lone surrogate is U+FFFD, as OPA reads it (at run time lone surrogates stand for invalid bytes)
  t.equal(v('"\\udc80"'), '\ufffd')
  t.equal(v('"a\\ud83dz"'), 'a\ufffdz')
  t.equal(v('"😀 direct"'), '😀 direct')
  t.equal(v('"# not a comment"'), '# not a comment')
  const raw = lex('`a\\n\n"b"` x', 'f')
  t.equal(raw.tokens[0].value, 'a\\n\n"b"')
  t.equal(raw.tokens[0].raw, true)
  t.same([raw.tokens[1].line, raw.tokens[1].col], [2, 6], 'lines counted inside raw strings')
  t.same(raw.diagnostics, [])
})

t.test('lexical errors are diagnostics with positions', async t => {
  const r = lex('x := "abc\ny := "\\q"\nz := `open', 'f.rego')
  t.same(r.diagnostics.map(d => [d.code, d.loc.line, d.loc.col, d.message]), [
    ['rego_parse_error', 1, 6, 'non-terminated string'],
    ['rego_parse_error', 2, 7, 'invalid string: unknown escape sequence \\q'],
    ['rego_parse_error', 3, 6, 'non-terminated raw string'],
  ])
  const bad = lex('a $ b', 'f.rego')
  t.equal(bad.diagnostics.length, 1)
  t.match(bad.diagnostics[0], { message: 'illegal $ character', loc: { file: 'f.rego', line: 1, col: 3 } })
  t.same(bad.tokens.map(k => k.text), ['a', 'b', ''])
  const num = lex('1abc', 'f')
  t.match(num.diagnostics[0], { message: 'invalid number: 1abc' })
  const esc = lex('"\\u12"', 'f')
  t.match(esc.diagnostics[0], { message: /bad \\u escape/ })
})
