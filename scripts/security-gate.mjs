#!/usr/bin/env node
// Supply-chain gate run by CI (`npm run security-gate`). Five checks, one report:
//   runtime   the Node.js major that package.json engines allows at the lowest, and the one of
//             the Dockerfile's base image, are not past end of life (dated table:
//             scripts/node-eol.json); an unknown major fails too
//   lockfile  package-lock.json exists, is v2+, and matches package.json's dependency ranges
//   audit     `npm audit --omit=dev --audit-level=high`; an unreachable audit endpoint is
//             reported as "audit unavailable" and does not fail the gate (unless
//             --require-audit / SECURITY_GATE_REQUIRE_AUDIT=1, for release pipelines)
//   secrets   files that would be committed (`git ls-files --cached --others
//             --exclude-standard`) scanned for private keys and well-known token formats
//   licenses  licenses of production dependencies listed; a disallowed or unknown license fails
//
// Usage: node scripts/security-gate.mjs [--require-audit] [--skip-audit] [--json]
// Exit status: 0 pass (warnings allowed), 1 a check failed, 2 usage error.
// The functions are exported so the tests can exercise each classification directly.
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

// ---------------------------------------------------------------------------------------
// lockfile

/** @returns {{ ok: boolean, detail: string }} */
export function checkLockfile (root) {
  const lockPath = join(root, 'package-lock.json')
  if (!existsSync(lockPath)) return { ok: false, detail: 'package-lock.json is missing; run `npm install` and commit it' }
  let lock, pkg
  try {
    lock = JSON.parse(readFileSync(lockPath, 'utf8'))
    pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  } catch (err) {
    return { ok: false, detail: `cannot parse package.json / package-lock.json: ${err.message}` }
  }
  if (!(lock.lockfileVersion >= 2)) return { ok: false, detail: `lockfileVersion ${lock.lockfileVersion} is too old; need 2 or 3` }
  const rootEntry = lock.packages?.[''] ?? {}
  const drift = []
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const want = pkg[field] ?? {}
    const have = rootEntry[field] ?? {}
    for (const name of new Set([...Object.keys(want), ...Object.keys(have)])) {
      if (want[name] !== have[name]) drift.push(`${field}.${name}: package.json ${want[name] ?? '(absent)'} vs lockfile ${have[name] ?? '(absent)'}`)
    }
  }
  if (drift.length) return { ok: false, detail: `package-lock.json is out of sync with package.json (run \`npm install\`):\n  ${drift.join('\n  ')}` }
  return { ok: true, detail: `package-lock.json v${lock.lockfileVersion}, in sync with package.json` }
}

// ---------------------------------------------------------------------------------------
// npm audit

// Errors that mean "we could not ask", as opposed to "we asked and the answer is bad".
const UNAVAILABLE_PATTERNS = [
  /audit endpoint returned an error/i,
  /\bE(NOTFOUND|CONNREFUSED|CONNRESET|TIMEDOUT|AI_AGAIN|HOSTUNREACH|NETUNREACH|PIPE)\b/,
  /\bsocket hang up\b/i,
  /\bnetwork\b.*\b(timeout|offline|unreachable)\b/i,
  /\b(40[0-9]|41[0-9]|5\d\d) [A-Z][A-Za-z ]+ - (GET|POST) https?:\/\/\S+\/-\/npm\/v1\/security\//,
  /\/-\/npm\/v1\/security\/\S* failed, reason:/,
  /\bself[- ]signed certificate\b|\bunable to (get|verify) .*certificate\b|\bCERT_/i,
]

/**
 * Classify the outcome of `npm audit --json`.
 * @returns {{ status: 'pass' | 'fail' | 'unavailable', detail: string, counts?: Record<string, number> }}
 */
export function classifyAudit ({ code, stdout, stderr, timedOut = false }) {
  if (timedOut) return { status: 'unavailable', detail: 'npm audit timed out' }
  let report
  try { report = JSON.parse(stdout) } catch { report = undefined }
  const counts = report?.metadata?.vulnerabilities
  if (counts && typeof counts === 'object') {
    const high = (counts.high ?? 0) + (counts.critical ?? 0)
    const summary = Object.entries(counts).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v}`).join(', ')
    if (high > 0) {
      const names = Object.values(report.vulnerabilities ?? {})
        .filter((v) => v.severity === 'high' || v.severity === 'critical')
        .map((v) => `${v.name} (${v.severity}${v.range ? `, ${v.range}` : ''})`)
      return { status: 'fail', detail: `${high} high/critical production vulnerabilities: ${names.join('; ')} [${summary}]`, counts }
    }
    return { status: 'pass', detail: `no high/critical production vulnerabilities [${summary}]`, counts }
  }
  const text = [report?.message, report?.error?.summary, report?.error?.detail, stderr, stdout].filter(Boolean).join('\n')
  if (report?.statusCode !== undefined || UNAVAILABLE_PATTERNS.some((re) => re.test(text))) {
    const reason = (report?.message ?? text.split('\n').find((l) => UNAVAILABLE_PATTERNS.some((re) => re.test(l))) ?? 'unknown').trim()
    return { status: 'unavailable', detail: reason }
  }
  if (code === 0) return { status: 'pass', detail: 'npm audit reported nothing' }
  return { status: 'fail', detail: `npm audit failed (exit ${code}): ${text.trim().slice(0, 2000)}` }
}

export function runAudit (root, { timeoutMs = 120_000 } = {}) {
  return new Promise((resolvePromise) => {
    const npm = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)
      ? [process.execPath, [process.env.npm_execpath]]
      : ['npm', []]
    const child = spawn(npm[0], [...npm[1], 'audit', '--omit=dev', '--audit-level=high', '--json'], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' },
    })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.on('error', (err) => { clearTimeout(timer); resolvePromise({ status: 'unavailable', detail: `cannot run npm: ${err.message}` }) })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise(classifyAudit({ code, stdout, stderr, timedOut }))
    })
  })
}

// ---------------------------------------------------------------------------------------
// committed secrets

// Built from pieces so this file does not match its own patterns.
const BEGIN = '-----' + 'BEGIN '
export const SECRET_PATTERNS = [
  { id: 'private-key', re: new RegExp(BEGIN + '((RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----') },
  { id: 'aws-access-key-id', re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { id: 'github-token', re: /\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b/ },
  { id: 'gitlab-token', re: /\bglpat-[A-Za-z0-9_-]{20,}\b/ },
  { id: 'slack-token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/ },
  { id: 'slack-webhook', re: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+/ },
  { id: 'npm-token', re: /\bnpm_[A-Za-z0-9]{36}\b/ },
  { id: 'npmrc-auth', re: /_auth(Token)?\s*=\s*(?!\$\{)[^\s"']{8,}/ },
  { id: 'google-api-key', re: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { id: 'stripe-live-key', re: /\b[rs]k_live_[0-9a-zA-Z]{24,}\b/ },
  { id: 'jwt', re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}/ },
]
// Binary key stores and credential files are flagged by name: their content cannot be grepped.
export const SECRET_FILENAMES = [
  { id: 'keystore', re: /\.(p12|pfx|jks|keystore)$/i },
  { id: 'ssh-private-key', re: /(^|\/)id_(rsa|dsa|ecdsa|ed25519)$/ },
  { id: 'dotenv', re: /(^|\/)\.env(\.[^/]*)?$/ },
]
// Paths where tests write keys and tokens they generate at run time (never committed on
// purpose; listed so a developer's working tree does not fail the gate). Keep this short.
export const SECRET_PATH_ALLOWLIST = [
  /^test\/fixtures\/(.*\/)?generated\//,
  /^test\/.*\.generated\.[a-z]+$/,
  /^\.tap\//,
  /^build\//,
]
// A line containing this marker is skipped: use it for documentation examples, and say why.
export const SECRET_ALLOW_MARKER = 'security-gate: allow-secret'
const SCAN_LIMIT_BYTES = 2 * 1024 * 1024

export function listRepoFiles (root) {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, maxBuffer: 64 * 1024 * 1024 })
  return out.toString('utf8').split('\0').filter(Boolean)
}

/** Scan one file's text; returns findings {file, line, id}. */
export function scanText (file, text) {
  const findings = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line.includes(SECRET_ALLOW_MARKER)) continue
    for (const { id, re } of SECRET_PATTERNS) {
      if (re.test(line)) findings.push({ file, line: i + 1, id })
    }
  }
  return findings
}

export function scanSecrets (root, files = listRepoFiles(root)) {
  const findings = []
  let scanned = 0
  for (const file of files) {
    if (SECRET_PATH_ALLOWLIST.some((re) => re.test(file))) continue
    const named = SECRET_FILENAMES.find(({ re }) => re.test(file))
    if (named && !/\.example$|\.sample$/.test(file)) { findings.push({ file, line: 0, id: named.id }); continue }
    const abs = join(root, file)
    let st
    try { st = statSync(abs) } catch { continue } // deleted in the working tree
    if (!st.isFile() || st.size > SCAN_LIMIT_BYTES) continue
    const buf = readFileSync(abs)
    if (buf.subarray(0, 8000).includes(0)) continue // binary
    scanned++
    findings.push(...scanText(file, buf.toString('utf8')))
  }
  return { scanned, findings }
}

// ---------------------------------------------------------------------------------------
// licenses

// Licenses we will not ship in the image: strong copyleft, network copyleft, source-available
// and non-commercial terms. Anything not recognisable as a license also fails (UNKNOWN).
export const DISALLOWED_LICENSES = [
  /^A?GPL-/i, /^LGPL-/i, /^SSPL-/i, /^BUSL-/i, /^CC-BY-(NC|ND|SA)/i, /^OSL-/i, /^EUPL-/i,
  /^CPAL-/i, /^RPL-/i, /^Sleepycat$/i, /^UNLICENSED$/i, /Commons[- ]Clause/i, /^UNKNOWN$/i,
]

export function licenseAllowed (id) {
  return !DISALLOWED_LICENSES.some((re) => re.test(id))
}

/** Evaluate an SPDX expression: OR needs one allowed side, AND needs both. */
export function expressionAllowed (expr) {
  const tokens = String(expr).replace(/[()]/g, ' $& ').split(/\s+/).filter(Boolean)
  let pos = 0
  const parseOr = () => {
    let v = parseAnd()
    while (tokens[pos] && tokens[pos].toUpperCase() === 'OR') { pos++; const r = parseAnd(); v = v || r }
    return v
  }
  const parseAnd = () => {
    let v = parseAtom()
    while (tokens[pos] && tokens[pos].toUpperCase() === 'AND') { pos++; const r = parseAtom(); v = v && r }
    return v
  }
  const parseAtom = () => {
    const t = tokens[pos++]
    if (t === undefined) return false
    if (t === '(') { const v = parseOr(); pos++; return v }
    // "X WITH exception": the exception does not change the base license's standing
    if (tokens[pos] && tokens[pos].toUpperCase() === 'WITH') pos += 2
    return licenseAllowed(t.replace(/\+$/, ''))
  }
  const v = parseOr()
  return v && pos >= tokens.length
}

function normaliseLicense (entry) {
  let lic = entry?.license ?? entry?.licenses
  if (Array.isArray(lic)) lic = lic.map((l) => (typeof l === 'string' ? l : l?.type)).filter(Boolean).join(' OR ')
  else if (lic && typeof lic === 'object') lic = lic.type
  return typeof lic === 'string' && lic.trim() ? lic.trim() : 'UNKNOWN'
}

/** Production packages from the lockfile with their license (lockfile first, then node_modules). */
export function productionLicenses (root) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
  const seen = new Map()
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path || entry.dev || entry.link) continue
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
    let license = normaliseLicense(entry)
    if (license === 'UNKNOWN') {
      try { license = normaliseLicense(JSON.parse(readFileSync(join(root, path, 'package.json'), 'utf8'))) } catch {}
    }
    const key = `${name}@${entry.version}`
    if (!seen.has(key)) seen.set(key, { name, version: entry.version, license, optional: Boolean(entry.optional) })
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name))
}

export function checkLicenses (root) {
  const pkgs = productionLicenses(root)
  const byLicense = new Map()
  for (const p of pkgs) byLicense.set(p.license, (byLicense.get(p.license) ?? 0) + 1)
  const bad = pkgs.filter((p) => !expressionAllowed(p.license))
  return { ok: bad.length === 0, packages: pkgs, byLicense: Object.fromEntries([...byLicense].sort((a, b) => b[1] - a[1])), disallowed: bad }
}

// ---------------------------------------------------------------------------------------
// runtime end of life

/** Lowest Node major an engines range admits (">=24", "^22.12 || >=24", "24.x" ...). */
export function lowestMajor (range) {
  const majors = [...String(range).matchAll(/(\d+)(?:\.\d+|\.x)*/g)].map((m) => Number(m[1]))
  return majors.length ? Math.min(...majors) : undefined
}

/** Node major of the Dockerfile's default NODE_IMAGE (node:24-bookworm-slim@sha256:...). */
export function dockerNodeMajor (dockerfile) {
  const m = /^ARG NODE_IMAGE=node:(\d+)/m.exec(dockerfile)
  return m ? Number(m[1]) : undefined
}

export function checkRuntime (root, today = new Date()) {
  const table = JSON.parse(readFileSync(new URL('./node-eol.json', import.meta.url), 'utf8')).eol
  if (!existsSync(join(root, 'package.json'))) return { ok: true, skipped: true, detail: 'no package.json' }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const seen = [['package.json engines.node', lowestMajor(pkg.engines?.node)]]
  if (existsSync(join(root, 'Dockerfile'))) seen.push(['Dockerfile NODE_IMAGE', dockerNodeMajor(readFileSync(join(root, 'Dockerfile'), 'utf8'))])
  const problems = []
  const lines = []
  const day = today.toISOString().slice(0, 10)
  for (const [where, major] of seen) {
    if (major === undefined) { problems.push(`${where}: no Node.js major found`); continue }
    const eol = table[String(major)]
    if (eol === undefined) problems.push(`${where}: Node.js ${major} is not in scripts/node-eol.json`)
    else if (eol <= day) problems.push(`${where}: Node.js ${major} reached end of life on ${eol}`)
    else lines.push(`${where}: Node.js ${major} (supported until ${eol})`)
  }
  return problems.length ? { ok: false, detail: `end-of-life or unknown runtime:\n  ${problems.join('\n  ')}` } : { ok: true, detail: lines.join('; ') }
}

// ---------------------------------------------------------------------------------------
// main

export async function runGate (root, { requireAudit = false, skipAudit = false } = {}) {
  const results = []
  const runtime = checkRuntime(root)
  results.push({ check: 'runtime', status: runtime.skipped ? 'skipped' : runtime.ok ? 'pass' : 'fail', detail: runtime.detail })
  const lockfile = checkLockfile(root)
  results.push({ check: 'lockfile', status: lockfile.ok ? 'pass' : 'fail', detail: lockfile.detail })

  if (skipAudit) results.push({ check: 'audit', status: 'skipped', detail: '--skip-audit given' })
  else if (!lockfile.ok) results.push({ check: 'audit', status: 'skipped', detail: 'needs a valid lockfile' })
  else {
    const audit = await runAudit(root)
    if (audit.status === 'unavailable') {
      results.push({ check: 'audit', status: requireAudit ? 'fail' : 'warn', detail: `audit unavailable: ${audit.detail}` })
    } else results.push({ check: 'audit', status: audit.status, detail: audit.detail })
  }

  let secrets
  try {
    secrets = scanSecrets(root)
    const detail = secrets.findings.length
      ? `${secrets.findings.length} possible secret(s) in files that would be committed:\n  ` +
        secrets.findings.map((f) => `${f.file}${f.line ? `:${f.line}` : ''} (${f.id})`).join('\n  ') +
        `\n  remove them, or for a deliberate example add the marker "${SECRET_ALLOW_MARKER}" on that line`
      : `${secrets.scanned} files scanned, no private keys or tokens found`
    results.push({ check: 'secrets', status: secrets.findings.length ? 'fail' : 'pass', detail })
  } catch (err) {
    results.push({ check: 'secrets', status: 'fail', detail: `cannot list files with git: ${err.message}` })
  }

  if (existsSync(join(root, 'package-lock.json'))) {
    const lic = checkLicenses(root)
    const table = Object.entries(lic.byLicense).map(([l, n]) => `${l} ${n}`).join(', ')
    const detail = lic.ok
      ? `${lic.packages.length} production packages: ${table}`
      : `disallowed or unknown licenses:\n  ${lic.disallowed.map((p) => `${p.name}@${p.version} ${p.license}`).join('\n  ')}\n  (all: ${table})`
    results.push({ check: 'licenses', status: lic.ok ? 'pass' : 'fail', detail, packages: lic.packages })
  } else results.push({ check: 'licenses', status: 'skipped', detail: 'no lockfile' })

  return { ok: results.every((r) => r.status !== 'fail'), results }
}

async function main (argv) {
  const flags = new Set(argv)
  for (const f of flags) {
    if (!['--require-audit', '--skip-audit', '--json', '--list-licenses'].includes(f)) {
      console.error(`unknown option ${f}\nusage: security-gate [--require-audit] [--skip-audit] [--json] [--list-licenses]`)
      return 2
    }
  }
  const root = resolve(process.cwd())
  const { ok, results } = await runGate(root, {
    requireAudit: flags.has('--require-audit') || process.env.SECURITY_GATE_REQUIRE_AUDIT === '1',
    skipAudit: flags.has('--skip-audit'),
  })
  if (flags.has('--json')) {
    console.log(JSON.stringify({ ok, results }, null, 2))
    return ok ? 0 : 1
  }
  const mark = { pass: 'ok  ', warn: 'WARN', fail: 'FAIL', skipped: 'skip' }
  for (const r of results) {
    console.log(`${mark[r.status]} ${r.check.padEnd(8)} ${r.detail}`)
    if (r.check === 'licenses' && flags.has('--list-licenses')) {
      for (const p of r.packages ?? []) console.log(`       ${p.name}@${p.version} ${p.license}${p.optional ? ' (optional)' : ''}`)
    }
  }
  console.log(ok ? 'security-gate: passed' : 'security-gate: FAILED')
  return ok ? 0 : 1
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err) => { console.error(err); process.exitCode = 1 })
}
