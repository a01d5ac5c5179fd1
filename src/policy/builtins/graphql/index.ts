// The graphql.* builtins, as OPA answers them.
//
// graphql.parse_query and graphql.parse_schema: the parsed document as OPA turns its library's
// AST into a value (the Go field names; every `Position`, null, empty array and empty object
// left out, recursively; "" and false kept), and on a syntax error
// `<message> in GraphQL string at location <line>:<column>`.
//
// graphql.parse, parse_and_verify, is_valid and schema_is_valid take the query and the schema as
// text or as such an AST object (OPA decodes the object into its library's structs:
// document.ts), build the schema over the library's prelude and validate it (schema.ts), then
// validate the query against it (validate/). OPA's value of each document is taken before
// validation, which annotates the query's nodes; so is ours. parse reports the first failure as
// an error; the others answer false (or [false, {}, {}]).
import { LRUCache } from 'lru-cache'
import { BuiltinError, builtinError, BuiltinHalt, type HostBuiltin } from '../context.js'
import { operandTypeError, str } from '../args.js'
import { deepFreeze } from '../../../deep-freeze.js'
import { NilElementError, queryDocumentFromObject, schemaDocumentFromObject } from './document.js'
import { GraphQLSyntaxError, QueryParser, SchemaParser } from './parser.js'
import { buildSchema, GqlparserPanic, schemaErrorText } from './schema.js'
import { GraphQLError, GraphQLLimitError, type QueryDocument, type Schema, type SchemaDocument } from './types.js'
import { validateQuery } from './validate/index.js'

/** OPA's pruning of the library's AST: no positions, no nulls, no empty collections. */
export function pruneAst (v: unknown): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = []
    for (const x of v) {
      if (x === null) continue
      const p = pruneAst(x)
      if (isEmptyCollection(p)) continue
      out.push(p)
    }
    return out
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'Position' || x === null) continue
      const p = pruneAst(x)
      if (isEmptyCollection(p)) continue
      out[k] = p
    }
    return out
  }
  return v
}

function isEmptyCollection (v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0
  return v !== null && typeof v === 'object' && Object.keys(v).length === 0
}

/**
 * OPA's wording of the library's error: a location that is not a pair of unsigned numbers (a
 * block string's column can be zero or less) falls back to the raw text.
 */
function syntaxError (e: GraphQLSyntaxError): string {
  if (e.line >= 0 && e.column >= 0) return `${e.message} in GraphQL string at location ${e.line}:${e.column}`
  return `GraphQL parse error: input:${e.line}:${e.column}: ${e.message}`
}

function parsing (name: string, parse: (text: string) => Record<string, unknown>): HostBuiltin {
  return (text: unknown) => {
    const source = str(name, 1, text)
    let doc: Record<string, unknown>
    try {
      doc = parse(source)
    } catch (e) {
      if (e instanceof GraphQLSyntaxError) throw builtinError(name, syntaxError(e))
      throw e
    }
    return pruneAst(doc)
  }
}

// --- validation --------------------------------------------------------------------------

/** A failure of the validating builtins: parse reports it as its error, the others answer false. */
class Refused extends Error {
  constructor (readonly code: 'eval_builtin_error' | 'eval_type_error', readonly reason: string) { super(reason) }
}

interface Operand<D> { doc: D; value: unknown }

/** A query or schema operand: text is parsed, an object decoded as OPA decodes it. */
function operand<D> (pos: number, v: unknown, parse: (s: string) => Record<string, unknown>, decode: (o: unknown) => D): Operand<D> {
  if (typeof v === 'string') {
    let doc: Record<string, unknown>
    try { doc = parse(v) } catch (e) {
      if (e instanceof GraphQLSyntaxError) throw new Refused('eval_builtin_error', syntaxError(e))
      throw e
    }
    return { doc: doc as unknown as D, value: pruneAst(doc) }
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    let doc: D
    try { doc = decode(v) } catch (e) {
      // A null among a list's nodes decodes in Go, and the library then dereferences it.
      if (e instanceof NilElementError) throw new GqlparserPanic(e.message)
      if (e instanceof GraphQLError) throw new Refused('eval_builtin_error', e.message)
      throw e
    }
    return { doc, value: pruneAst(doc) }
  }
  // OPA numbers these operands from 0 (its NewOperandTypeErr(0, ...) and (1, ...)).
  throw new Refused('eval_type_error', operandTypeError('', pos, v, 'string', 'object').reason)
}

/** The schema, built and validated over the prelude (OPA's convertSchema). */
function schemaOf (doc: SchemaDocument): Schema {
  try { return buildSchema(doc) } catch (e) {
    if (e instanceof GraphQLError) throw new Refused('eval_builtin_error', `Error in gqlparser SchemaDocument to Schema conversion: ${schemaErrorText(e)}`)
    throw e
  }
}

/**
 * The library's error list as OPA rewords it: the list prints one `input:<line>:<column>:
 * <message>` line per error, and OPA keeps what follows the first error's position (the other
 * errors included), less the last "." and newline, then names the first error's position.
 */
function queryErrorText (errors: readonly GraphQLError[]): string {
  const printed = errors.map((e) => (e.line === null ? `${e.file}: ` : `${e.file}:${e.line}:${e.column}: `) + e.message + '\n').join('')
  const parts = splitN(printed, ':', 4)
  if (parts.length < 4) return printed // no position to name (a decoded object's nodes have none)
  let msg = parts[3]!.replace(/^ +/, '')
  if (msg.endsWith('.\n')) msg = msg.slice(0, -2)
  return `${msg} in GraphQL query string at location ${parts[1]}:${parts[2]}`
}

/** Go's strings.SplitN. */
function splitN (s: string, sep: string, n: number): string[] {
  const out: string[] = []
  let rest = s
  while (out.length < n - 1) {
    const i = rest.indexOf(sep)
    if (i < 0) break
    out.push(rest.slice(0, i))
    rest = rest.slice(i + sep.length)
  }
  out.push(rest)
  return out
}

interface Verified { query: unknown; schema: unknown }

interface BuiltSchema { value: unknown; schema: Schema }

// Building a schema parses and checks the prelude with it (~1 ms): built schemas are kept by
// their text, frozen, and shared by every query validated against them (validation only
// annotates the query's nodes; a write to a schema node would throw).
const schemas = new LRUCache<string, BuiltSchema | Refused>({ max: 32, maxSize: 16 * 1024 * 1024, sizeCalculation: (_v, k) => 16 * k.length + 65536 })

function buildOperand (pos: number, v: unknown): BuiltSchema {
  const s = operand<SchemaDocument>(pos, v, (t) => new SchemaParser(t).document(), schemaDocumentFromObject)
  return { value: s.value, schema: schemaOf(s.doc) }
}

/** The schema operand, parsed (or decoded) and built: OPA's parseSchema then convertSchema. */
function schemaOperand (pos: number, v: unknown): BuiltSchema {
  if (typeof v !== 'string') return buildOperand(pos, v)
  let e = schemas.get(v)
  if (e === undefined) {
    try {
      const b = buildOperand(pos, v)
      e = { value: deepFreeze(b.value), schema: freezeSchema(b.schema) }
    } catch (err) {
      if (!(err instanceof Refused)) throw err
      e = err
    }
    schemas.set(v, e)
  }
  if (e instanceof Refused) throw e
  return e
}

function freezeSchema (s: Schema): Schema {
  for (const m of [s.Types, s.Directives, s.PossibleTypes, s.Implements] as Array<Map<string, unknown>>) {
    for (const v of m.values()) deepFreeze(v)
  }
  return deepFreeze(s)
}

/** Parse (or decode) both operands, build the schema, validate the query: OPA's order of failures. */
function verify (query: unknown, schema: unknown): Verified {
  const q = operand<QueryDocument>(0, query, (s) => new QueryParser(s).document(), queryDocumentFromObject)
  const s = schemaOperand(1, schema)
  let errors: GraphQLError[]
  try { errors = validateQuery(s.schema, q.doc) } catch (e) {
    if (e instanceof GraphQLLimitError) throw new Refused('eval_builtin_error', `query not validated: ${e.message}`)
    throw e
  }
  if (errors.length > 0) throw new Refused('eval_builtin_error', queryErrorText(errors))
  return { query: q.value, schema: s.value }
}

// Policies call these per request with the same schema text and a handful of distinct queries:
// the answers for text operands are kept (frozen; by the exact texts), shared by the three
// builtins that verify.
// Sizes are estimates: a parsed value takes ~16 bytes of heap per byte of query text.
const answers = new LRUCache<string, Verified | Refused>({
  max: 512,
  maxSize: 16 * 1024 * 1024, // beside the chart's 384 MiB memory limit
  sizeCalculation: (v, k) => (v instanceof Refused ? 2 * (k.length + v.reason.length) : 16 * k.length) + 1024,
})

function verifyCached (query: unknown, schema: unknown): Verified | Refused {
  const cacheable = typeof query === 'string' && typeof schema === 'string'
  const key = cacheable ? `${query.length}:${query}${schema}` : ''
  if (cacheable) {
    const hit = answers.get(key)
    if (hit !== undefined) return hit
  }
  let r: Verified | Refused
  try { r = deepFreeze(verify(query, schema)) } catch (e) {
    if (!(e instanceof Refused)) throw e
    r = e
  }
  if (cacheable) answers.set(key, r)
  return r
}

function schemaIsValid (schema: unknown): boolean {
  try {
    schemaOperand(0, schema)
    return true
  } catch (e) {
    if (e instanceof Refused) return false
    throw e
  }
}

const UNVERIFIED = Object.freeze([false, Object.freeze({}), Object.freeze({})])

/**
 * Where OPA's library would crash on a nil pointer (schemas naming a type that is nowhere, AST
 * objects with holes) OPA has no answer to give: the evaluation stops with an error whatever the
 * strict setting, so the proxy denies, rather than answering what OPA never would.
 */
function noPanic<A extends unknown[], R> (name: string, f: (...args: A) => R): (...args: A) => R {
  return (...args: A) => {
    try { return f(...args) } catch (e) {
      if (e instanceof GqlparserPanic) throw new BuiltinHalt(`${name}: OPA's GraphQL library fails on this input (${e.message}); no answer`)
      throw e
    }
  }
}

export const graphqlBuiltins: Record<string, HostBuiltin> = {
  'graphql.parse_query': parsing('graphql.parse_query', (s) => new QueryParser(s).document()),
  'graphql.parse_schema': parsing('graphql.parse_schema', (s) => new SchemaParser(s).document()),
  'graphql.parse': noPanic('graphql.parse', (query: unknown, schema: unknown) => {
    const r = verifyCached(query, schema)
    if (r instanceof Refused) throw new BuiltinError(r.code, 'graphql.parse', r.reason)
    return [r.query, r.schema]
  }),
  'graphql.parse_and_verify': noPanic('graphql.parse_and_verify', (query: unknown, schema: unknown) => {
    const r = verifyCached(query, schema)
    return r instanceof Refused ? UNVERIFIED : [true, r.query, r.schema]
  }),
  'graphql.is_valid': noPanic('graphql.is_valid', (query: unknown, schema: unknown) => !(verifyCached(query, schema) instanceof Refused)),
  'graphql.schema_is_valid': noPanic('graphql.schema_is_valid', (schema: unknown) => schemaIsValid(schema)),
}
