// Tiny argv parser shared by the CLI commands: repeated flags, `--flag value`, `--flag=value`.
export interface ParsedArgs { positional: string[]; flags: Map<string, string[]> }

export function parseArgs (argv: string[], booleans: ReadonlySet<string> = new Set()): ParsedArgs {
  const positional: string[] = []
  const flags = new Map<string, string[]>()
  const put = (k: string, v: string): void => { flags.set(k, [...(flags.get(k) ?? []), v]) }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') { positional.push(...argv.slice(i + 1)); break }
    if (a.startsWith('-') && a.length > 1) {
      const eq = a.indexOf('=')
      const name = a.replace(/^-+/, '').split('=')[0]
      if (eq >= 0) put(name, a.slice(eq + 1))
      else if (booleans.has(name)) put(name, 'true')
      else if (i + 1 < argv.length) put(name, argv[++i])
      else throw new Error(`flag ${a} needs a value`)
    } else positional.push(a)
  }
  return { positional, flags }
}

export function flag (p: ParsedArgs, ...names: string[]): string | undefined {
  for (const n of names) { const v = p.flags.get(n); if (v !== undefined) return v[v.length - 1] }
  return undefined
}

export function flags (p: ParsedArgs, ...names: string[]): string[] {
  return names.flatMap(n => p.flags.get(n) ?? [])
}

/** Prints a command's failure (every diagnostic for compile errors) and returns exit code 1. */
export function reportFailure (e: unknown, formatDiagnostic: (d: import('../compiler/diagnostics.js').Diagnostic) => string): number {
  const diagnostics = (e as { diagnostics?: Array<import('../compiler/diagnostics.js').Diagnostic> }).diagnostics
  if (e instanceof Error && e.name === 'CompileError' && diagnostics !== undefined) {
    for (const d of diagnostics) console.error(formatDiagnostic(d))
    console.error(`${diagnostics.length} error(s)`)
    return 1
  }
  console.error(`error: ${(e as Error).message}`)
  return 1
}
