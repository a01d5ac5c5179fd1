// Host builtins: JS implementations of Rego builtins that a policy module imports (its
// `builtins()` map names them) and that @open-policy-agent/opa-wasm does not implement
// itself. They are passed to loadPolicy as customBuiltins. Arguments and results are plain
// JSON values (the SDK dumps/loads them; sets arrive as arrays, numbers as float64 — an integer a
// double may have rounded is read again exactly from a module of Bouncer's runtime: see guard()).
//
// Errors follow OPA: a failing builtin is undefined, or — with strict builtin errors on for the
// evaluation — aborts it with `eval_builtin_error: <name>: <reason>` /
// `eval_type_error: <name>: operand N must be <type> but got <type>` (see context.ts).
// Loaders wrap every evaluate() in runEvaluation(fn, { strict }) so that strictness, the
// evaluation clock (time.now_ns) and per-evaluation memos (uuid.rfc4122) are scoped to it.
//
// The SDK (1.10) implements, and takes precedence for: sprintf (Bouncer-compiled policies run
// sprintf natively in the Wasm runtime with Go semantics; this applies to OPA-built Wasm only: sprintf-js, no Go verbs like
// %v of composites in Go syntax, big integers arrive rounded), json.is_valid. Its regex.split
// (JS RegExp: backtracking, JS syntax) is withdrawn when regex.ts loads, so ours (Go semantics)
// serves every module; its yaml.* are withdrawn by yaml.ts for OPA's own reading (go-yaml v3:
// src/opa-yaml.ts). Everything else a module imports
// must be here, or loading fails with BOUNCER_ERR_POLICY_MISSING_BUILTIN (see missingBuiltins).
import { EXACT_ARG_BUILTINS, SDK_BUILTINS } from '../../compiler/builtins.js'
import { awsBuiltins } from './aws-sign.js'
import { guard, type HostBuiltin } from './context.js'
import { cryptoBuiltins } from './crypto.js'
import { encodingBuiltins } from './encoding.js'
import { globBuiltins } from './glob.js'
import { graphqlBuiltins } from './graphql/index.js'
import { jwtBuiltins } from './jwt.js'
import { miscBuiltins } from './misc.js'
import { netBuiltins } from './net.js'
import { objectBuiltins } from './objects.js'
import { regexBuiltins } from './regex.js'
import { schemaBuiltins } from './schema.js'
import { stringBuiltins } from './strings.js'
import { timeBuiltins } from './time.js'
import { uriBuiltins } from './uri.js'
import { x509Builtins } from './x509/index.js'
import { yamlBuiltins } from './yaml.js'

export type { HostBuiltin } from './context.js'
export {
  runEvaluation, setDefaultStrictBuiltinErrors, strictBuiltinErrors, evaluationNowNs,
  BuiltinError, BuiltinHalt, type EvaluationOptions,
} from './context.js'
export { setPrintHook } from './misc.js'

// Which builtins the SDK provides and which are non-deterministic is declared once, in the
// builtin table (src/compiler/builtins.ts).
export { SDK_BUILTINS, NONDETERMINISTIC_BUILTINS } from '../../compiler/builtins.js'

const groups: Array<Record<string, HostBuiltin>> = [
  stringBuiltins, regexBuiltins, globBuiltins, timeBuiltins, netBuiltins, cryptoBuiltins,
  jwtBuiltins, objectBuiltins, encodingBuiltins, miscBuiltins, schemaBuiltins, yamlBuiltins, uriBuiltins,
  graphqlBuiltins, x509Builtins, awsBuiltins,
]

/** The registry: every host builtin, wrapped with OPA's error behaviour. */
export const hostBuiltins: Record<string, HostBuiltin> = {}
for (const g of groups) {
  for (const [name, impl] of Object.entries(g)) {
    if (Object.prototype.hasOwnProperty.call(hostBuiltins, name)) throw new Error(`host builtin ${name} registered twice`)
    hostBuiltins[name] = guard(name, impl, EXACT_ARG_BUILTINS.has(name))
  }
}

/** Names in `required` that neither the SDK nor the host registry implements. */
/** Host builtins kept for modules built by OPA that import them, which our own modules run in
 *  the runtime (where sets stay sets). */
export const OPA_MODULE_BUILTINS: ReadonlySet<string> = new Set(['object.subset'])

export function missingBuiltins (required: readonly string[], registry: Record<string, HostBuiltin> = hostBuiltins): string[] {
  return required.filter((name) => !SDK_BUILTINS.has(name) && !Object.prototype.hasOwnProperty.call(registry, name))
}
