// json.verify_schema and json.match_schema with ajv (draft-07). A schema's `$schema` does not
// choose anything: gojsonschema (OPA's validator) knows drafts 04-07, takes any other URL
// (2019-09, 2020-12, a typo) as no draft and validates with its default, and never checks a
// schema against its meta-schema; here every `$schema` string is set aside and the draft-07
// vocabulary (which covers what the older drafts use) applies. (Ajv looked the URL up and
// refused an unknown one, so match_schema was undefined and `not ok` rules never fired.)
//
// Results have OPA's shapes: verify_schema(schema) is [true, null] or [false, "jsonschema: ..."];
// match_schema(document, schema) is [valid, errors] with errors as OPA reports gojsonschema's:
// {"error": "<field>: <desc>", "type": ..., "field": ..., "desc": ...}, the field a dotted path
// ("(root)" for the document itself) and the type/desc wording of gojsonschema for every
// standard keyword. A document or schema may be given as JSON text or as a value; invalid JSON
// text is an error for match_schema and a [false, reason] result for verify_schema.
//
// Schemas may come from input, so they are untrusted: `pattern` and `patternProperties` run on
// Go regular expressions (re2js: linear time, OPA's syntax); no remote `$ref` is ever fetched
// (an unresolvable reference is a schema error); compiled schemas are kept in a bounded cache.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { builtinError, type HostBuiltin } from './context.js'
import { compileGoRegexp } from './goregexp.js'

type AddFormats = (ajv: Ajv) => Ajv
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as unknown as AddFormats

const goRegExp = Object.assign(
  (pattern: string): { test: (s: string) => boolean } => {
    const re = compileGoRegexp(pattern)
    return { test: (s: string) => re.test(s) }
  },
  { code: 'goRegExp' },
)

function newAjv (): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    strict: false,
    logger: false,
    loadSchema: undefined,
    code: { regExp: goRegExp },
  })
  addFormats(ajv)
  // `enum: []` (see forAjv): matches nothing, reported as an enum error
  const emptyEnum = (): boolean => {
    emptyEnum.errors = [{ keyword: 'enum', params: { allowedValues: [] }, message: 'must be equal to one of the allowed values' }]
    return false
  }
  emptyEnum.errors = undefined as Array<Partial<ErrorObject>> | undefined
  ajv.addKeyword({ keyword: EMPTY_ENUM, schemaType: 'boolean', errors: true, validate: emptyEnum })
  ajv.addKeyword({ keyword: UNIQUE_ITEMS, type: 'array', schemaType: 'boolean', errors: true, validate: uniqueItems })
  return ajv
}

// `uniqueItems: true` (see forAjv) is checked here, as gojsonschema checks it: each item's
// canonical text goes into a map, and every item whose text an earlier one had is an error
// items[i,j] with i the latest such earlier item. Ajv compares the items pairwise: 32K items
// of a request body took 16 s of the event loop, and it reported only one pair.
const UNIQUE_ITEMS = 'x-bouncer-unique-items'
const MAX_SCHEMA_DEPTH = 1024
function uniqueItems (_schema: boolean, data: unknown[]): boolean {
  const seen = new Map<string, number>()
  const errors: Array<Partial<ErrorObject>> = []
  for (let j = 0; j < data.length; j++) {
    const key = canonicalText(data[j])
    const i = seen.get(key)
    if (i !== undefined) errors.push({ keyword: 'uniqueItems', params: { i, j }, message: 'must NOT have duplicate items' })
    seen.set(key, j)
  }
  uniqueItems.errors = errors.length === 0 ? undefined : errors
  return errors.length === 0
}
uniqueItems.errors = undefined as Array<Partial<ErrorObject>> | undefined

/**
 * One text per JSON value such that equal texts mean equal values, as gojsonschema's
 * comparison has it: object keys sorted, numbers as the float64 they denote (1 and 1.0 are
 * one value; -0 is not 0, as Go prints it).
 */
function canonicalText (v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v)
  if (typeof v !== 'object' || v === null) return JSON.stringify(v)
  if (Array.isArray(v)) {
    let out = '['
    for (let k = 0; k < v.length; k++) out += (k === 0 ? '' : ',') + canonicalText(v[k])
    return out + ']'
  }
  const o = v as Record<string, unknown>
  let out = '{'
  let first = true
  for (const k of Object.keys(o).sort()) {
    out += (first ? '' : ',') + JSON.stringify(k) + ':' + canonicalText(o[k])
    first = false
  }
  return out + '}'
}

// gojsonschema (OPA's validator) takes `enum: []` as a valid schema that nothing matches; ajv
// refuses it when compiling. Each subschema's empty enum becomes this keyword first, and each
// `uniqueItems: true` becomes UNIQUE_ITEMS (a non-boolean one stays, for ajv to refuse).
const EMPTY_ENUM = 'x-bouncer-empty-enum'
const ONE = ['additionalItems', 'additionalProperties', 'contains', 'propertyNames', 'not', 'if', 'then', 'else', 'items']
const LIST = ['allOf', 'anyOf', 'oneOf', 'items']
const MAP = ['properties', 'patternProperties', 'definitions', '$defs', 'dependencies']

/** `schema` with every subschema's `enum: []` and `uniqueItems: true` replaced (a copy only where one is found). */
function forAjv (schema: unknown, depth = 0): unknown {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema
  // Past this, a subschema would keep ajv's pairwise uniqueItems (and ajv's own recursion
  // would overflow the stack first anyway): a schema error, never a slow check.
  if (depth > MAX_SCHEMA_DEPTH) throw new Error(`schema is nested deeper than ${MAX_SCHEMA_DEPTH} levels`)
  const o = schema as Record<string, unknown>
  let out: Record<string, unknown> | null = null
  const put = (k: string, v: unknown): void => { if (v !== o[k]) (out ??= { ...o })[k] = v }
  if (Array.isArray(o.enum) && o.enum.length === 0) {
    out = { ...o }
    delete out.enum
    out[EMPTY_ENUM] = true
  }
  if (o.uniqueItems === true) {
    out ??= { ...o }
    delete out.uniqueItems
    out[UNIQUE_ITEMS] = true
  }
  for (const k of ONE) if (k in o && !Array.isArray(o[k])) put(k, forAjv(o[k], depth + 1))
  for (const k of LIST) {
    const v = o[k]
    if (!Array.isArray(v)) continue
    const mapped = v.map(x => forAjv(x, depth + 1))
    if (mapped.some((x, i) => x !== v[i])) put(k, mapped)
  }
  for (const k of MAP) {
    const v = o[k]
    if (v === null || typeof v !== 'object' || Array.isArray(v)) continue
    const m = v as Record<string, unknown>
    let copy: Record<string, unknown> | null = null
    for (const name of Object.keys(m)) {
      const x = forAjv(m[name], depth + 1)
      if (x !== m[name]) (copy ??= { ...m })[name] = x
    }
    if (copy !== null) put(k, copy)
  }
  return out ?? o
}

let ajv = newAjv()
const MAX_CACHED = 256
const cache = new Map<string, ValidateFunction | Error>()

/** Compiles `schema` (cached by its JSON text); returns the error when it is not a valid schema. */
function compile (schema: unknown): ValidateFunction | Error {
  const key = JSON.stringify(schema)
  const hit = cache.get(key)
  if (hit !== undefined) {
    cache.delete(key)
    cache.set(key, hit)
    return hit
  }
  let result: ValidateFunction | Error
  try {
    let s = schema
    if (typeof s === 'object' && s !== null && !Array.isArray(s) && typeof (s as Record<string, unknown>).$schema === 'string') {
      const { $schema: _ignored, ...rest } = s as Record<string, unknown>
      s = rest
    }
    if (typeof s !== 'boolean' && (typeof s !== 'object' || s === null || Array.isArray(s))) throw new Error('schema must be an object or a boolean')
    result = ajv.compile(forAjv(s) as object)
  } catch (e) {
    result = e instanceof Error ? e : new Error(String(e))
    // a failed compile can leave a half-registered schema (by $id) behind
    ajv = newAjv()
    cache.clear()
  }
  cache.set(key, result)
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string)
  return result
}

/** A string argument is JSON text; objects (and arrays) are used as they are. */
function load (v: unknown): unknown {
  if (typeof v === 'string') {
    try { return JSON.parse(v) } catch { throw new Error('invalid JSON string') }
  }
  if (typeof v === 'object' && v !== null) return v
  throw new Error('wrong type, expected string or object')
}

function verifySchema (schema: unknown): [boolean, string | null] {
  let s: unknown
  try { s = load(schema) } catch (e) { return [false, 'jsonschema: ' + (e as Error).message] }
  const v = compile(s)
  if (v instanceof Error) return [false, 'jsonschema: ' + v.message]
  return [true, null]
}

interface SchemaError { error: string; type: string; field: string; desc: string }

function matchSchema (document: unknown, schema: unknown): [boolean, SchemaError[]] {
  const name = 'json.match_schema'
  let doc: unknown
  let s: unknown
  try { doc = load(document) } catch (e) { throw builtinError(name, (e as Error).message) }
  try { s = load(schema) } catch (e) { throw builtinError(name, (e as Error).message) }
  const v = compile(s)
  if (v instanceof Error) throw builtinError(name, v.message)
  if (v(doc) === true) return [true, []]
  return [false, toOpaErrors(v.errors ?? [])]
}

// ---- errors in gojsonschema's terms ----

/** "/a/0/b" -> "a.0.b"; "" -> "(root)" */
function field (instancePath: string): string {
  if (instancePath === '') return '(root)'
  return instancePath.slice(1).split('/').map(p => p.replace(/~1/g, '/').replace(/~0/g, '~')).join('.')
}

function child (instancePath: string, key: string): string {
  const base = field(instancePath)
  return base === '(root)' ? key : `${base}.${key}`
}

function goType (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v === 'object' ? 'object' : typeof v
}

const listOf = (xs: unknown): string => (Array.isArray(xs) ? xs : [xs]).map(x => JSON.stringify(x)).join(', ')

/** [type, desc, field] for one ajv error, or null to leave it out. */
function describe (e: ErrorObject): [string, string, string] | null {
  const p = e.params as Record<string, unknown>
  const f = field(e.instancePath)
  switch (e.keyword) {
    case 'required': return ['required', `${String(p.missingProperty)} is required`, f]
    case 'type': {
      const want = Array.isArray(p.type) ? (p.type as string[]).join(', ') : String(p.type)
      return ['invalid_type', `Invalid type. Expected: ${want}, given: ${goType(e.data)}`, f]
    }
    case 'enum': return ['enum', `${f} must be one of the following: ${listOf(p.allowedValues)}`, f]
    case 'const': return ['const', `${f} does not match: ${JSON.stringify(p.allowedValue)}`, f]
    case 'minimum': return ['number_gte', `Must be greater than or equal to ${String(p.limit)}`, f]
    case 'exclusiveMinimum': return ['number_gt', `Must be greater than ${String(p.limit)}`, f]
    case 'maximum': return ['number_lte', `Must be less than or equal to ${String(p.limit)}`, f]
    case 'exclusiveMaximum': return ['number_lt', `Must be less than ${String(p.limit)}`, f]
    case 'multipleOf': return ['multiple_of', `Must be a multiple of ${String(p.multipleOf)}`, f]
    case 'minLength': return ['string_gte', `String length must be greater than or equal to ${String(p.limit)}`, f]
    case 'maxLength': return ['string_lte', `String length must be less than or equal to ${String(p.limit)}`, f]
    case 'pattern': return ['pattern', `Does not match pattern '${String(p.pattern)}'`, f]
    case 'format': return ['format', `Does not match format '${String(p.format)}'`, f]
    case 'minItems': return ['array_min_items', `Array must have at least ${String(p.limit)} items`, f]
    case 'maxItems': return ['array_max_items', `Array must have at most ${String(p.limit)} items`, f]
    case 'uniqueItems': {
      const i = Math.min(Number(p.i), Number(p.j))
      const j = Math.max(Number(p.i), Number(p.j))
      return ['unique', `array items[${i},${j}] must be unique`, f]
    }
    case 'contains': return ['contains', 'At least one of the items must match', f]
    case 'additionalItems': return ['array_no_additional_items', 'No additional items allowed on array', f]
    case 'minProperties': return ['array_min_properties', `Must have at least ${String(p.limit)} properties`, f]
    case 'maxProperties': return ['array_max_properties', `Must have at most ${String(p.limit)} properties`, f]
    case 'additionalProperties': return ['additional_property_not_allowed', `Additional property ${String(p.additionalProperty)} is not allowed`, f]
    case 'propertyNames': return ['invalid_property_name', `Property name of "${String(p.propertyName)}" does not match`, child(e.instancePath, String(p.propertyName))]
    case 'dependencies': case 'dependentRequired': return ['missing_dependency', `Has a dependency on ${String(p.missingProperty)}`, f]
    case 'anyOf': return ['number_any_of', 'Must validate at least one schema (anyOf)', f]
    case 'oneOf': return ['number_one_of', 'Must validate one and only one schema (oneOf)', f]
    case 'allOf': return ['number_all_of', 'Must validate all the schemas (allOf)', f]
    case 'not': return ['number_not', 'Must not validate the schema (not)', f]
    case 'if': return p.failingKeyword === 'else'
      ? ['condition_else', 'Must validate "else" as "if" was not valid', f]
      : ['condition_then', 'Must validate "then" as "if" was valid', f]
    case 'false schema': return ['false', 'False always fails validation', f]
    default: return [e.keyword, e.message ?? e.keyword, f]
  }
}

function toOpaErrors (errors: ErrorObject[]): SchemaError[] {
  // errors of the branches of a failed anyOf/oneOf/not are not the document's errors: gojsonschema
  // reports the combinator alone
  const combinators = errors.filter(e => e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'not').map(e => e.schemaPath + '/')
  const out: SchemaError[] = []
  for (const e of errors) {
    if (combinators.some(c => e.schemaPath.startsWith(c))) continue
    const d = describe(e)
    if (d === null) continue
    const [type, desc, f] = d
    out.push({ error: `${f}: ${desc}`, type, field: f, desc })
  }
  return out
}

export const schemaBuiltins: Record<string, HostBuiltin> = {
  'json.verify_schema': verifySchema,
  'json.match_schema': matchSchema,
}
