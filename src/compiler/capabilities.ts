// What the compiler supports, in the shape of OPA's capabilities JSON (`opa capabilities`,
// the files under OPA's capabilities/): every builtin Bouncer compiles (native, host or
// rewritten by the compiler; declared-only ones are left out), the future keywords, the Wasm
// ABI versions of the modules it writes and the language features it implements. Derived from
// the builtin table (./builtins.ts); `bouncer capabilities` prints it.
import { BUILTIN_TABLE, type BuiltinDecl, type RegoType } from './builtins.js'
import { FUTURE_KEYWORDS } from './lexer/index.js'

export interface CapabilitiesBuiltin {
  name: string
  decl: { type: 'function'; args?: RegoType[]; result?: RegoType; variadic?: RegoType }
  infix?: string
  relation?: boolean
  nondeterministic?: boolean
  deprecated?: boolean
}

export interface Capabilities {
  builtins: CapabilitiesBuiltin[]
  future_keywords: string[]
  wasm_abi_versions: Array<{ version: number; minor_version: number }>
  features: string[]
}

/** Language features in OPA's capabilities vocabulary that the compiler implements. */
const FEATURES = ['keywords_in_refs', 'rego_v1', 'rule_head_ref_string_prefixes', 'rule_head_refs', 'rego_v2_import', 'template_strings']

function entry (d: BuiltinDecl): CapabilitiesBuiltin {
  const decl: CapabilitiesBuiltin['decl'] = { type: 'function' }
  if (d.args.length > 0) decl.args = [...d.args]
  if (d.result !== null) decl.result = d.result
  if (d.variadic !== undefined) decl.variadic = d.variadic
  const out: CapabilitiesBuiltin = { name: d.name, decl }
  if (d.infix !== undefined) out.infix = d.infix
  if (d.relation) out.relation = true
  if (d.nondeterministic) out.nondeterministic = true
  if (d.deprecated) out.deprecated = true
  return out
}

/** OPA's capabilities document for this compiler and runtime. */
export function capabilities (): Capabilities {
  return {
    builtins: BUILTIN_TABLE.filter(d => d.impl.kind !== 'none').map(entry).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    // and, not, or: OPA 1.17 / 1.20 (src/compiler/parser: parseNotBody, parseLogicalLiteral)
    future_keywords: [...FUTURE_KEYWORDS, 'and', 'not', 'or'].sort(),
    wasm_abi_versions: [{ version: 1, minor_version: 1 }, { version: 1, minor_version: 2 }],
    features: [...FEATURES],
  }
}
