// print(...) as OPA compiles it (its RewritePrintCalls stage): every argument becomes the set of
// its values, so an undefined argument is the empty set (printed as <undefined>) and never
// fails the body, and the call becomes internal.print([set1, set2, ...]), which always
// succeeds. The host prints one line per combination of the sets' elements, separated by
// spaces (src/policy/builtins/misc.ts).
//
// Each value is formatted in the runtime before it reaches the host (the host only sees JSON,
// where a set and an array look the same): strings bare, anything else in Rego's own syntax
// ({1, 2} for a set, set() for an empty one, a number as written), as OPA's print does. The
// formatter is internal.template_string's, which prints a part exactly so.
//
// With print statements disabled (CompileOptions.printStatements = false, as OPA's compiler
// without EnablePrintStatements) the calls are removed: the plan has no trace of them.
import type { Expr, Term } from '../ast/index.js'

/** `print(...)` as an expression statement (not negated). */
export function isPrintStatement (e: Expr): e is Expr & { kind: { type: 'term'; term: Extract<Term, { type: 'call' }> } } {
  return !e.negated && e.kind.type === 'term' && e.kind.term.type === 'call' && e.kind.term.name === 'print'
}

/** The internal.print call a print statement becomes. `fresh` gives unused variable names. */
export function rewritePrint (e: Expr & { kind: { type: 'term'; term: Extract<Term, { type: 'call' }> } }, fresh: () => string): Expr {
  const call = e.kind.term
  const loc = call.loc
  const v = (name: string): Term => ({ type: 'var', name, loc })
  const sets: Term[] = call.args.map(arg => {
    const value = fresh()
    const text = fresh()
    return {
      type: 'setcompr',
      term: v(text),
      body: [
        { loc: arg.loc, negated: false, with: [], kind: { type: 'assign', left: v(value), right: arg } },
        {
          loc: arg.loc,
          negated: false,
          with: [],
          kind: {
            type: 'assign',
            left: v(text),
            // a template-string part of one value: strings bare, anything else as its term's
            // String() (a number as written: 2.0, 1e2), as OPA's print formats each operand
            right: { type: 'call', name: 'internal.template_string', args: [{ type: 'array', items: [{ type: 'set', items: [v(value)], loc }], loc }], loc },
          },
        },
      ],
      loc: arg.loc,
    }
  })
  return {
    ...e,
    kind: { type: 'term', term: { type: 'call', name: 'internal.print', args: [{ type: 'array', items: sets, loc }], loc } },
  }
}
