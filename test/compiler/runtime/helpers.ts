// Shared helpers for the runtime tests: build the runtime once, link plans, load them
// with the opa-wasm SDK and poke at the raw ABI exports.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { linkPlanInto, linkPolicy } from '../../../src/compiler/wasm/link.js'
import { clearRuntimeCache, packageRoot } from '../../../src/compiler/wasm/runtime-files.js'
import { parseModule } from '../../../src/compiler/parser/index.js'
import { planPolicy } from '../../../src/compiler/planner/index.js'
import { serializePlan } from '../../../src/compiler/planner/serialize.js'
import { Diagnostics } from '../../../src/compiler/diagnostics.js'

let built = false

/** Builds build/runtime.wasm if its sources changed (idempotent, fast when up to date). */
export function ensureRuntime (): void {
  if (built) return
  const script = fileURLToPath(new URL('../../../scripts/build-runtime.mjs', import.meta.url))
  execFileSync(process.execPath, [script], { stdio: ['ignore', 'ignore', 'inherit'] })
  clearRuntimeCache()
  built = true
}

/**
 * Plan JSON for a tiny policy compiled with the project's planner:
 *   stub/echo = input; stub/host = crypto.sha256(input) (a host builtin);
 *   stub/pad = a string constant of `padding` bytes (to make big plans).
 */
export function echoPlan (padding = 0): string {
  const source = [
    'package stub',
    'echo := input',
    'host := crypto.sha256(input)',
    `pad := ${JSON.stringify('x'.repeat(padding))}`,
  ].join('\n')
  return sourcePlan(source, ['stub/echo', 'stub/host', 'stub/pad'])
}

/** Plan JSON of a one-module policy (`source`, package stub) with these entrypoints. */
export function sourcePlan (source: string, entrypoints: string[]): string {
  const parsed = parseModule(source, 'stub.rego')
  if (parsed.module === null) throw new Error('stub policy does not parse')
  const diags = new Diagnostics()
  const out = planPolicy({ modules: [parsed.module], entrypoints }, diags)
  if (diags.hasErrors) throw new Error('stub policy does not plan: ' + JSON.stringify(diags.list))
  return serializePlan(out.plan)
}

export async function loadPlan (plan = echoPlan(), builtins: Record<string, (...args: any[]) => unknown> = {}): Promise<LoadedPolicy> {
  ensureRuntime()
  return loadPolicy(linkPolicy(plan), undefined, builtins)
}

/** The test runtime (build/runtime-test.wasm): the shipped runtime plus the builtin test hooks. */
export function testRuntimeWasm (): Uint8Array {
  ensureRuntime()
  return new Uint8Array(readFileSync(join(packageRoot(), 'build', 'runtime-test.wasm')))
}

/** loadPlan on the test runtime, for Raw#builtin. */
export async function loadTestPlan (plan = echoPlan()): Promise<LoadedPolicy> {
  return loadPolicy(linkPlanInto(testRuntimeWasm(), plan))
}

export type Exports = Record<string, any>

/** Raw access to a loaded policy's exports and memory. */
export class Raw {
  readonly ex: Exports
  readonly mem: WebAssembly.Memory
  constructor (policy: LoadedPolicy) {
    this.ex = (policy.wasmInstance as WebAssembly.Instance).exports as Exports
    this.mem = policy.mem
  }

  /** Copies UTF-8 `s` into freshly malloc'd memory; returns [addr, len]. */
  write (s: string): [number, number] {
    const bytes = new TextEncoder().encode(s)
    const addr: number = this.ex.opa_malloc(bytes.length)
    new Uint8Array(this.mem.buffer).set(bytes, addr)
    return [addr, bytes.length]
  }

  cstr (addr: number): string {
    const buf = new Uint8Array(this.mem.buffer)
    let end = addr
    while (buf[end] !== 0) end++
    return new TextDecoder().decode(buf.subarray(addr, end))
  }

  jsonParse (s: string): number { const [a, n] = this.write(s); return this.ex.opa_json_parse(a, n) }
  valueParse (s: string): number { const [a, n] = this.write(s); return this.ex.opa_value_parse(a, n) }
  jsonDump (v: number): string { return this.cstr(this.ex.opa_json_dump(v)) }
  valueDump (v: number): string { return this.cstr(this.ex.opa_value_dump(v)) }

  /** Calls a native builtin through the test hook (a module on the test runtime: loadTestPlan); args in Rego value text. */
  builtin (name: string, args: string): string {
    const [na, nl] = this.write(name)
    const [aa, al] = this.write(args)
    return this.cstr(this.ex.__test_builtin(na, nl, aa, al))
  }
}
