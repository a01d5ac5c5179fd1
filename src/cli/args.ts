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
