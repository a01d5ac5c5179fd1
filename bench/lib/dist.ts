// The benchmarks measure the bouncer as production runs it: the compiled dist/ (bin/bouncer.js),
// not src/ through tsx. tsx's esbuild wraps every named closure in a __name() call (keepNames),
// an Object.defineProperty per closure the request path makes.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { ROOT_DIR } from './procs.js'

let compiled = false

/** dist/ as today's src/ (incremental tsc), and build/ as today's AssemblyScript (the policy
 * runtime and the masking walk; skipped when their sources' hashes match), once per benchmark
 * process. A build/json-scan.wasm of another interface makes the masker fall back to its
 * JavaScript scanner, which is 2-3x slower: a bench that did not rebuild it measured that. */
export function compileDistOnce (log: (line: string) => void): void {
  if (compiled) return
  compiled = true
  log('building build/ (node scripts/build-runtime.mjs; up to date is a no-op)')
  const rt = spawnSync(process.execPath, [join(ROOT_DIR, 'scripts/build-runtime.mjs')], { cwd: ROOT_DIR, encoding: 'utf8' })
  if (rt.status !== 0) log(`  build-runtime exited ${rt.status}:\n${(rt.stdout + rt.stderr).split('\n').slice(0, 5).join('\n')}`)
  log('compiling dist/ (tsc -p tsconfig.build.json)')
  const tsc = spawnSync(process.execPath, [join(ROOT_DIR, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT_DIR, 'tsconfig.build.json')], { cwd: ROOT_DIR, encoding: 'utf8' })
  if (tsc.status !== 0) log(`  tsc exited ${tsc.status}: dist/ emitted with type errors (npm run typecheck):\n${(tsc.stdout + tsc.stderr).split('\n').slice(0, 5).join('\n')}`)
}
