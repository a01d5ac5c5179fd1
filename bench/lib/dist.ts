// The benchmarks measure the bouncer as production runs it: the compiled dist/ (bin/bouncer.js),
// not src/ through tsx. tsx's esbuild wraps every named closure in a __name() call (keepNames),
// an Object.defineProperty per closure the request path makes.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { ROOT_DIR } from './procs.js'

let compiled = false

/** dist/ as today's src/ (incremental tsc), once per benchmark process. */
export function compileDistOnce (log: (line: string) => void): void {
  if (compiled) return
  compiled = true
  log('compiling dist/ (tsc -p tsconfig.build.json)')
  const tsc = spawnSync(process.execPath, [join(ROOT_DIR, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT_DIR, 'tsconfig.build.json')], { cwd: ROOT_DIR, encoding: 'utf8' })
  if (tsc.status !== 0) log(`  tsc exited ${tsc.status}: dist/ emitted with type errors (npm run typecheck):\n${(tsc.stdout + tsc.stderr).split('\n').slice(0, 5).join('\n')}`)
}
