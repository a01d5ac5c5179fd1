#!/usr/bin/env node
// Writes a CycloneDX SBOM of what the container image ships to build/sbom.cdx.json
// (`npm run sbom`). The runtime image installs production dependencies only, so the SBOM lists
// those. It is `npm sbom --sbom-format cyclonedx` with these corrections and a completeness check:
//   - dev-only packages are dropped here, using package-lock.json's `dev` flags, rather than
//     with `--omit=dev`: npm 10/11 also drops production packages that a dev dependency shares
//     (npm/cli#7909), e.g. `yaml`, which tap uses too
//   - metadata.component is named after package.json (npm uses the directory name) and typed
//     "application" (it is deployed, not imported)
//   - every production package in package-lock.json that npm installed must appear as a
//     component, or the script fails (an SBOM that silently misses packages is worse than none)
// Options: --include-dev (describe the build environment too), --out <file>.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

export function npmCommand () {
  return process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)
    ? [process.execPath, [process.env.npm_execpath]]
    : ['npm', []]
}

export function generateSbom (root, { includeDev = false } = {}) {
  const args = ['sbom', '--sbom-format', 'cyclonedx', '--sbom-type', 'application']
  // Without node_modules (e.g. a fresh checkout) describe the lockfile instead.
  if (!existsSync(join(root, 'node_modules'))) args.push('--package-lock-only')
  const [cmd, pre] = npmCommand()
  const r = spawnSync(cmd, [...pre, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  if (r.status !== 0) {
    throw new Error(`npm ${args.join(' ')} failed (exit ${r.status}):\n${(r.stderr || r.stdout || '').trim()}`)
  }
  const bom = JSON.parse(r.stdout)
  if (!includeDev) {
    const prod = productionKeys(root)
    const keep = (ref) => prod.has(ref)
    bom.components = (bom.components ?? []).filter((c) => keep(`${c.name}@${c.version}`))
    const refs = new Set(bom.components.map((c) => c['bom-ref']))
    if (bom.metadata?.component) refs.add(bom.metadata.component['bom-ref'])
    if (Array.isArray(bom.dependencies)) {
      bom.dependencies = bom.dependencies
        .filter((d) => refs.has(d.ref))
        .map((d) => (d.dependsOn ? { ...d, dependsOn: d.dependsOn.filter((x) => refs.has(x)) } : d))
    }
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  if (bom.metadata?.component) {
    bom.metadata.component.name = pkg.name
    bom.metadata.component.type = 'application'
  }
  return bom
}

/** `name@version` of every package package-lock.json does not mark as dev-only. */
export function productionKeys (root) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
  const keys = new Set()
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path || entry.link || entry.dev) continue
    keys.add(`${entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${entry.version}`)
  }
  return keys
}

/** Production packages that are installed (lockfile entries present in node_modules) but absent from the SBOM. */
export function missingComponents (root, bom, { includeDev = false } = {}) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
  const have = new Set((bom.components ?? []).map((c) => `${c.group ? c.group + '/' : ''}${c.name}@${c.version}`))
  const haveNames = new Set((bom.components ?? []).map((c) => `${c.name}@${c.version}`))
  const lockOnly = !existsSync(join(root, 'node_modules'))
  const missing = []
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path || entry.link || (entry.dev && !includeDev)) continue
    if (!lockOnly && !existsSync(join(root, path, 'package.json'))) continue // optional, not for this platform
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
    const key = `${name}@${entry.version}`
    if (!have.has(key) && !haveNames.has(key)) missing.push(key)
  }
  return [...new Set(missing)]
}

async function main (argv) {
  let out = 'build/sbom.cdx.json'
  let includeDev = false
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--include-dev') includeDev = true
    else if (argv[i] === '--out') out = argv[++i]
    else { console.error(`unknown option ${argv[i]}\nusage: sbom [--include-dev] [--out file]`); return 2 }
  }
  const root = process.cwd()
  const bom = generateSbom(root, { includeDev })
  if (bom.bomFormat !== 'CycloneDX' || !Array.isArray(bom.components) || bom.components.length === 0) {
    console.error('sbom: npm produced no CycloneDX components')
    return 1
  }
  const missing = missingComponents(root, bom, { includeDev })
  if (missing.length) {
    console.error(`sbom: ${missing.length} installed production package(s) missing from the SBOM: ${missing.join(', ')}`)
    return 1
  }
  const file = resolve(root, out)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(bom, null, 2) + '\n')
  const noLicense = bom.components.filter((c) => !c.licenses?.length).map((c) => `${c.name}@${c.version}`)
  console.log(`sbom: CycloneDX ${bom.specVersion}, ${bom.components.length} components${includeDev ? ' (including dev)' : ' (production)'} -> ${out}`)
  if (noLicense.length) console.log(`sbom: components without license data: ${noLicense.join(', ')}`)
  return 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err) => { console.error(`sbom: ${err.message}`); process.exitCode = 1 })
}
