// The builtin table (src/compiler/builtins.ts) is the one declaration of every builtin:
// every other view of it — the runtime's native registry, the compiler's facts, the
// manifest flag, the cache's uncacheable set, the SDK's set — is derived from it. These
// tests fail when a view drifts from the table or when a list of builtin names is written
// by hand again somewhere in the sources.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import {
  BUILTIN_TABLE, BUILTINS, NATIVE_BUILTINS, NONDETERMINISTIC_BUILTINS, RELATIONS, SDK_BUILTINS,
  builtinDecl, builtinInfo, type RegoType,
} from '../../src/compiler/builtins.js'
import * as cache from '../../src/cache/index.js'
import * as policyBuiltins from '../../src/policy/builtins/index.js'
// @ts-expect-error: plain ESM script without type declarations
import { generateNativeRegistry, loadBuiltinTable } from '../../scripts/build-runtime.mjs'
import { ensureRuntime } from './runtime/helpers.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const TABLE_FILE = path.join(ROOT, 'src/compiler/builtins.ts')
const names = (p: (d: typeof BUILTIN_TABLE[number]) => boolean) => BUILTIN_TABLE.filter(p).map(d => d.name).sort()

t.test('the compiler facts are the implemented table entries', async t => {
  t.same(Object.keys(BUILTINS).sort(), names(d => d.impl.kind === 'native' || d.impl.kind === 'host'))
  for (const d of BUILTIN_TABLE) {
    const info = builtinInfo(d.name)
    if (d.impl.kind === 'none') { t.equal(info, undefined, `${d.name} is declared only; the compiler rejects it`); continue }
    if (d.impl.kind === 'compiler') { t.equal(info, undefined, `${d.name} is rewritten by the compiler, never called`); continue }
    t.equal(info?.arity, d.args.length, `${d.name} arity`)
    t.equal(info?.impl, d.impl.kind, `${d.name} impl`)
    t.equal(info?.nondeterministic === true, d.nondeterministic, `${d.name} nondeterministic`)
  }
  t.same([...RELATIONS].sort(), names(d => d.comparison))
  t.same([...RELATIONS].sort(), ['equal', 'gt', 'gte', 'lt', 'lte', 'neq'])
})

t.test('every consumer uses the table\'s sets themselves, not copies', async t => {
  t.equal(cache.NONDETERMINISTIC_BUILTINS, NONDETERMINISTIC_BUILTINS, 'src/cache (ttl.ts)')
  t.equal(policyBuiltins.NONDETERMINISTIC_BUILTINS, NONDETERMINISTIC_BUILTINS, 'src/policy/builtins')
  t.equal(policyBuiltins.SDK_BUILTINS, SDK_BUILTINS, 'src/policy/builtins')
  t.same([...NONDETERMINISTIC_BUILTINS].sort(), names(d => d.nondeterministic))
  t.same([...SDK_BUILTINS].sort(), names(d => d.sdk))
  t.same(cache.nondeterministicBuiltins(BUILTIN_TABLE.map(d => d.name)), [...NONDETERMINISTIC_BUILTINS].sort())
})

t.test('non-deterministic: OPA\'s set plus what reads the clock, and nothing pure', async t => {
  // OPA marks these Nondeterministic (ast/builtins.go).
  for (const n of ['time.now_ns', 'http.send', 'rand.intn', 'uuid.rfc4122', 'opa.runtime', 'net.lookup_ip_addr',
    'io.jwt.decode_verify', 'io.jwt.encode_sign', 'io.jwt.encode_sign_raw']) {
    t.ok(NONDETERMINISTIC_BUILTINS.has(n), n)
  }
  // Chain verification compares validity windows with the current time.
  t.ok(NONDETERMINISTIC_BUILTINS.has('crypto.x509.parse_and_verify_certificates'))
  for (const n of NONDETERMINISTIC_BUILTINS) {
    t.not(builtinDecl(n)?.impl.kind, 'native', `${n} is not native: a module's imported builtins (its builtins() map) must reveal it`)
  }
  for (const n of ['io.jwt.decode', 'io.jwt.verify_hs256', 'time.parse_rfc3339_ns', 'time.date', 'count', 'sprintf']) {
    t.notOk(NONDETERMINISTIC_BUILTINS.has(n), `${n} is deterministic`)
  }
})

t.test('the SDK set is what @open-policy-agent/opa-wasm implements itself', async t => {
  const require = (await import('node:module')).createRequire(import.meta.url)
  // The package exports only its entry point; its builtins module sits next to it.
  const main = require.resolve('@open-policy-agent/opa-wasm')
  const sdk = require(path.join(path.dirname(main), 'builtins/index.js')) as Record<string, unknown>
  t.same(Object.keys(sdk).sort(), [...SDK_BUILTINS].sort())
})

t.test('declarations are well-formed; common signatures are OPA\'s', async t => {
  const check = (ty: RegoType, where: string): void => {
    switch (ty.type) {
      case 'any': if (ty.of) { t.ok(ty.of.length >= 2 || ty.of.length === 1, where); ty.of.forEach(x => check(x, where)) } return
      case 'null': case 'boolean': case 'number': case 'string': return
      case 'array':
        t.ok(ty.static !== undefined || ty.dynamic !== undefined, `${where}: array of something`)
        ty.static?.forEach(x => check(x, where)); if (ty.dynamic) check(ty.dynamic, where); return
      case 'set': check(ty.of, where); return
      case 'object':
        ty.static?.forEach(p => { t.type(p.key, 'string'); check(p.value, where) })
        if (ty.dynamic) { check(ty.dynamic.key, where); check(ty.dynamic.value, where) }
        return
      default: t.fail(`${where}: unknown type ${JSON.stringify(ty)}`)
    }
  }
  for (const d of BUILTIN_TABLE) {
    d.args.forEach((a, i) => check(a, `${d.name} arg ${i + 1}`))
    if (d.result !== null) check(d.result, `${d.name} result`)
    if (d.impl.kind === 'native') t.match(d.impl.module, /^[a-z_]+$/, `${d.name}: native module`)
  }
  const S = { type: 'string' }, N = { type: 'number' }, B = { type: 'boolean' }, A = { type: 'any' }
  t.same(builtinDecl('startswith')?.args, [S, S]); t.same(builtinDecl('startswith')?.result, B)
  t.same(builtinDecl('count')?.result, N)
  t.same(builtinDecl('count')?.args[0], { type: 'any', of: [{ type: 'set', of: A }, { type: 'array', dynamic: A }, { type: 'object', dynamic: { key: A, value: A } }, S] })
  t.same(builtinDecl('split')?.result, { type: 'array', dynamic: S })
  t.same(builtinDecl('io.jwt.decode_verify')?.args, [S, { type: 'object', dynamic: { key: S, value: A } }])
  t.same(builtinDecl('io.jwt.decode_verify')?.result, { type: 'array', static: [B, { type: 'object', dynamic: { key: A, value: A } }, { type: 'object', dynamic: { key: A, value: A } }] })
  t.same(builtinDecl('time.now_ns')?.args, [])
  t.same(builtinDecl('net.cidr_contains')?.result, B)
  t.same(builtinDecl('object.get')?.args.length, 3)
})

t.test('the runtime\'s native registry is generated from the table', async t => {
  ensureRuntime()
  const meta = JSON.parse(readFileSync(path.join(ROOT, 'build/runtime.json'), 'utf8')) as { nativeBuiltins: string[] }
  t.same(meta.nativeBuiltins, NATIVE_BUILTINS, 'build/runtime.json lists the table\'s native entries in table order')
  const table = await loadBuiltinTable()
  const gen = generateNativeRegistry(table) as { source: string; names: string[] }
  t.same(gen.names, NATIVE_BUILTINS)
  t.equal(readFileSync(path.join(ROOT, 'build/runtime-builtins.generated.ts'), 'utf8'), gen.source, 'the built runtime used this registry')
  for (const d of table.filter((x: { impl: { kind: string } }) => x.impl.kind === 'native')) {
    t.ok(gen.source.includes(`.${d.impl.fn}(args); // ${d.name}`), `${d.name} dispatches to ${d.impl.module}.${d.impl.fn}`)
  }
  // The hand-written part of the registry only re-exports the generated one.
  const idx = readFileSync(path.join(ROOT, 'src/compiler/runtime/assembly/builtins/index.ts'), 'utf8')
  t.match(idx, /from "\.\/generated"/)
  t.notMatch(idx, /StaticArray<string>|switch \(/, 'no name list or switch kept by hand')
})

// ---- no second hand-written list ----

function * sourceFiles (dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) { if (e.name !== 'node_modules') yield * sourceFiles(p) } else if (/\.(ts|mts|mjs|js|cjs)$/.test(e.name)) yield p
  }
}

// A string literal; group 1 (or 2) is its quote.
const STR1 = String.raw`(['"])(?:(?!\1)[^\\\n]|\\.)*\1`
const STR2 = String.raw`(['"])(?:(?!\2)[^\\\n]|\\.)*\2`
/** Three or more string literals in a row (array/Set/argument lists), comments allowed between. */
const LITERAL_RUN = new RegExp(String.raw`(?:${STR1}\s*,\s*(?:\/\/[^\n]*\n\s*)?){2,}${STR2}`, 'g')
/** Three or more `'name': <literal>` entries in a row (lookup maps such as name -> flag or id). */
const MAP_RUN = new RegExp(String.raw`(?:${STR1}\s*:\s*(?:true|false|-?\d+)\s*,\s*){2,}${STR2}\s*:\s*(?:true|false|-?\d+)`, 'g')
const LITERAL = /(['"])((?:(?!\1)[^\\\n]|\\.)*)\1/g

/** Runs of 3+ builtin names written as literals in `text`. */
function handWrittenLists (text: string, known: ReadonlySet<string>): string[][] {
  const out: string[][] = []
  for (const re of [LITERAL_RUN, MAP_RUN]) {
    for (const m of text.matchAll(re)) {
      const hits = [...m[0].matchAll(LITERAL)].map(x => x[2]).filter(s => known.has(s))
      if (hits.length >= 3) out.push(hits)
    }
  }
  return out
}

t.test('the detector finds the lists this table replaced', async t => {
  const known = new Set(BUILTIN_TABLE.map(d => d.name))
  t.equal(handWrittenLists(`const X = new Set([\n  'time.now_ns',\n  'http.send', // comment\n  'rand.intn',\n])`, known).length, 1)
  t.equal(handWrittenLists(`const NAMES: StaticArray<string> = [\n  "equal",\n  "neq",\n  "lt",\n];`, known).length, 1)
  t.equal(handWrittenLists(`new Set(['sprintf', 'regex.split', 'json.is_valid'])`, known).length, 1)
  t.equal(handWrittenLists(`const ND = { 'time.now_ns': true, 'http.send': true, 'rand.intn': true }`, known).length, 1)
  t.equal(handWrittenLists(`'time.now_ns': () => now(), 'http.send': send, 'rand.intn': intn,`, known).length, 0, 'implementation registries are fine')
  t.equal(handWrittenLists(`throw err('count', 'x'); f('sum'); g('max')`, known).length, 0, 'single names are fine')
})

t.test('no source file other than the table lists builtin names by hand', async t => {
  const known = new Set(BUILTIN_TABLE.map(d => d.name))
  const offenders: string[] = []
  for (const dir of ['src', 'scripts', 'bin', 'bench']) {
    let files: string[]
    try { files = [...sourceFiles(path.join(ROOT, dir))] } catch { continue }
    for (const f of files) {
      if (f === TABLE_FILE) continue
      for (const hits of handWrittenLists(readFileSync(f, 'utf8'), known)) {
        offenders.push(`${path.relative(ROOT, f)}: ${hits.slice(0, 5).join(', ')}${hits.length > 5 ? ', …' : ''} (${hits.length} names)`)
      }
    }
  }
  t.same(offenders, [], 'derive these from src/compiler/builtins.ts instead')
})
