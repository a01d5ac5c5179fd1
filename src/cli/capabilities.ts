// bouncer capabilities
// Prints what this Bouncer compiles, in OPA's capabilities JSON shape (as `opa capabilities
// --current`): the builtins (with their types, infix spellings and flags), future keywords,
// the Wasm ABI versions of the modules it writes and the language features. The file can be
// given to tools that check policies against a capabilities file (e.g. opa check
// --capabilities, Regal) to find what Bouncer cannot run before deploying.
import type { RegoType } from '../compiler/builtins.js'
import { capabilities } from '../compiler/capabilities.js'
import { typeJson } from '../compiler/checker/types.js'
import { type CommandSpec, EXIT_OK, parseOrExit } from './args.js'

export const spec: CommandSpec = {
  name: 'capabilities',
  summary: 'Print the builtins and language features Bouncer supports, as OPA\'s capabilities JSON.',
  usage: '',
  flags: {},
  positionals: { min: 0, max: 0 },
}

export async function main (argv: string[]): Promise<number> {
  const a = parseOrExit(spec, argv)
  if (typeof a === 'number') return a
  const caps = capabilities()
  // types in OPA's canonical form: union members sorted, keys in the order OPA writes them
  const builtins = caps.builtins.map(b => {
    const decl: Record<string, unknown> = {}
    if (b.decl.args !== undefined) decl.args = b.decl.args.map((t: RegoType) => typeJson(t))
    if (b.decl.result !== undefined) decl.result = typeJson(b.decl.result)
    decl.type = 'function'
    if (b.decl.variadic !== undefined) decl.variadic = typeJson(b.decl.variadic)
    return { ...b, decl }
  })
  process.stdout.write(JSON.stringify({ ...caps, builtins }, null, 2) + '\n')
  return EXIT_OK
}
