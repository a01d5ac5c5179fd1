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
import { isRawJson } from '../../exact-json.js'
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
  // `enum: []` (see withoutEmptyEnums): matches nothing, reported as an enum error
  const emptyEnum = (): boolean => {
    emptyEnum.errors = [{ keyword: 'enum', params: { allowedValues: [] }, message: 'must be equal to one of the allowed values' }]
    return false
  }
  emptyEnum.errors = undefined as Array<Partial<ErrorObject>> | undefined
  ajv.addKeyword({ keyword: EMPTY_ENUM, schemaType: 'boolean', errors: true, validate: emptyEnum })
  ajv.removeKeyword('uniqueItems')
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate: uniqueItems })
  return ajv
}

// uniqueItems replaces ajv's own keyword (wherever a schema or a $ref puts it) and is checked
// as gojsonschema checks it: each item's canonical form goes into a map, and every item whose
// form an earlier one had is an error items[i,j] with i the latest such earlier item. Ajv
// compared the items pairwise (32K items of a request body held the event loop 16 s) and
// reported one pair.
function uniqueItems (schema: boolean, data: unknown[]): boolean {
  if (schema !== true) return true
  const seen = new Map<number, number>()
  const errors: Array<Partial<ErrorObject>> = []
  for (let j = 0; j < data.length; j++) {
    const id = interned.id(data[j])
    const i = seen.get(id)
    if (i !== undefined) errors.push({ keyword: 'uniqueItems', params: { i, j }, message: 'must NOT have duplicate items' })
    seen.set(id, j)
  }
  uniqueItems.errors = errors.length === 0 ? undefined : errors
  return errors.length === 0
}
uniqueItems.errors = undefined as Array<Partial<ErrorObject>> | undefined

/**
 * Numbers for JSON values such that equal numbers mean equal values, as gojsonschema's
 * comparison has it (it compares the items' JSON after a round trip through float64): object
 * keys in any order, numbers as the float64 they denote (1, 1.0 and an exact 1 are one value;
 * -0 is not 0, as Go prints it), strings with lone surrogates as U+FFFD (Go's UTF-8). A
 * container's number is made from its members' numbers, never from its text, and is kept for
 * the rest of the call: nesting costs nothing extra (a canonical text per item made every level
 * of a recursive schema serialise its whole subtree again), and the walk keeps its own stack
 * (a deeply nested item must not overflow the call stack and turn a failed match into none).
 */
class Interned {
  private readonly ids = new Map<string, number>()
  private containers = new WeakMap<object, number>()

  /** Forget the containers (their numbers hold within one match_schema call). */
  reset (): void {
    this.ids.clear()
    this.containers = new WeakMap()
  }

  private of (key: string): number {
    let id = this.ids.get(key)
    if (id === undefined) { id = this.ids.size; this.ids.set(key, id) }
    return id
  }

  private leaf (v: unknown): number {
    if (typeof v === 'string') return this.of('s' + wellFormed(v))
    if (typeof v === 'number') return this.of('n' + (Object.is(v, -0) ? '-0' : String(v)))
    if (isRawJson(v)) {
      const n = Number(v.rawJSON)
      return this.of('n' + (Object.is(n, -0) ? '-0' : String(n)))
    }
    return this.of('l' + String(v)) // true, false, null
  }

  id (root: unknown): number {
    if (typeof root !== 'object' || root === null || isRawJson(root)) return this.leaf(root)
    const done = this.containers.get(root)
    if (done !== undefined) return done
    // Post-order over the containers not numbered yet: a frame is entered (its children pushed)
    // once, and numbered when it comes up again.
    const stack: Array<{ v: object; entered: boolean }> = [{ v: root, entered: false }]
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      if (this.containers.has(top.v)) { stack.pop(); continue }
      const children = Array.isArray(top.v) ? top.v as unknown[] : Object.values(top.v)
      if (!top.entered) {
        top.entered = true
        for (const c of children) {
          if (typeof c === 'object' && c !== null && !isRawJson(c) && !this.containers.has(c)) stack.push({ v: c, entered: false })
        }
        continue
      }
      stack.pop()
      const idOf = (c: unknown): number => (typeof c === 'object' && c !== null && !isRawJson(c) ? this.containers.get(c)! : this.leaf(c))
      let key: string
      if (Array.isArray(top.v)) key = 'a' + (top.v as unknown[]).map(idOf).join(',')
      else {
        const o = top.v as Record<string, unknown>
        key = 'o' + Object.keys(o).sort().map((k) => this.leaf(k) + ':' + idOf(o[k])).join(',')
      }
      this.containers.set(top.v, this.of(key))
    }
    return this.containers.get(root)!
  }
}
const interned = new Interned()

// ES2024 string methods (Node 20+), not in the compiler's lib yet.
type WellFormed = { isWellFormed (): boolean; toWellFormed (): string }
const wellFormed = (s: string): string => ((s as unknown as WellFormed).isWellFormed() ? s : (s as unknown as WellFormed).toWellFormed())

// gojsonschema (OPA's validator) takes `enum: []` as a valid schema that nothing matches; ajv
// refuses it when compiling. Each subschema's empty enum becomes this keyword first.
const EMPTY_ENUM = 'x-bouncer-empty-enum'
const ONE = ['additionalItems', 'additionalProperties', 'contains', 'propertyNames', 'not', 'if', 'then', 'else', 'items']
const LIST = ['allOf', 'anyOf', 'oneOf', 'items']
const MAP = ['properties', 'patternProperties', 'definitions', '$defs', 'dependencies']

/** `schema` with every subschema's `enum: []` replaced (a copy only where one is found). */
function withoutEmptyEnums (schema: unknown, depth = 0): unknown {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema) || depth > 256) return schema
  const o = schema as Record<string, unknown>
  let out: Record<string, unknown> | null = null
  const put = (k: string, v: unknown): void => { if (v !== o[k]) (out ??= { ...o })[k] = v }
  if (Array.isArray(o.enum) && o.enum.length === 0) {
    out = { ...o }
    delete out.enum
    out[EMPTY_ENUM] = true
  }
  for (const k of ONE) if (k in o && !Array.isArray(o[k])) put(k, withoutEmptyEnums(o[k], depth + 1))
  for (const k of LIST) {
    const v = o[k]
    if (!Array.isArray(v)) continue
    const mapped = v.map(x => withoutEmptyEnums(x, depth + 1))
    if (mapped.some((x, i) => x !== v[i])) put(k, mapped)
  }
  for (const k of MAP) {
    const v = o[k]
    if (v === null || typeof v !== 'object' || Array.isArray(v)) continue
    const m = v as Record<string, unknown>
    let copy: Record<string, unknown> | null = null
    for (const name of Object.keys(m)) {
      const x = withoutEmptyEnums(m[name], depth + 1)
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
    // (checking the schema against the meta-schema runs uniqueItems too)
    try { result = ajv.compile(withoutEmptyEnums(s) as object) } finally { interned.reset() }
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
  let valid: boolean
  try { valid = v(doc) === true } finally { interned.reset() }
  if (valid) return [true, []]
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
