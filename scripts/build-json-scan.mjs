#!/usr/bin/env node
// Builds the masker's JSON scanner: src/masking/assembly/json-scan.ts (AssemblyScript) ->
// build/json-scan.wasm. Run by scripts/build-runtime.mjs (postinstall, `npm run build`,
// `npm run build:runtime`); skips the build when build/json-scan.json records the hash of the
// inputs (the source, this script, the asc version). `--force` rebuilds.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const SRC = join(ROOT, 'src/masking/assembly/json-scan.ts')
const OUT = join(ROOT, 'build/json-scan.wasm')
const META = join(ROOT, 'build/json-scan.json')
// SIMD (v128) is in every Node the package supports (engines: >= 24). --debug keeps the name
// section, so CPU profiles name the functions (validate, walk, ...) instead of wasm-function[5].
const ARGS = ['--runtime', 'stub', '-O3', '--noAssert', '--enable', 'simd', '--initialMemory', '1', '--debug']

export function buildJsonScan ({ force = false, quiet = false } = {}) {
  const log = quiet ? () => {} : (m) => process.stderr.write(m + '\n')
  let version = null
  try { version = JSON.parse(readFileSync(join(ROOT, 'node_modules/assemblyscript/package.json'), 'utf8')).version } catch { /* not installed */ }
  if (version === null) {
    if (existsSync(OUT)) { log('build-json-scan: assemblyscript is not installed; keeping the existing build/json-scan.wasm'); return }
    throw new Error('build-json-scan: assemblyscript is not installed and build/json-scan.wasm is missing')
  }
  const hash = createHash('sha256').update(`asc ${version}\n${ARGS.join(' ')}\n`)
    .update(readFileSync(fileURLToPath(import.meta.url))).update(readFileSync(SRC)).digest('hex')
  if (!force && existsSync(OUT) && existsSync(META)) {
    try {
      const meta = JSON.parse(readFileSync(META, 'utf8'))
      if (meta.hash === hash && statSync(OUT).size === meta.size) { log('build-json-scan: up to date'); return }
    } catch { /* rebuild */ }
  }
  mkdirSync(dirname(OUT), { recursive: true })
  const tmp = `${OUT}.${process.pid}.tmp`
  const asc = join(ROOT, 'node_modules/assemblyscript/bin/asc.js')
  const r = spawnSync(process.execPath, [asc, SRC, ...ARGS, '--outFile', tmp], { cwd: ROOT, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`build-json-scan: asc failed (exit ${r.status}):\n${r.stderr}${r.stdout}`)
  const size = statSync(tmp).size
  renameSync(tmp, OUT)
  writeFileSync(META, JSON.stringify({ hash, ascVersion: version, size }, null, 2) + '\n')
  log(`build-json-scan: built build/json-scan.wasm (${size} bytes)`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try { buildJsonScan({ force: process.argv.includes('--force') }) } catch (err) {
    process.stderr.write(String(err && err.message ? err.message : err) + '\n')
    process.exit(1)
  }
}
