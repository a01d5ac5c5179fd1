// Locates the precompiled runtime (build/runtime.wasm, built by scripts/build-runtime.mjs)
// relative to the package root, and caches its bytes for the process.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bouncerError } from '../../errors.js'

let root: string | undefined
let cachedWasm: Uint8Array | undefined

/** The directory holding Bouncer's package.json. */
export function packageRoot (): string {
  if (root !== undefined) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'bouncer') return (root = dir)
      } catch { /* keep looking */ }
    }
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot locate the bouncer package root from ' + fileURLToPath(import.meta.url))
    dir = up
  }
}

export function runtimeWasmPath (): string {
  return join(packageRoot(), 'build', 'runtime.wasm')
}

export function runtimeMetaPath (): string {
  return join(packageRoot(), 'build', 'runtime.json')
}

/** The runtime module's bytes (read once). Throws BOUNCER_ERR_COMPILER_RUNTIME_MISSING. */
export function readRuntimeWasm (): Uint8Array {
  if (cachedWasm !== undefined) return cachedWasm
  const p = runtimeWasmPath()
  if (!existsSync(p)) throw bouncerError('BOUNCER_ERR_COMPILER_RUNTIME_MISSING', p)
  cachedWasm = new Uint8Array(readFileSync(p))
  return cachedWasm
}

/** Forget the cached bytes (after a rebuild in the same process, e.g. in tests). */
export function clearRuntimeCache (): void {
  cachedWasm = undefined
}
