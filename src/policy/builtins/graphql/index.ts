// graphql.parse_query and graphql.parse_schema, as OPA answers them: the parsed document as OPA
// turns its library's AST into a value (the Go field names; every `Position`, null, empty
// array and empty object left out, recursively; "" and false kept), and on a syntax error
// `<message> in GraphQL string at location <line>:<column>`.
//
// The other graphql.* builtins validate a query against a schema (gqlparser's validator and its
// prelude); they are not implemented, and a policy calling them is refused at compile time.
import { builtinError, type HostBuiltin } from '../context.js'
import { str } from '../args.js'
import { GraphQLSyntaxError, QueryParser, SchemaParser } from './parser.js'

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
function syntaxError (name: string, e: GraphQLSyntaxError): Error {
  if (e.line >= 0 && e.column >= 0) return builtinError(name, `${e.message} in GraphQL string at location ${e.line}:${e.column}`)
  return builtinError(name, `GraphQL parse error: input:${e.line}:${e.column}: ${e.message}`)
}

function parsing (name: string, parse: (text: string) => Record<string, unknown>): HostBuiltin {
  return (text: unknown) => {
    const source = str(name, 1, text)
    let doc: Record<string, unknown>
    try {
      doc = parse(source)
    } catch (e) {
      if (e instanceof GraphQLSyntaxError) throw syntaxError(name, e)
      throw e
    }
    return pruneAst(doc)
  }
}

export const graphqlBuiltins: Record<string, HostBuiltin> = {
  'graphql.parse_query': parsing('graphql.parse_query', (s) => new QueryParser(s).document()),
  'graphql.parse_schema': parsing('graphql.parse_schema', (s) => new SchemaParser(s).document()),
}
