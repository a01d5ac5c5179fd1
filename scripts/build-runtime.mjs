#!/usr/bin/env node
// Builds the precompiled policy runtime: src/compiler/runtime/assembly/** (AssemblyScript)
// -> build/runtime.wasm, plus build/runtime.json (source hash and the memory layout the
// linker relies on). Runs in postinstall and CI; skips the build when the hash of the
// inputs (sources, this script, asc version) matches the last build. `--force` rebuilds.
//
// Usable as a module too: `await buildRuntime({ force, quiet })` returns the runtime.json
// contents.
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync, readdirSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const SRC_DIR = join(ROOT, 'src/compiler/runtime/assembly')
const OUT_DIR = join(ROOT, 'build')
const WASM_OUT = join(OUT_DIR, 'runtime.wasm')
const META_OUT = join(OUT_DIR, 'runtime.json')

// The runtime file is installed as asc's "stub" runtime (see rt.ts for why).
const ASC_ARGS = [
  'src/compiler/runtime/assembly/index.ts',
  '--runtime', 'stub',
  '--importMemory',
  '--use', 'abort=src/compiler/runtime/assembly/abi-host/runtimeAbort',
  '-O3', '--noAssert',
  '--outFile', 'build/runtime.wasm',
]

function listSources (dir) {
  const out = []
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name)
    if (ent.isDirectory()) out.push(...listSources(p))
    else if (ent.name.endsWith('.ts')) out.push(p)
  }
  return out.sort()
}

async function ascVersion () {
  try {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules/assemblyscript/package.json'), 'utf8'))
    return pkg.version
  } catch { return null }
}

function inputHash (version) {
  const h = createHash('sha256')
  h.update(`asc ${version}\n${ASC_ARGS.join(' ')}\n`)
  h.update(readFileSync(fileURLToPath(import.meta.url)))
  for (const f of listSources(SRC_DIR)) {
    h.update(relative(ROOT, f) + '\0')
    h.update(readFileSync(f))
    h.update('\0')
  }
  return h.digest('hex')
}

// --- minimal wasm reader (layout facts for runtime.json) ---------------------------

function readU32 (buf, pos) {
  let result = 0, shift = 0, b
  do { b = buf[pos++]; result |= (b & 0x7f) << shift; shift += 7 } while (b & 0x80)
  return [result >>> 0, pos]
}
function readS32 (buf, pos) {
  let result = 0, shift = 0, b
  do { b = buf[pos++]; result |= (b & 0x7f) << shift; shift += 7 } while (b & 0x80)
  if (shift < 32 && (b & 0x40)) result |= (~0 << shift)
  return [result | 0, pos]
}

export function wasmLayout (bytes) {
  const sections = new Map()
  let pos = 8
  while (pos < bytes.length) {
    const id = bytes[pos++]
    let size; [size, pos] = readU32(bytes, pos)
    if (id !== 0) sections.set(id, { start: pos, end: pos + size })
    pos += size
  }
  const layout = { staticEnd: 0, dataSegments: 0, hasDataCount: sections.has(12), memoryMinPages: null, planInfo: null, globals: {} }
  // imported memory limits
  const imp = sections.get(2)
  if (imp) {
    let p = imp.start, n; [n, p] = readU32(bytes, p)
    for (let i = 0; i < n; i++) {
      let len; [len, p] = readU32(bytes, p); p += len
      ;[len, p] = readU32(bytes, p); p += len
      const kind = bytes[p++]
      if (kind === 0) { [, p] = readU32(bytes, p) } else if (kind === 1) { p++; const f = bytes[p++]; [, p] = readU32(bytes, p); if (f & 1) [, p] = readU32(bytes, p) } else if (kind === 2) { const f = bytes[p++]; let min; [min, p] = readU32(bytes, p); layout.memoryMinPages = min; if (f & 1) [, p] = readU32(bytes, p) } else if (kind === 3) { p += 2 }
    }
  }
  // globals (i32.const initialisers) and exports
  const globalInits = []
  const importedGlobals = 0
  const gs = sections.get(6)
  if (gs) {
    let p = gs.start, n; [n, p] = readU32(bytes, p)
    for (let i = 0; i < n; i++) {
      p += 2 // valtype, mut
      let v = null
      if (bytes[p] === 0x41) { p++; [v, p] = readS32(bytes, p) } else { while (bytes[p] !== 0x0b) p++ }
      p++ // end
      globalInits.push(v)
    }
  }
  const ex = sections.get(7)
  if (ex) {
    let p = ex.start, n; [n, p] = readU32(bytes, p)
    for (let i = 0; i < n; i++) {
      let len; [len, p] = readU32(bytes, p)
      const name = new TextDecoder().decode(bytes.subarray(p, p + len)); p += len
      const kind = bytes[p++]
      let idx; [idx, p] = readU32(bytes, p)
      if (kind === 3) layout.globals[name] = globalInits[idx - importedGlobals]
    }
  }
  layout.planInfo = layout.globals.__bouncer_plan_info ?? null
  const ds = sections.get(11)
  if (ds) {
    let p = ds.start, n; [n, p] = readU32(bytes, p)
    layout.dataSegments = n
    for (let i = 0; i < n; i++) {
      let flags; [flags, p] = readU32(bytes, p)
      let offset = null
      if (flags === 2) [, p] = readU32(bytes, p)
      if (flags === 0 || flags === 2) {
        if (bytes[p] !== 0x41) throw new Error('runtime.wasm: unsupported data segment offset expression')
        p++; [offset, p] = readS32(bytes, p)
        if (bytes[p++] !== 0x0b) throw new Error('runtime.wasm: unsupported data segment offset expression')
      }
      let len; [len, p] = readU32(bytes, p); p += len
      if (offset !== null) layout.staticEnd = Math.max(layout.staticEnd, offset + len)
    }
  }
  return layout
}

// --- build ----------------------------------------------------------------------------

export async function buildRuntime ({ force = false, quiet = false } = {}) {
  const log = quiet ? () => {} : (m) => process.stderr.write(m + '\n')
  const version = await ascVersion()
  if (version === null) {
    if (existsSync(WASM_OUT) && existsSync(META_OUT)) {
      log('build-runtime: assemblyscript is not installed; keeping the existing build/runtime.wasm')
      return JSON.parse(readFileSync(META_OUT, 'utf8'))
    }
    throw new Error('build-runtime: assemblyscript is not installed and build/runtime.wasm is missing')
  }
  const hash = inputHash(version)
  if (!force && existsSync(WASM_OUT) && existsSync(META_OUT)) {
    try {
      const meta = JSON.parse(readFileSync(META_OUT, 'utf8'))
      if (meta.hash === hash && statSync(WASM_OUT).size === meta.size) {
        log('build-runtime: up to date')
        return meta
      }
    } catch { /* rebuild */ }
  }
  const t0 = performance.now()
  const asc = await import(pathToFileURL(join(ROOT, 'node_modules/assemblyscript/dist/asc.js')).href)
  asc.libraryFiles['rt/index-stub'] = 'import "./bouncer";\n'
  asc.libraryFiles['rt/bouncer'] = readFileSync(join(SRC_DIR, 'rt.ts'), 'utf8')
  const outputs = {}
  const stderr = asc.createMemoryStream()
  const stdout = asc.createMemoryStream()
  const { error } = await asc.main([...ASC_ARGS, '--baseDir', ROOT], {
    stdout,
    stderr,
    writeFile: (name, contents) => { outputs[name] = contents },
  })
  if (error) {
    throw new Error(`build-runtime: asc failed: ${error.message}\n${stderr.toString()}`)
  }
  const wasm = outputs['build/runtime.wasm']
  if (!wasm) throw new Error('build-runtime: asc produced no output')
  const bytes = wasm instanceof Uint8Array ? wasm : new Uint8Array(wasm)
  const layout = wasmLayout(bytes)
  if (layout.planInfo === null) throw new Error('build-runtime: runtime.wasm does not export __bouncer_plan_info')
  const meta = {
    hash,
    ascVersion: version,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    planInfoAddr: layout.planInfo,
    staticEnd: layout.staticEnd,
    memoryMinPages: layout.memoryMinPages,
    dataSegments: layout.dataSegments,
    hasDataCount: layout.hasDataCount,
    buildMs: Math.round(performance.now() - t0),
  }
  mkdirSync(OUT_DIR, { recursive: true })
  const tmp = `${WASM_OUT}.${process.pid}.tmp`
  writeFileSync(tmp, bytes)
  renameSync(tmp, WASM_OUT)
  const tmpMeta = `${META_OUT}.${process.pid}.tmp`
  writeFileSync(tmpMeta, JSON.stringify(meta, null, 2) + '\n')
  renameSync(tmpMeta, META_OUT)
  const warnings = stderr.toString().trim()
  if (warnings) log(warnings)
  log(`build-runtime: built build/runtime.wasm (${bytes.length} bytes) in ${meta.buildMs} ms`)
  return meta
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildRuntime({ force: process.argv.includes('--force') }).catch((err) => {
    process.stderr.write(String(err && err.message ? err.message : err) + '\n')
    process.exit(1)
  })
}
