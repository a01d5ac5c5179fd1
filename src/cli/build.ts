// bouncer build <paths...> -e <entrypoint> [-e ...] [-o bundle.tar.gz] [--revision R]
//   [--signing-key FILE --signing-alg RS256 [--signing-key-id ID] [--scope S]] [--timings]
import { readFile, writeFile } from 'node:fs/promises'
import { compileBundle } from '../compiler/bundle/index.js'
import { formatDiagnostic } from '../compiler/diagnostics.js'
import type { SignOptions } from '../policy/bundle/signatures.js'
import { flag, flags, parseArgs, reportFailure } from './args.js'

export async function main (argv: string[]): Promise<number> {
  const a = parseArgs(argv, new Set(['timings']))
  const entrypoints = flags(a, 'e', 'entrypoint')
  if (a.positional.length === 0 || entrypoints.length === 0) {
    console.error('usage: bouncer build <paths...> -e <entrypoint> [-e ...] [-o bundle.tar.gz] [--revision R] [--signing-key FILE --signing-alg ALG [--signing-key-id ID] [--scope S]]')
    return 2
  }
  const out = flag(a, 'o', 'output') ?? 'bundle.tar.gz'
  let sign: SignOptions | undefined
  const keyFile = flag(a, 'signing-key')
  if (keyFile !== undefined) {
    const alg = (flag(a, 'signing-alg') ?? 'RS256') as SignOptions['alg']
    sign = { key: await readFile(keyFile, 'utf8'), alg, keyId: flag(a, 'signing-key-id'), scope: flag(a, 'scope') }
  }
  const t0 = performance.now()
  try {
    const b = await compileBundle({ paths: a.positional, entrypoints, revision: flag(a, 'revision'), sign })
    await writeFile(out, b.tarGz)
    const ms = performance.now() - t0
    console.log(`wrote ${out} (${b.tarGz.length} bytes, entrypoints: ${b.entrypoints.join(', ')}) in ${ms.toFixed(0)} ms`)
    if (a.flags.has('timings')) for (const [k, v] of Object.entries(b.timings)) console.log(`  ${k}: ${v.toFixed(1)} ms`)
    return 0
  } catch (e) {
    return reportFailure(e, formatDiagnostic)
  }
}
