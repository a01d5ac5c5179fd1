// yaml.is_valid and yaml.unmarshal: the SDK's YAML reading (its parse is kept: the same
// documents are valid), with OPA's answers where the SDK's differ: is_valid of a non-string is
// false (the SDK: undefined), and unmarshal of invalid YAML is a builtin error (the SDK:
// undefined, even with strict builtin errors, where OPA fails the evaluation).
import { builtinError, type HostBuiltin } from './context.js'
import { str } from './args.js'
import { withdrawSdkBuiltin } from './sdk.js'

const sdkIsValid = withdrawSdkBuiltin('yaml.is_valid')
const sdkUnmarshal = withdrawSdkBuiltin('yaml.unmarshal')
if (sdkIsValid === undefined || sdkUnmarshal === undefined) throw new Error('@open-policy-agent/opa-wasm: yaml.is_valid / yaml.unmarshal not found in its builtin map')

export const yamlBuiltins: Record<string, HostBuiltin> = {
  'yaml.is_valid': (x: unknown) => typeof x === 'string' && sdkIsValid(x) === true,
  'yaml.unmarshal': (x: unknown) => {
    const text = str('yaml.unmarshal', 1, x)
    if (sdkIsValid(text) !== true) throw builtinError('yaml.unmarshal', 'yaml: the document is not valid YAML')
    return sdkUnmarshal(text)
  },
}
