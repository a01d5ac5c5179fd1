#!/usr/bin/env node
// `npm install` builds what the bouncer runs: the compiler's Wasm runtime (build/) and the
// JavaScript in dist/ (tsc). Both need dev dependencies (AssemblyScript, TypeScript); a
// production install (`npm ci --omit=dev`, as the container image does) ships them prebuilt
// and skips this step with --ignore-scripts, or lands here without TypeScript and says so.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let hasTsc = true
try { require.resolve('typescript/bin/tsc') } catch { hasTsc = false }
if (!hasTsc) {
  console.log('postinstall: TypeScript is not installed (production install): using the prebuilt dist/ and build/')
  process.exit(0)
}
const steps = [
  [process.execPath, ['scripts/build-runtime.mjs']],
  [process.execPath, ['scripts/build-info.mjs']],
  [process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']],
]
for (const [cmd, args] of steps) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
