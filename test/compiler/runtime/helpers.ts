// Shared helpers for the runtime tests: build the runtime once, link plans, load them
// with the opa-wasm SDK and poke at the raw ABI exports.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm'
import { linkPolicy } from '../../../src/compiler/wasm/link.js'
import { clearRuntimeCache } from '../../../src/compiler/wasm/runtime-files.js'

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
 * A hand-written plan (format: src/compiler/planner/ir.ts) with entrypoints
 * `stub/echo` (= input) and `stub/host` (= custom.fn(input), a host builtin).
 * Extra fields are ignored by the interpreter; `padding` makes big plans.
 */
export function echoPlan (padding = 0): string {
  const rule = (body: unknown[], value: number) => ({ body, key: [], value, multi: false, else: null, loc: 'test:1' })
  return JSON.stringify({
    version: 1,
    strict: false,
    consts: [],
    funcs: [
      { name: 'echo', kind: 0, nargs: 0, nlocals: 1, rules: [rule([[4, 0]], 0)], default: 0 },
      { name: 'host', kind: 0, nargs: 0, nlocals: 2, rules: [rule([[4, 0], [8, 1, 0, [0]]], 1)], default: 0 },
    ],
    nodes: [],
    entrypoints: [['stub/echo', 0], ['stub/host', 1]],
    builtins: ['custom.fn'],
    host: [0],
    ...(padding > 0 ? { padding: 'x'.repeat(padding) } : {}),
  })
}

export async function loadPlan (plan = echoPlan(), builtins: Record<string, (...args: any[]) => unknown> = {}): Promise<LoadedPolicy> {
  ensureRuntime()
  return loadPolicy(linkPolicy(plan), undefined, builtins)
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

  /** Calls a native builtin through the test hook; args in Rego value text. */
  builtin (name: string, args: string): string {
    const [na, nl] = this.write(name)
    const [aa, al] = this.write(args)
    return this.cstr(this.ex.__test_builtin(na, nl, aa, al))
  }
}
