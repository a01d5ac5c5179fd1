// YAML documents (data files, OPA's test cases) with integers read as exact-json.ts reads JSON
// ones: past 2^53 they stay their digits (a JSON.rawJSON value), everything else is what
// YAML.parse gives. Kept apart from exact-json.ts so the request path never loads `yaml`.
import { rawJson } from './exact-json.js'
import { parse, type ParseOptions, type DocumentOptions, type SchemaOptions, type ToJSOptions } from 'yaml'


function exactInteger (_key: unknown, value: unknown): unknown {
  if (typeof value !== 'bigint') return value
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : rawJson(value.toString())
}

/** YAML.parse with integers past 2^53 kept exactly (`intAsBigInt` is forced on, then undone). */
export function parseYamlExact (text: string, options: ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions = {}): unknown {
  return parse(text, exactInteger, { ...options, intAsBigInt: true })
}
