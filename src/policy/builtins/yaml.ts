// yaml.marshal, yaml.unmarshal and yaml.is_valid as OPA answers them: YAML 1.1 scalars as
// go-yaml v2 reads them (`on` is true, `010` is 8), keys made strings as sigs.k8s.io/yaml makes
// them, and a document with no JSON form (a null key, .inf) an error — src/opa-yaml.ts. The
// SDK's own three (YAML 1.2) are withdrawn: they read `on` as "on". is_valid of a non-string
// is false; unmarshal of an invalid document is a builtin error (undefined, or with strict
// builtin errors an evaluation error).
import { builtinError, type HostBuiltin } from './context.js'
import { str } from './args.js'
import { withdrawSdkBuiltin } from './sdk.js'
import { parseOpaYaml, stringifyOpaYaml, YamlReadError } from '../../opa-yaml.js'

function read (name: string, text: string): unknown {
  try {
    return parseOpaYaml(text)
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
