#!/usr/bin/env node
// The `bouncer` executable. We ship TypeScript sources: tsx's ESM loader runs them directly.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/index.ts')
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
