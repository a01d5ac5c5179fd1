// Micro-benchmark: compiling policies/ (Rego → Wasm, as `bouncer build` does) in a fresh
// process: the first compile (cold: the compiler's code is not JIT-compiled yet) and the
// median of the following ones.
//   node --import tsx bench/micro/compile.ts [--quick]   → BENCH {"type":"result",...}
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { ROOT_DIR } from '../lib/procs.js'
import { median } from '../lib/timing.js'
import { send } from '../servers/child.js'

const runs = process.argv.includes('--quick') ? 3 : 9

async function main (): Promise<void> {
  const { compileBundle } = await import('../../src/compiler/bundle/index.js')
  const opts = { paths: [join(ROOT_DIR, 'policies')], entrypoints: ['bouncer/decision'] }
  const times: number[] = []
  let wasmBytes = 0
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now()
    const b = await compileBundle(opts)
    times.push(performance.now() - t0)
    wasmBytes = b.wasm.length
  }
  send('result', { compile_cold_ms: times[0], compile_ms: median(times.slice(1)), wasm_bytes: wasmBytes })
}

main().catch((e: Error) => { send('error', { message: e.stack ?? e.message }); process.exit(1) })
