// bouncer eval -d <path> [-d ...] [-i input.json] '<query>'
// Prints the result set as JSON in `opa eval`'s shape: {"result": [{"expressions": [...], "bindings": {...}}]}.
import { readFile } from 'node:fs/promises'
import { CompileError, compileModules, formatDiagnostic, loadSources } from '../compiler/index.js'
import { loadCompiledPolicy } from '../compiler/load.js'
import { parseQuery } from '../compiler/parser/index.js'
import { flag, flags, parseArgs, reportFailure } from './args.js'

const EXPR_VAR = '__bouncer_expr__'

export async function evalQuery (paths: string[], query: string, input: unknown): Promise<unknown> {
  const { modules, data } = paths.length > 0 ? await loadSources(paths) : { modules: [], data: {} }
  const parsed = parseQuery(query, '<query>')
  if (parsed.body === null) throw new CompileError(parsed.diagnostics)
  // A single-expression query that is not itself a unification reports its value, like opa eval.
  const single = parsed.body.length === 1 && parsed.body[0].kind.type === 'term' && !parsed.body[0].negated && parsed.body[0].with.length === 0
  const text = single ? `${EXPR_VAR} = ${query}` : query
  const compiled = compileModules({ modules, entrypoints: [], query: text })
  const policy = await loadCompiledPolicy(compiled)
  policy.setData(data)
  const rs = policy.evaluate(input, '$query') as Array<{ result: Array<Record<string, unknown>> }>
  const rows = rs.length === 0 ? [] : rs[0].result
  return {
    result: rows.map(row => {
      const bindings: Record<string, unknown> = { ...row }
      const value = single ? bindings[EXPR_VAR] : true
      delete bindings[EXPR_VAR]
      const out: Record<string, unknown> = { expressions: [{ value, text: query, location: { row: 1, col: 1 } }] }
      if (Object.keys(bindings).length > 0) out.bindings = bindings
      return out
    }),
  }
}

export async function main (argv: string[]): Promise<number> {
  const a = parseArgs(argv)
  const query = a.positional[0]
  if (query === undefined) {
    console.error("usage: bouncer eval -d <path> [-d ...] [-i input.json] '<query>'")
    return 2
  }
  const inputFile = flag(a, 'i', 'input')
  let input: unknown
  if (inputFile !== undefined) {
    try { input = JSON.parse(await readFile(inputFile, 'utf8')) } catch (e) {
      console.error(`error: cannot read input ${inputFile}: ${(e as Error).message}`)
      return 1
    }
  }
  try {
    const out = await evalQuery(flags(a, 'd', 'data'), query, input)
    console.log(JSON.stringify(out, null, 2))
    return 0
  } catch (e) {
    return reportFailure(e, formatDiagnostic)
  }
}
