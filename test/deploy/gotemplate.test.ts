// The Go-template renderer the chart tests rely on (fixtures/gotemplate.ts) against the
// text/template + Sprig behaviours the chart depends on; known Helm outputs as expected values.
import t from 'tap'
import { Engine, type ChartContext } from './fixtures/gotemplate.js'

function render (src: string, values: Record<string, unknown> = {}, defines = ''): string {
  const e = new Engine()
  if (defines) e.addFile('c/templates/_helpers.tpl', defines)
  e.addFile('c/templates/x.yaml', src)
  const ctx: ChartContext = {
    Values: values,
    Release: { Name: 'rel', Namespace: 'ns', Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: { Name: 'c', Version: '1.0.0', AppVersion: '2.0.0' },
    Template: { Name: 'c/templates/x.yaml', BasePath: 'c/templates' },
  }
  return e.render('c/templates/x.yaml', ctx)
}

t.test('whitespace trimming', async (t) => {
  t.equal(render('a  {{- "b" -}}  c'), 'abc')
  t.equal(render('a\n  {{- if true }}\n  b\n  {{- end }}\nc'), 'a\n  b\nc')
  t.equal(render('{{- /* comment */ -}}\nx'), 'x')
  t.equal(render('{{ 3 }}-{{-3}}'), '3--3', '"{{-3" is a number, not a trim marker')
})

t.test('variables: := is block-scoped, = assigns the outer variable', async (t) => {
  t.equal(render('{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}'), '2')
  t.equal(render('{{ $y := 1 }}{{ if true }}{{ $y := 2 }}{{ end }}{{ $y }}'), '1')
  t.throws(() => render('{{ if true }}{{ $z := 1 }}{{ end }}{{ $z }}'), /undefined variable/)
  t.equal(render('{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}', { m: { b: 2, a: 1, c: 3 } }), 'a=1;b=2;c=3;', 'maps range in key order')
  t.equal(render('{{ range .Values.l }}[{{ . }}]{{ else }}none{{ end }}', { l: [] }), 'none')
  t.equal(render('{{ with .Values.a }}{{ .b }}{{ else }}no{{ end }}', { a: { b: 'x' } }), 'x')
})

t.test('values: float64 printing like Helm, nil fields fail', async (t) => {
  t.equal(render('{{ .Values.p }}', { p: 8080 }), '8080')
  t.equal(render('{{ .Values.p }}', { p: 1000000 }), '1e+06', 'the Helm %v gotcha for large numbers')
  t.equal(render('{{ .Values.p }}', { p: 0.25 }), '0.25')
  t.equal(render('{{ int .Values.p }}', { p: 1000000 }), '1000000')
  t.equal(render('[{{ .Values.missing }}]'), '[]', 'a missing value prints nothing')
  t.throws(() => render('{{ .Values.a.b }}'), /nil pointer evaluating interface \{\}\.b/)
  t.throws(() => render('{{ nosuchfunc 1 }}'), /not implemented/)
})

t.test('sprig functions as the chart uses them', async (t) => {
  t.equal(render('{{ default "d" .Values.x }}|{{ default "d" .Values.f }}|{{ default "d" .Values.z }}', { f: false, z: 0 }), 'd|d|d')
  t.equal(render('{{ .Values.s | quote }} {{ 8080 | toString | quote }}', { s: 'a"b' }), '"a\\"b" "8080"')
  t.equal(render('{{ toYaml .Values.m }}', { m: { b: [1, 'x'], a: { c: true } } }), 'a:\n  c: true\nb:\n  - 1\n  - x')
  t.equal(render('x:{{ toYaml .Values.m | nindent 2 }}', { m: { a: 1, b: 2 } }), 'x:\n  a: 1\n  b: 2')
  t.equal(render('{{ "a\\nb" | indent 2 }}'), '  a\n  b')
  t.equal(render('{{ printf "%s-%d-%v" "a" 3 true }}'), 'a-3-true')
  t.equal(render('{{ "abcdef" | trunc 3 }}{{ "x-" | trimSuffix "-" }}'), 'abcx')
  t.equal(render('{{ include "n" (dict "a" 1) }}', {}, '{{- define "n" -}}a={{ .a }}{{- end }}'), 'a=1')
  t.equal(render('{{ $d := dict "a" (dict "b" 1 "c" 2) }}{{ $_ := mustMergeOverwrite $d (dict "a" (dict "b" 9 "c" "") "e" false) }}{{ toJson $d }}'),
    '{"a":{"b":9,"c":2},"e":false}', 'mergeOverwrite: deep, empty source values do not overwrite, new keys are added')
  t.equal(render('{{ $a := dict "x" (dict "y" 1) }}{{ $b := deepCopy $a }}{{ $_ := set $b.x "y" 2 }}{{ $a.x.y }}{{ $b.x.y }}'), '12')
  t.throws(() => render('{{ required "need x" .Values.x }}'), /need x/)
  t.equal(render('{{ required "need x" .Values.x }}', { x: false }), 'false', 'required accepts false')
  t.throws(() => render('{{ fail "stop" }}'), /stop/)
  t.equal(render('{{ if and (hasKey .Values "a") (eq .Values.a "x") }}y{{ end }}', { a: 'x' }), 'y')
  t.equal(render('{{ if or .Values.a .Values.b }}y{{ else if .Values.c }}c{{ else }}n{{ end }}', { c: 1 }), 'c')
  t.equal(render('{{ include (print $.Template.BasePath "/_helpers.tpl") . | sha256sum }}', {}, 'h'), 'aaa9402664f1a41f40ebbc52c9993eb66aeb366602958fdfaa283b71e64db123', 'files are named templates (the checksum pattern)')
})
