// The compiler's public surface: a function from Rego sources to { wasm, facts, diagnostics }
// (compile; compileModules is the same, throwing CompileError), plus reading sources from disk.
// It loads and runs nothing and imports nothing from src/policy (test/compiler/layering.test.ts):
// the policy loader (src/policy/eval) runs what it produces; ./bundle writes it as an OPA bundle.
// Stages (each named and timed so `bouncer build --timings` can show where time goes):
//   parse -> [rewrite, when asked] -> check (types, ./checker) -> plan (resolve, safety, lower) -> serialize -> link (embed plan in the runtime)
import { readFile, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import type { Module } from './ast/index.js'
import { anyNondeterministic } from './builtins.js'
import { checkTypes, combineDiagnostics, sortDiagnostics } from './checker/index.js'
import { regoV1Checks } from './checker/strict.js'
import { localVarChecks } from './checker/locals.js'
import type { CoveragePoint } from './coverage.js'
import { CompileError, Diagnostics, type Diagnostic } from './diagnostics.js'
import { parseModule, parseQuery } from './parser/index.js'
import { planPolicy, type PlanOutput } from './planner/index.js'
import { serializePlan } from './planner/serialize.js'
import { linkPolicy } from './wasm/link.js'
import { isRawJson, parseJsonExact } from '../exact-json.js'
import { parseOpaDocument } from '../opa-yaml.js'

export { CompileError, formatDiagnostic } from './diagnostics.js'
export { capabilities, type Capabilities } from './capabilities.js'
export type { Diagnostic } from './diagnostics.js'

/** Rego language version of a module: 1 (OPA 1.x, the default) or 0 (the v0 syntax that OPA
 *  1.x accepts with --v0-compatible or a bundle manifest's rego_version / file_rego_versions). */
export type RegoVersion = 0 | 1

export interface SourceFile {
  file: string
  source: string
  /** this module's Rego version; absent = the compile's default (CompileOptions.regoVersion) */
  regoVersion?: RegoVersion
}

export interface CompileOptions {
  modules: SourceFile[]
  entrypoints: string[]
  /** compiled too when the modules define them, left out when not (see PlanInput) */
  optionalEntrypoints?: string[]
  /** an ad-hoc query compiled as the extra entrypoint `$query` (used by eval/test/conformance) */
  query?: string
  strictBuiltinErrors?: boolean
  /** Rego version of modules that do not declare their own (SourceFile.regoVersion); default 1.
   *  `--v0-compatible` sets 0. A v0 module that imports rego.v1 is parsed as v1. */
  regoVersion?: RegoVersion
  /** compile print() calls (default true, as `opa eval` / `opa test`); false removes them, as
   *  OPA's compiler does unless print statements are enabled: the plan then has no print at all */
  printStatements?: boolean
  /** an AST stage between parse and plan, given every parsed module (bouncer test gives
   *  duplicate test rules their own names with it, as `opa test` does) */
  rewriteModules?: (modules: Module[]) => void
  /** instrument the module for test coverage (see ./coverage.ts; load it with onCoverage) */
  coverage?: boolean
  /** run the type checker (./checker; default true) */
  typeCheck?: boolean
  /** the data the policy runs with: a rule at a path it defines is refused (OPA's path conflict
   *  check); absent, not checked */
  data?: unknown
}

export interface CompiledPolicy {
  wasm: Uint8Array
  entrypoints: string[]
  /** builtin names the module calls through the host (opa_builtinN) */
  hostBuiltins: string[]
  /** per entrypoint: input paths the policy can read (null = the whole input) */
  inputPaths: Record<string, string[][] | null>
  /** per entrypoint: every builtin reachable from it */
  builtinsUsed: Record<string, string[]>
  /** variables bound by the query, in result-row order */
  queryVars: string[]
  /** coverage builds: what each coverage point number stands for */
  coveragePoints?: CoveragePoint[]
  timings: Record<string, number>
}

function timed<T> (timings: Record<string, number>, name: string, fn: () => T): T {
  const t0 = performance.now()
  try { return fn() } finally { timings[name] = (timings[name] ?? 0) + performance.now() - t0 }
}

export interface ParseSourcesOptions {
  /** default Rego version of modules without their own (see CompileOptions.regoVersion) */
  regoVersion?: RegoVersion
}

export function parseSources (modules: SourceFile[], opts: ParseSourcesOptions = {}): { modules: Module[]; diagnostics: Diagnostic[] } {
  const out: Module[] = []
  const diagnostics: Diagnostic[] = []
  for (const m of modules) {
    const r = parseModule(m.source, m.file, { regoVersion: m.regoVersion ?? opts.regoVersion ?? 1 })
    diagnostics.push(...r.diagnostics)
    if (r.module !== null) out.push(r.module)
  }
  return { modules: out, diagnostics }
}

/** What the compiler knows about one entrypoint of the module it produced. */
export interface EntrypointFacts {
  /** input paths the entrypoint can read (null = the whole input) */
  inputPaths: string[][] | null
  /** every builtin reachable from it */
  builtins: string[]
  /** a reachable builtin is not a function of its arguments (time, randomness, network, ...) */
  nondeterministic: boolean
}

/** What the compiler knows about the module it produced. */
export interface CompileFacts {
  entrypoints: string[]
  /** per entrypoint (every name in `entrypoints`) */
  entrypointFacts: Record<string, EntrypointFacts>
  /** builtin names the module calls through the host (opa_builtinN) */
  hostBuiltins: string[]
  /** variables bound by the query, in result-row order */
  queryVars: string[]
  /** coverage builds: what each coverage point number stands for */
  coveragePoints?: CoveragePoint[]
  timings: Record<string, number>
}

/** Rego sources in, a Wasm module and its facts out — or, when the sources have mistakes, no
 *  module and every diagnostic found. User mistakes are never thrown; a broken installation
 *  (e.g. no prebuilt runtime) still is. */
export type CompileResult =
  | { wasm: Uint8Array; facts: CompileFacts; diagnostics: [] }
  | { wasm: null; facts: null; diagnostics: Diagnostic[] }

export function compile (opts: CompileOptions): CompileResult {
  const compiled = build(opts)
  if (Array.isArray(compiled)) return { wasm: null, facts: null, diagnostics: compiled }
  return { wasm: compiled.wasm, facts: factsOf(compiled), diagnostics: [] }
}

/** The facts of a compileModules result. */
export function factsOf (compiled: CompiledPolicy): CompileFacts {
  const entrypointFacts: Record<string, EntrypointFacts> = {}
  for (const ep of compiled.entrypoints) {
    const builtins = compiled.builtinsUsed[ep] ?? []
    entrypointFacts[ep] = { inputPaths: compiled.inputPaths[ep] ?? null, builtins, nondeterministic: anyNondeterministic(builtins) }
  }
  return {
    entrypoints: compiled.entrypoints,
    entrypointFacts,
    hostBuiltins: compiled.hostBuiltins,
    queryVars: compiled.queryVars,
    ...(compiled.coveragePoints !== undefined ? { coveragePoints: compiled.coveragePoints } : {}),
    timings: compiled.timings,
  }
}

/** Compiles Rego modules to a Wasm module. Throws CompileError with every diagnostic found
 *  (compile() is the same without throwing). */
export function compileModules (opts: CompileOptions): CompiledPolicy {
  const compiled = build(opts)
  if (Array.isArray(compiled)) throw new CompileError(compiled)
  return compiled
}

/** The stages: the module, or the diagnostics that stopped it. */
function build (opts: CompileOptions): CompiledPolicy | Diagnostic[] {
  const timings: Record<string, number> = {}
  const parsed = timed(timings, 'parse', () => parseSources(opts.modules, { regoVersion: opts.regoVersion }))
  const diags = new Diagnostics()
  diags.list.push(...parsed.diagnostics)
  let query: { body: import('./ast/index.js').Body } | undefined
  if (opts.query !== undefined) {
    const q = parseQuery(opts.query, '<query>', { regoVersion: opts.regoVersion ?? 1 })
    diags.list.push(...q.diagnostics)
    if (q.body !== null) query = { body: q.body }
  }
  if (diags.hasErrors) return diags.list
  const rewrite = opts.rewriteModules
  if (rewrite !== undefined) timed(timings, 'rewrite', () => rewrite(parsed.modules))
  // OPA stops at the first stage that finds errors: its parser's Rego v1 checks, then the
  // compiler's rewriting of local variables, then the rest (safety, types, ...)
  // (typeCheck: false, for tests of deprecated builtins, also skips the v1 checks, as before)
  const v1 = opts.typeCheck === false ? [] : regoV1Checks(parsed.modules)
  if (v1.length > 0) return sortDiagnostics(v1)
  const locals = localVarChecks(parsed.modules)
  if (locals.length > 0) return sortDiagnostics(locals)
  const typeErrors = opts.typeCheck === false ? [] : timed(timings, 'check', () => checkTypes({ modules: parsed.modules, query: query?.body }))
  const planned: PlanOutput = timed(timings, 'plan', () => planPolicy({
    modules: parsed.modules,
    entrypoints: opts.entrypoints,
    ...(opts.optionalEntrypoints !== undefined ? { optionalEntrypoints: opts.optionalEntrypoints } : {}),
    query,
    strict: opts.strictBuiltinErrors,
    printStatements: opts.printStatements,
    ...(opts.coverage === true ? { coverage: true } : {}),
    ...(opts.data !== undefined ? { data: opts.data } : {}),
  }, diags))
  const all = combineDiagnostics(typeErrors, diags.list)
  if (all.length > 0) return all
  const json = timed(timings, 'serialize', () => serializePlan(planned.plan))
  const wasm = timed(timings, 'link', () => linkPolicy(json))
  return {
    wasm,
    entrypoints: planned.plan.entrypoints.map(([n]) => n),
    hostBuiltins: planned.plan.host.map(i => planned.plan.builtins[i]),
    inputPaths: planned.inputPaths,
    builtinsUsed: planned.builtinsUsed,
    queryVars: planned.queryVars,
    ...(planned.coveragePoints !== undefined ? { coveragePoints: planned.coveragePoints } : {}),
    timings,
  }
}

// ---- files and directories ----

export interface LoadedSources { modules: SourceFile[]; data: Record<string, unknown> }

/**
 * Reads .rego files and data files from files or directories, as OPA's loader (opa eval -d,
 * opa test, opa build): every .json, .yaml and .yml file is data, whatever its name, placed at
 * the path of its directory below the one given (a file given by name: at the root). Two files
 * that define the same value are an error (OPA: "merge error"), not one silently winning.
 */
export async function loadSources (paths: string[]): Promise<LoadedSources> {
  const modules: SourceFile[] = []
  const data: Record<string, unknown> = {}
  const visit = async (p: string, root: string): Promise<void> => {
    const s = await stat(p)
    if (s.isDirectory()) {
      const entries = (await readdir(p)).sort()
      for (const e of entries) {
        if (e.startsWith('.') || e === 'node_modules') continue
        await visit(path.join(p, e), root)
      }
      return
    }
    const ext = path.extname(p)
    if (ext === '.rego') {
      modules.push({ file: p, source: await readFile(p, 'utf8') })
    } else if (ext === '.json' || ext === '.yaml' || ext === '.yml') {
      const text = await readFile(p, 'utf8')
      let value: unknown
      try {
        value = ext === '.json' ? parseJsonExact(text) : parseOpaDocument(text)
      } catch (e) {
        throw new CompileError([{ code: 'rego_parse_error', message: `invalid data file: ${(e as Error).message}`, loc: { file: p, line: 1, col: 1 } }])
      }
      const rel = path.relative(root, path.dirname(p))
      const keys = rel === '' ? [] : rel.split(path.sep)
      mergeAt(data, keys, value, p)
    }
  }
  for (const p of paths) {
    const s = await stat(p)
    await visit(p, s.isDirectory() ? p : path.dirname(p))
  }
  return { modules, data }
}

function mergeError (keys: string[], file: string): CompileError {
  return new CompileError([{ code: 'rego_compile_error', message: `merge error: data${keys.map(k => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`).join('')} is also defined by an earlier data file`, loc: { file, line: 1, col: 1 } }])
}

function mergeAt (target: Record<string, unknown>, keys: string[], value: unknown, file: string): void {
  if (keys.length === 0 && !isObjectNode(value)) {
    throw new CompileError([{ code: 'rego_compile_error', message: 'root data file must hold an object', loc: { file, line: 1, col: 1 } }])
  }
  let cur = target
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i]!
    let next = ownValue(cur, k)
    if (next === undefined) setOwn(cur, k, next = {})
    else if (!isObjectNode(next)) throw mergeError(keys.slice(0, i + 1), file)
    cur = next as Record<string, unknown>
  }
  if (keys.length === 0) deepMerge(cur, value as Record<string, unknown>, [], file)
  else deepMerge(cur, { [keys[keys.length - 1]!]: value }, keys.slice(0, -1), file)
}

/** Merges b into a; a key both define is a conflict unless both values are objects (OPA's merge.InterfaceMaps). */
function deepMerge (a: Record<string, unknown>, b: Record<string, unknown>, at: string[], file: string): void {
  for (const [k, v] of Object.entries(b)) {
    const cur = ownValue(a, k)
    if (cur === undefined) setOwn(a, k, v)
    else if (isObjectNode(cur) && isObjectNode(v)) deepMerge(cur, v, [...at, k], file)
    else throw mergeError([...at, k], file)
  }
}

// Own properties only: a key "__proto__" in a data file is data, never the prototype.
function ownValue (o: Record<string, unknown>, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined
}

function setOwn (o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

function isObjectNode (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isRawJson(v)
}

