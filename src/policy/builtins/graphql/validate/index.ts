// Query validation as OPA's library does it: OPA uses upstream github.com/vektah/gqlparser/v2
// (v2.5.31) and its validator.Validate with the default rule set. Every rule registers its
// observers, one walk over the document fires them, and the errors come out in the order they
// were found. The walk writes what it resolves onto the document's nodes.
import { GraphQLError, type QueryDocument, type Schema } from '../types.js'
import { RULES } from './rules/index.js'
import { Events, Walker } from './walker.js'

/** The rule that found each error, for tests and diagnostics (the library keeps it too). */
export class ValidationError extends GraphQLError {
  constructor (message: string, line: number | null, column: number | null, readonly rule: string) {
    super(message, line, column)
  }
}

/**
 * The library's errors for `doc` against `schema`, in its order; empty when the query is valid.
 * Throws GqlparserPanic (schema.ts) where the library would panic (an AST from a policy missing a part it needs).
 */
export function validateQuery (schema: Schema, doc: QueryDocument): ValidationError[] {
  const errors: ValidationError[] = []
  const events = new Events()
  for (const rule of RULES) {
    rule.register(events, (message, at) => {
      errors.push(new ValidationError(message, at?.Line ?? null, at?.Column ?? null, rule.name))
    })
  }
  new Walker(schema, doc, events).walk()
  return errors
}
