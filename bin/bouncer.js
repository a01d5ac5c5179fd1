#!/usr/bin/env node
// The `bouncer` executable: runs the JavaScript that `npm install` / `npm run build` compiled
// into dist/ (tsc, with source maps so stack traces and profiles name the TypeScript lines).
import { existsSync } from 'node:fs'

// package.json says node >= 24; on an older Node some checks fail in ways that say nothing
// about why (JSON.isRawJSON, RegExp.escape are missing): refuse plainly instead.
const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  process.stderr.write(`bouncer: Node.js 24 or later is required (this is ${process.version})\n`)
  process.exit(2)
}

const entry = new URL('../dist/cli/index.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('bouncer: dist/ is missing; run `npm run build` (npm install does it)\n')
  process.exit(2)
}
process.setSourceMapsEnabled(true)
// `run` starts without growing V8's young generation (see src/app/memory.ts); the app lets it
// grow again once it listens.
if (process.argv[2] === 'run') (await import(new URL('../dist/app/memory.js', import.meta.url).href)).holdYoungGeneration()
const { main } = await import(entry.href)
let code
try {
  code = await main(process.argv.slice(2))
} catch (e) {
  process.stderr.write(`bouncer: ${e && e.stack ? e.stack : String(e)}\n`)
  code = 1
}
process.exitCode = code
// Commands close what they own before returning; a leftover handle must not keep the process
// up (stdout still drains: the timer only fires if something else is keeping the loop alive).
setTimeout(() => process.exit(code), 2000).unref()
