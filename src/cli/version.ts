// bouncer version [--format pretty|json]
// What this bouncer is: its version (package.json), the git commit it was built from
// (build/build-info.json, written by `npm run build`; "unknown" when built outside a git
// checkout), the OPA Wasm ABI version of the policy runtime (build/runtime.json), Node.js.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot, runtimeMetaPath } from '../compiler/wasm/runtime-files.js'
import { type CommandSpec, EXIT_OK, parseOrExit, str } from './args.js'

export const spec: CommandSpec = {
  name: 'version',
  summary: 'Print the version of Bouncer, the commit it was built from, the policy runtime\'s Wasm ABI and Node.js.',
  usage: '[flags]',
  flags: {
    format: { type: 'string', short: 'f', arg: 'FORMAT', help: 'output format', choices: ['pretty', 'json'], default: 'pretty' },
  },
  positionals: { min: 0, max: 0 },
}

export interface VersionInfo {
  version: string
  commit: string
  build_timestamp: string
  runtime_abi_version: string
  runtime_sha256: string
  node_version: string
  platform: string
  rego_version: string
}

function readJson (file: string): Record<string, unknown> | null {
  try {
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> : null
  } catch {
    return null
  }
}

export function versionInfo (): VersionInfo {
  const root = packageRoot()
  const pkg = readJson(join(root, 'package.json')) ?? {}
  const build = readJson(join(root, 'build', 'build-info.json')) ?? {}
  const runtime = readJson(runtimeMetaPath()) ?? {}
  const text = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : 'unknown')
  const commit = text(build.commit)
  return {
    version: text(pkg.version),
    commit: commit !== 'unknown' && build.dirty === true ? `${commit}-dirty` : commit,
    build_timestamp: text(build.built_at),
    runtime_abi_version: text(runtime.abiVersion),
    runtime_sha256: text(runtime.sha256),
    node_version: process.version,
    platform: `${process.platform}/${process.arch}`,
    rego_version: 'v1 (v0 with --v0-compatible)',
  }
}

export async function main (argv: string[]): Promise<number> {
  const a = parseOrExit(spec, argv)
  if (typeof a === 'number') return a
  const v = versionInfo()
  if (str(a.values, 'format') === 'json') {
    process.stdout.write(JSON.stringify(v, null, 2) + '\n')
    return EXIT_OK
  }
  process.stdout.write([
    `Version: ${v.version}`,
    `Build Commit: ${v.commit}`,
    `Build Timestamp: ${v.build_timestamp}`,
    `Runtime ABI: ${v.runtime_abi_version}`,
    `Runtime SHA-256: ${v.runtime_sha256}`,
    `Node Version: ${v.node_version}`,
    `Platform: ${v.platform}`,
    `Rego Version: ${v.rego_version}`,
  ].join('\n') + '\n')
  return EXIT_OK
}
