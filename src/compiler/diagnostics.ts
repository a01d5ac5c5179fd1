// Compiler diagnostics: user mistakes in Rego are collected here (never thrown), each with
// a stable code, a one-line reason and a source location. Codes follow OPA's names so that
// conformance cases expecting e.g. rego_type_error can be compared directly.
import type { Loc } from './ast/index.js'

export type DiagnosticCode =
  | 'rego_parse_error'
  | 'rego_compile_error'
  | 'rego_type_error'
  | 'rego_unsafe_var_error'
  | 'rego_recursion_error'
  | 'rego_unsupported_error'

export interface Diagnostic {
  code: DiagnosticCode
  message: string
  loc: Loc
  /** further lines of explanation (OPA's error details: have/want of a type error), each
   *  printed on its own line, indented by a tab */
  details?: string[]
}

export class Diagnostics {
  readonly list: Diagnostic[] = []
  add (code: DiagnosticCode, message: string, loc: Loc): void {
    this.list.push({ code, message, loc })
  }

  get hasErrors (): boolean { return this.list.length > 0 }
}

export function formatDiagnostic (d: Diagnostic): string {
  const details = d.details === undefined ? '' : d.details.map(l => '\n\t' + l).join('')
  return `${d.loc.file}:${d.loc.line}:${d.loc.col}: ${d.code}: ${d.message}${details}`
}

/** Thrown by the compiler's public entry points when diagnostics were collected. */
export class CompileError extends Error {
  readonly diagnostics: Diagnostic[]
  constructor (diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'))
    this.name = 'CompileError'
    this.diagnostics = diagnostics
  }
}
