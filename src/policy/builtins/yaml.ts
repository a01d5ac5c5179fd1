// yaml.marshal, yaml.unmarshal and yaml.is_valid as current OPA answers them: scalars as its
// go-yaml v3 resolves them (`on` is "on", `010` is 8, `1_000` is 1000), keys made strings as
// OPA's internal/yaml makes them, and a document with no JSON form (a null key, .inf) an
// error — src/opa-yaml.ts. The SDK's own three are withdrawn: they differ from OPA on octal
// and underscored numbers, keys, merges and documents that do not parse past the first. is_valid of a non-string
// is false; unmarshal of an invalid document is a builtin error (undefined, or with strict
// builtin errors an evaluation error).
import { builtinError, type HostBuiltin } from './context.js'
import { str } from './args.js'
import { goTextValue } from './bytes.js'
import { withdrawSdkBuiltin } from './sdk.js'
import { parseOpaYaml, stringifyOpaYaml, YamlReadError } from '../../opa-yaml.js'

function read (name: string, text: string): unknown {
  try {
    return goTextValue(parseOpaYaml(text)) // no lone surrogate but an escaped byte reaches the policy (./bytes.ts)
  } catch (e) {
    if (e instanceof YamlReadError) throw builtinError(name, `yaml: ${e.message}`)
    throw e
  }
}

export const yamlBuiltins: Record<string, HostBuiltin> = {
  'yaml.is_valid': (x: unknown) => {
    if (typeof x !== 'string') return false
    try { parseOpaYaml(x); return true } catch (e) { if (e instanceof YamlReadError) return false; throw e }
  },
  'yaml.unmarshal': (x: unknown) => read('yaml.unmarshal', str('yaml.unmarshal', 1, x)),
  'yaml.marshal': (x: unknown) => stringifyOpaYaml(x),
}

// The SDK's own take precedence over host builtins: withdraw them.
for (const name of Object.keys(yamlBuiltins)) {
  if (withdrawSdkBuiltin(name) === undefined) throw new Error(`@open-policy-agent/opa-wasm: ${name} not found in its builtin map`)
}
