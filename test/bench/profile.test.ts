// CPU profile summaries name each function by its TypeScript file and line, through the source
// maps tsc writes next to the generated JavaScript (dist/ for the bouncer). Positions only —
// never timings.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'
import ts from 'typescript'
import { createSourceMapper, findProfile, summariseProfile, where } from '../../bench/lib/profile.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

t.test('dist/ functions map to the line of their declaration in src/*.ts', async (t) => {
  // scripts/test.mjs compiles dist/ before the run
  const js = join(root, 'dist/policy/eval/index.js')
  const tsLines = readFileSync(join(root, 'src/policy/eval/index.ts'), 'utf8').split('\n')
  const jsLines = readFileSync(js, 'utf8').split('\n')
  const locate = createSourceMapper()
  let checked = 0
  let moved = 0
  for (let i = 0; i < jsLines.length; i++) {
    const m = /^(?:export )?(?:async )?function (\w+)/.exec(jsLines[i]!)
    if (!m) continue
    const at = locate({ functionName: m[1]!, url: pathToFileURL(js).href, lineNumber: i, columnNumber: jsLines[i]!.indexOf('function') })
    t.ok(at.mapped, `${m[1]} is mapped`)
    t.equal(at.url, pathToFileURL(join(root, 'src/policy/eval/index.ts')).href, `${m[1]}: the .ts file`)
    t.match(tsLines[at.lineNumber] ?? '', new RegExp(`function ${m[1]}\\b`), `${m[1]}: src/policy/eval/index.ts:${at.lineNumber + 1} declares it`)
    t.equal(where(at), `src/policy/eval/index.ts:${at.lineNumber + 1}`)
    checked++
    if (at.lineNumber !== i) moved++
  }
  t.ok(checked >= 3, `${checked} top-level functions checked`)
  t.ok(moved > 0, 'generated and original lines differ (types are erased), so the map is what gives the line')
})

t.test('code without a usable map keeps no invented line', async (t) => {
  const locate = createSourceMapper()
  // tsx-loaded TypeScript: V8 reports the transformed module (one line), the map is not on disk
  const tsx = locate({ functionName: 'x', url: pathToFileURL(join(root, 'bench/servers/bare-proxy.ts')).href, lineNumber: 0, columnNumber: 812 })
  t.equal(tsx.mapped, false)
  t.equal(where(tsx), 'bench/servers/bare-proxy.ts')
  const internal = locate({ functionName: 'emit', url: 'node:events', lineNumber: 488, columnNumber: 2 })
  t.equal(where(internal), 'node:events:489')
})

t.test('a profiled function is reported at its .ts line, not the generated one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'profile-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // Types before the function are erased, so the generated line differs from the original.
  const source = [
    'interface Shape {',
    '  a: number',
    '  b: number',
    '}',
    'type Pair = [number, number]',
    '',
    'function spinForSamples (until: number): number {',
    '  let x: Shape = { a: 1, b: 2 }',
    '  while (performance.now() < until) x = { a: x.b, b: (x.a + x.b) % 1000 }',
    '  return x.a',
    '}',
    'const p: Pair = [spinForSamples(performance.now() + 400), 0]',
    'console.log(p[0] >= 0 ? "done" : "?")',
    '',
  ].join('\n')
  const out = ts.transpileModule(source, { fileName: 'hot.ts', compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: true } })
  writeFileSync(join(dir, 'hot.ts'), source)
  writeFileSync(join(dir, 'hot.mjs'), out.outputText.replace('hot.js.map', 'hot.mjs.map'))
  writeFileSync(join(dir, 'hot.mjs.map'), out.sourceMapText!.replace('"hot.js"', '"hot.mjs"'))
  const code = await new Promise<number | null>((resolve) => {
    spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, join(dir, 'hot.mjs')], { stdio: 'ignore' }).on('close', resolve)
  })
  t.equal(code, 0)
  const file = findProfile(dir)
  t.ok(file, 'a .cpuprofile was written')
  const summary = summariseProfile(file!, 'hot', 1, null, undefined, 50)
  const spin = summary.top.find((x) => x.fn === 'spinForSamples')
  t.ok(spin, 'spinForSamples is among the top functions')
  const declared = source.split('\n').findIndex((l) => l.startsWith('function spinForSamples')) + 1
  const generated = out.outputText.split('\n').findIndex((l) => l.startsWith('function spinForSamples')) + 1
  t.not(declared, generated, 'the fixture moves the function')
  t.equal(spin?.where, `${join(dir, 'hot.ts')}:${declared}`, 'reported at hot.ts, the line that declares it')
})
