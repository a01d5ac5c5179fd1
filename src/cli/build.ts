// bouncer build <paths...> -e <entrypoint> [-e ...] [-o bundle.tar.gz] [--revision R]
//   [--signing-key FILE --signing-alg RS256 [--signing-key-id ID] [--scope S]] [--timings] [--v0-compatible]
import { readFile, writeFile } from 'node:fs/promises'
import { compileBundle } from '../compiler/bundle/index.js'
import { formatDiagnostic } from '../compiler/diagnostics.js'
import { SIGNING_ALGORITHMS, type SignOptions } from '../bundle/index.js'
import { bool, type CommandSpec, diagnosticsOf, EXIT_ERROR, EXIT_FAILURE, EXIT_OK, parseOrExit, printFailure, str, strs, usageError } from './args.js'

export const spec: CommandSpec = {
  name: 'build',
  summary: 'Compile Rego files and data into an OPA bundle (.tar.gz) with policy.wasm.',
  usage: '<paths...> -e <entrypoint> [flags]',
  description: 'Paths are .rego files, data.json/data.yaml files or directories of them. Every entrypoint\n' +
    '(a rule or package path, e.g. bouncer/decision) becomes a Wasm entrypoint of the bundle.\n' +
    'Exit status: 0 built, 1 the policy has errors, 2 usage or I/O error.',
  flags: {
    entrypoint: { type: 'string', short: 'e', multiple: true, arg: 'PATH', help: 'entrypoint to compile (required)' },
    output: { type: 'string', short: 'o', arg: 'FILE', help: 'bundle to write', default: 'bundle.tar.gz' },
    revision: { type: 'string', short: 'r', arg: 'REV', help: 'revision recorded in the manifest' },
    'signing-key': { type: 'string', arg: 'FILE', help: 'sign the bundle with this key (PEM, or the secret for HS*)' },
    'signing-alg': { type: 'string', arg: 'ALG', help: 'signing algorithm', choices: SIGNING_ALGORITHMS, default: 'RS256' },
    'signing-key-id': { type: 'string', arg: 'ID', help: 'key id written in the signature (kid)' },
    scope: { type: 'string', arg: 'SCOPE', help: 'scope written in the signature' },
    'v0-compatible': { type: 'boolean', help: 'parse the sources as Rego v0 (as opa build --v0-compatible)' },
    timings: { type: 'boolean', help: 'print the time of each compiler stage' },
  },
  positionals: { min: 1 },
}

export async function main (argv: string[]): Promise<number> {
  const a = parseOrExit(spec, argv)
  if (typeof a === 'number') return a
  const entrypoints = strs(a.values, 'entrypoint')
  if (entrypoints.length === 0) return usageError(spec, 'at least one entrypoint (-e) is required')
  const out = str(a.values, 'output') ?? 'bundle.tar.gz'
  let sign: SignOptions | undefined
  const keyFile = str(a.values, 'signing-key')
  if (keyFile !== undefined) {
    let key: string
    try { key = await readFile(keyFile, 'utf8') } catch (e) {
      process.stderr.write(`error: cannot read signing key ${keyFile}: ${(e as Error).message}\n`)
      return EXIT_ERROR
    }
    sign = { key, alg: (str(a.values, 'signing-alg') ?? 'RS256') as SignOptions['alg'], keyId: str(a.values, 'signing-key-id'), scope: str(a.values, 'scope') }
  }
  const t0 = performance.now()
  try {
    const b = await compileBundle({
      paths: a.positionals,
      entrypoints,
      revision: str(a.values, 'revision'),
      sign,
      ...(bool(a.values, 'v0-compatible') ? { regoVersion: 0 as const } : {}),
    })
    await writeFile(out, b.tarGz)
    const ms = performance.now() - t0
    process.stdout.write(`wrote ${out} (${b.tarGz.length} bytes, entrypoints: ${b.entrypoints.join(', ')}) in ${ms.toFixed(0)} ms\n`)
    if (bool(a.values, 'timings')) for (const [k, v] of Object.entries(b.timings)) process.stdout.write(`  ${k}: ${v.toFixed(1)} ms\n`)
    return EXIT_OK
  } catch (e) {
    printFailure(e, formatDiagnostic)
    return diagnosticsOf(e) !== null ? EXIT_FAILURE : EXIT_ERROR
  }
}
