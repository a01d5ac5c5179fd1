// Evaluates Rego expressions through real compiled policies (compileModules + loadWasmPolicy),
// so host builtins are exercised across the SDK's JSON ABI exactly as in production. The type
// checker is off: these tests pass wrongly typed literals on purpose, to exercise the runtime
// checks that wrongly typed input and data reach (the checker would reject the literals).
import type { Test } from 'tap'
import { compileModules } from '../../../src/compiler/index.js'
import { evaluationMessage, loadWasmPolicy } from '../../../src/policy/eval/index.js'
import { canonicalJson } from '../../../src/cache/canonical-json.js'

export interface Outcome { value?: unknown; error?: string }

/** Evaluates each expression as `rN := <expr>` in one module (non-strict): undefined → no value. */
export async function evalAll (exprs: string[], input?: unknown): Promise<Outcome[]> {
  const source = 'package t\n\n' + exprs.map((e, i) => `r${i} := ${e}\n`).join('')
  const c = compileModules({ modules: [{ file: 't.rego', source }], entrypoints: ['t'], typeCheck: false })
  const p = await loadWasmPolicy(c.wasm)
  const rs = p.evaluate(input ?? {}, 't') as Array<{ result: Record<string, unknown> }>
  const obj = rs[0]?.result ?? {}
  return exprs.map((_, i) => (Object.prototype.hasOwnProperty.call(obj, `r${i}`) ? { value: obj[`r${i}`] } : {}))
}

/** Evaluates one expression, strict builtin errors on or off; errors are returned as text. */
export async function evalOne (expr: string, opts: { strict?: boolean; input?: unknown } = {}): Promise<Outcome> {
  const strict = opts.strict === true
  try {
    const c = compileModules({ modules: [{ file: 't.rego', source: `package t\n\nr := ${expr}\n` }], entrypoints: ['t/r'], strictBuiltinErrors: strict, typeCheck: false })
    const p = await loadWasmPolicy(c.wasm, {}, { strictBuiltinErrors: strict })
    const rs = p.evaluate(opts.input ?? {}, 't/r') as Array<{ result: unknown }>
    return rs.length === 0 || rs[0].result === undefined ? {} : { value: rs[0].result }
  } catch (e) {
    return { error: evaluationMessage(e) }
  }
}

/** Rego literal for a JS value (JSON is valid Rego). */
export const lit = (v: unknown): string => JSON.stringify(v)

export type Want = { value: unknown } | { undefined: true } | { error: RegExp }

type Asserts = Pick<Test, 'same' | 'match' | 'equal'>

export const V = (value: unknown): Want => ({ value })
export const U: Want = { undefined: true }
/** A builtin error: with strict errors the evaluation fails with this message; otherwise the call is undefined. */
export const E = (error: RegExp): Want => ({ error })

/** Table-driven check of Rego expressions through compiled policies. */
export async function table (t: Asserts, cases: Array<[string, Want]>, input?: unknown): Promise<void> {
  const plain = cases.filter(([, w]) => !('error' in w))
  const outs = plain.length ? await evalAll(plain.map(([e]) => e), input) : []
  plain.forEach(([expr, w], i) => {
    // Compared as canonical JSON: results keep integers past 2^53 exactly (src/exact-json.ts),
    // so 1496455200000000000 is compared by its digits.
    if ('value' in w) t.equal(outs[i] !== undefined && 'value' in outs[i]! ? canonicalJson(outs[i]!.value) : 'undefined', canonicalJson(w.value), expr)
    else t.same(outs[i], {}, `${expr} is undefined`)
  })
  for (const [expr, w] of cases) {
    if (!('error' in w)) continue
    const strict = await evalOne(expr, { strict: true, input })
    t.match(strict.error ?? `no error, got ${JSON.stringify(strict)}`, w.error, `${expr} fails (strict)`)
    t.same(await evalOne(expr, { input }), {}, `${expr} is undefined (non-strict)`)
  }
}
