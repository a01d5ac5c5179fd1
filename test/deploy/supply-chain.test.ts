// npm run sbom / npm run security-gate: each check of the gate against inputs that must pass
// and inputs that must fail, the real scripts run end to end (with a local fake registry for
// the audit endpoint), and the wiring into package.json and CI.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import * as gate from '../../scripts/security-gate.mjs'
import type { CycloneDxBom } from '../../scripts/sbom.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string>
}

function tmp (t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function run (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? root, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

async function closedPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as { port: number }
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

type GateJson = { ok: boolean; results: Array<{ check: string; status: string; detail: string }> }
const auditOf = (out: string) => (JSON.parse(out) as GateJson).results.find((r) => r.check === 'audit')!

t.test('package.json and CI wire both scripts', async (t) => {
  t.equal(pkg.scripts.sbom, 'node scripts/sbom.mjs')
  t.equal(pkg.scripts['security-gate'], 'node scripts/security-gate.mjs')
  const ci = readFileSync(join(root, '.ci/run'), 'utf8')
  t.match(ci, /npm run --silent security-gate/, 'CI runs the security gate')
  t.match(ci, /npm run --silent sbom/, 'CI writes the SBOM')
})

t.test('audit outcome classification', async (t) => {
  // What npm 11 prints when the registry answers the bulk advisory POST with 405 (seen here).
  const r405 = gate.classifyAudit({
    code: 1,
    stdout: JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk', method: 'POST', statusCode: 405, body: '', error: { summary: '', detail: '' } }),
    stderr: 'npm error audit endpoint returned an error',
  })
  t.equal(r405.status, 'unavailable')
  t.match(r405.detail, /405/)
  const refused = gate.classifyAudit({
    code: 1,
    stdout: JSON.stringify({ message: 'request to http://127.0.0.1:9/-/npm/v1/security/advisories/bulk failed, reason: connect ECONNREFUSED 127.0.0.1:9', error: { summary: '', detail: '' } }),
    stderr: '',
  })
  t.equal(refused.status, 'unavailable')
  t.equal(gate.classifyAudit({ code: 1, stdout: '', stderr: 'npm error code EAI_AGAIN\nnpm error getaddrinfo EAI_AGAIN registry.npmjs.org' }).status, 'unavailable')
  t.equal(gate.classifyAudit({ code: null, stdout: '', stderr: '', timedOut: true }).status, 'unavailable')

  const report = (counts: Record<string, number>, vulns: Record<string, unknown> = {}) => JSON.stringify({
    auditReportVersion: 2, vulnerabilities: vulns, metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts, total: 0 } },
  })
  t.equal(gate.classifyAudit({ code: 0, stdout: report({}), stderr: '' }).status, 'pass')
  t.equal(gate.classifyAudit({ code: 0, stdout: report({ moderate: 3, low: 1 }), stderr: '' }).status, 'pass', 'below high passes')
  const high = gate.classifyAudit({ code: 1, stdout: report({ critical: 1 }, { 'left-pad': { name: 'left-pad', severity: 'critical', range: '<1.3.0' } }), stderr: '' })
  t.equal(high.status, 'fail')
  t.match(high.detail, /left-pad \(critical, <1\.3\.0\)/)
  // An error that is not about reaching the endpoint must fail, not be waved through.
  const other = gate.classifyAudit({ code: 1, stdout: '', stderr: 'npm error code ENOLOCK\nnpm error audit This command requires an existing lockfile.' })
  t.equal(other.status, 'fail')
})

t.test('security-gate script, audit endpoint unreachable: passes and says "audit unavailable"', async (t) => {
  const port = await closedPort()
  const env = { npm_config_registry: `http://127.0.0.1:${port}/`, npm_config_fetch_retries: '0', SECURITY_GATE_REQUIRE_AUDIT: '' }
  const res = await run(process.execPath, ['scripts/security-gate.mjs'], { env })
  t.match(res.stdout, /WARN audit +audit unavailable: .*ECONNREFUSED/)
  const json = await run(process.execPath, ['scripts/security-gate.mjs', '--json'], { env })
  t.equal(auditOf(json.stdout).status, 'warn')
  t.equal(json.code, (JSON.parse(json.stdout) as GateJson).ok ? 0 : 1, 'exit status follows the overall result')
  t.notOk((JSON.parse(json.stdout) as GateJson).results.some((r) => r.check === 'audit' && r.status === 'fail'))

  const strict = await run(process.execPath, ['scripts/security-gate.mjs', '--json', '--require-audit'], { env })
  t.equal(auditOf(strict.stdout).status, 'fail', '--require-audit turns "unavailable" into a failure')
  t.equal(strict.code, 1)
})

t.test('security-gate script, a high advisory against a production dependency fails the gate', async (t) => {
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body = Buffer.concat(chunks)
      try { body = gunzipSync(body) } catch {}
      requests.push(`${req.method} ${req.url}`)
      if (req.method === 'POST' && req.url?.includes('/-/npm/v1/security/advisories/bulk')) {
        const asked = JSON.parse(body.toString()) as Record<string, string[]>
        res.setHeader('content-type', 'application/json')
        // `yaml` is a production dependency (also used by tap: the case npm's --omit=dev trips on)
        res.end(JSON.stringify(asked.yaml
          ? { yaml: [{ id: 990001, url: 'https://example.invalid/advisories/990001', title: 'test advisory', severity: 'high', vulnerable_versions: '>=0.0.0', cwe: [], cvss: { score: 7.5, vectorString: null } }] }
          : {}))
        return
      }
      res.statusCode = 404
      res.end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const { port } = server.address() as { port: number }
  const res = await run(process.execPath, ['scripts/security-gate.mjs', '--json'], { env: { npm_config_registry: `http://127.0.0.1:${port}/` } })
  t.ok(requests.some((r) => r.startsWith('POST') && r.includes('advisories/bulk')), 'npm asked the (fake) registry')
  const audit = auditOf(res.stdout)
  t.equal(audit.status, 'fail')
  t.match(audit.detail, /\byaml \(high/)
  t.equal(res.code, 1)
})

t.test('lockfile check', async (t) => {
  const dir = tmp(t, 'gate-lock-')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', version: '1.0.0', dependencies: { a: '^1.0.0' } }))
  t.match(gate.checkLockfile(dir), { ok: false, detail: /missing/ })
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 1, dependencies: {} }))
  t.match(gate.checkLockfile(dir), { ok: false, detail: /too old/ })
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { a: '^2.0.0' } } } }))
  t.match(gate.checkLockfile(dir), { ok: false, detail: /dependencies\.a: package\.json \^1\.0\.0 vs lockfile \^2\.0\.0/ })
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { a: '^1.0.0' } } } }))
  t.match(gate.checkLockfile(dir), { ok: true })
  t.match(gate.checkLockfile(root), { ok: true }, 'the repository lockfile is in sync')
})

t.test('secret scanner over the files git would commit', async (t) => {
  const dir = tmp(t, 'gate-secrets-')
  execFileSync('git', ['init', '-q'], { cwd: dir })
  const pem = ['-----BEGIN ' + 'RSA PRIVATE KEY-----', 'MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu', '-----END ' + 'RSA PRIVATE KEY-----'].join('\n')
  const files: Record<string, string> = {
    'src/ok.ts': 'export const x = 1\n',
    'config/key.pem': pem + '\n',
    'src/aws.ts': `const id = '${'AKIA' + 'IOSFODNN7EXAMPLE'}'\n`,
    'src/gh.ts': `const token = "${'ghp_' + 'a'.repeat(36)}"\n`,
    'docs/example.md': `token: ${'ghp_' + 'b'.repeat(36)} <!-- ${gate.SECRET_ALLOW_MARKER}: documentation example -->\n`,
    'test/fixtures/generated/tls/server.key': pem + '\n',
    '.env': 'DB_PASSWORD=hunter2\n',
    '.env.example': 'DB_PASSWORD=\n',
    'ignored/secret.pem': pem + '\n',
  }
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true })
    writeFileSync(join(dir, f), text)
  }
  writeFileSync(join(dir, '.gitignore'), 'ignored/\n')
  execFileSync('git', ['add', 'src/ok.ts', 'config/key.pem'], { cwd: dir }) // staged and untracked both count
  const listed = gate.listRepoFiles(dir)
  t.ok(listed.includes('src/aws.ts') && listed.includes('config/key.pem'), 'tracked and untracked files are listed')
  t.notOk(listed.includes('ignored/secret.pem'), 'git-ignored files are not')
  const { findings } = gate.scanSecrets(dir)
  const got = findings.map((f) => `${f.file}:${f.line}:${f.id}`).sort()
  t.same(got, [
    '.env:0:dotenv',
    'config/key.pem:1:private-key',
    'src/aws.ts:1:aws-access-key-id',
    'src/gh.ts:1:github-token',
  ])

  const res = await run(process.execPath, [join(root, 'scripts/security-gate.mjs'), '--skip-audit'], { cwd: dir })
  t.equal(res.code, 1, 'the gate fails on them')
  t.match(res.stdout, /FAIL secrets +4 possible secret\(s\)/)
})

t.test('the scanner does not flag itself or this repository', async (t) => {
  const self = readFileSync(join(root, 'scripts/security-gate.mjs'), 'utf8')
  t.same(gate.scanText('scripts/security-gate.mjs', self), [])
  t.same(gate.scanText('test/deploy/supply-chain.test.ts', readFileSync(fileURLToPath(import.meta.url), 'utf8')), [])
})

t.test('license expressions', async (t) => {
  for (const ok of ['MIT', 'ISC', 'Apache-2.0', 'BSD-3-Clause', 'BlueOak-1.0.0', '(MIT OR GPL-3.0-or-later)', 'Apache-2.0 WITH LLVM-exception', '(MIT AND BSD-3-Clause)', 'MIT OR (GPL-2.0 AND LGPL-2.1)']) {
    t.ok(gate.expressionAllowed(ok), `${ok} allowed`)
  }
  for (const bad of ['GPL-3.0-only', 'AGPL-3.0', 'LGPL-2.1+', 'SSPL-1.0', 'BUSL-1.1', 'CC-BY-NC-4.0', 'UNLICENSED', 'UNKNOWN', 'MIT AND GPL-2.0', '(GPL-2.0 OR AGPL-3.0)']) {
    t.notOk(gate.expressionAllowed(bad), `${bad} disallowed`)
  }
})

t.test('licenses of production dependencies only, unknown fails', async (t) => {
  const dir = tmp(t, 'gate-lic-')
  writeFileSync(join(dir, 'package.json'), '{}')
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({
    lockfileVersion: 3,
    packages: {
      '': { name: 'x' },
      'node_modules/fine': { version: '1.0.0', license: 'MIT' },
      'node_modules/dual': { version: '2.0.0', license: '(MIT OR GPL-2.0)' },
      'node_modules/copyleft': { version: '3.0.0', license: 'GPL-3.0-only' },
      'node_modules/devtool': { version: '1.0.0', license: 'AGPL-3.0', dev: true },
      'node_modules/legacy': { version: '0.1.0', licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }] },
      'node_modules/mystery': { version: '0.0.1' },
    },
  }))
  const lic = gate.checkLicenses(dir)
  t.notOk(lic.ok)
  t.same(lic.disallowed.map((p) => `${p.name}@${p.version} ${p.license}`).sort(), ['copyleft@3.0.0 GPL-3.0-only', 'mystery@0.0.1 UNKNOWN'])
  t.notOk(lic.packages.some((p) => p.name === 'devtool'), 'dev dependencies are not shipped, not checked')
  t.equal(lic.packages.find((p) => p.name === 'legacy')?.license, 'MIT OR Apache-2.0')

  const real = gate.checkLicenses(root)
  t.ok(real.ok, `repository production licenses: ${JSON.stringify(real.byLicense)}`)
  for (const dep of Object.keys(pkg.dependencies)) t.ok(real.packages.some((p) => p.name === dep), `${dep} listed`)
  t.notOk(real.packages.some((p) => p.name === 'typescript'), 'devDependencies not listed')
})

t.test('npm run sbom: CycloneDX of exactly the production dependencies', async (t) => {
  const dir = tmp(t, 'sbom-')
  const out = join(dir, 'sbom.cdx.json')
  const res = await run(process.execPath, ['scripts/sbom.mjs', '--out', out])
  t.equal(res.code, 0, res.stderr)
  t.match(res.stdout, /CycloneDX 1\.\d, \d+ components \(production\)/)
  const bom = JSON.parse(readFileSync(out, 'utf8')) as CycloneDxBom
  t.equal(bom.bomFormat, 'CycloneDX')
  t.equal(bom.metadata?.component?.name, 'bouncer')
  t.equal(bom.metadata?.component?.type, 'application')
  const names = new Set(bom.components.map((c) => c.name))
  for (const dep of Object.keys(pkg.dependencies)) {
    const installed = JSON.parse(readFileSync(join(root, 'node_modules', dep, 'package.json'), 'utf8')) as { version: string }
    t.ok(bom.components.some((c) => c.name === dep && c.version === installed.version), `${dep}@${installed.version} present`)
  }
  // A dev dependency that a production package also needs (the lockfile does not mark it
  // "dev", e.g. @types/node through protobufjs) ships, so it must be listed; the rest must not.
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  for (const dev of Object.keys(pkg.devDependencies)) {
    if (lock.packages[`node_modules/${dev}`]?.dev === true) t.notOk(names.has(dev), `dev dependency ${dev} absent`)
    else t.ok(names.has(dev), `dev dependency ${dev}, also needed in production, present`)
  }
  const refs = new Set(bom.components.map((c) => c['bom-ref']))
  refs.add(bom.metadata!.component!['bom-ref'])
  t.ok((bom.dependencies ?? []).every((d) => refs.has(d.ref) && (d.dependsOn ?? []).every((x) => refs.has(x))), 'dependency graph only names listed components')
  t.ok(bom.components.every((c) => (c.licenses ?? []).length > 0), 'every component carries license data')
})

t.test('runtime check: an end-of-life or unknown Node.js in engines or the base image fails the gate', async (t) => {
  const mk = (engines: string, image: string): string => {
    const dir = tmp(t, 'gate-runtime-')
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', engines: { node: engines } }))
    writeFileSync(join(dir, 'Dockerfile'), `ARG NODE_IMAGE=${image}\nFROM \${NODE_IMAGE}\n`)
    return dir
  }
  const day = new Date('2026-12-03T00:00:00Z')
  const ok = gate.checkRuntime(mk('>=24', 'node:24-bookworm-slim@sha256:' + 'a'.repeat(64)), day)
  t.ok(ok.ok, ok.detail)
  t.match(ok.detail, /Node\.js 24 \(supported until 2028-04-30\)/)
  const old = gate.checkRuntime(mk('>=20.18', 'node:20-bookworm-slim'), day)
  t.notOk(old.ok)
  t.match(old.detail, /package\.json engines\.node: Node\.js 20 reached end of life on 2026-04-30/)
  t.match(old.detail, /Dockerfile NODE_IMAGE: Node\.js 20 reached end of life on 2026-04-30/)
  t.match(gate.checkRuntime(mk('^22.12 || >=24', 'node:24-slim'), day).detail, /Node\.js 22 \(supported until 2027-04-30\)/, 'the lowest major an engines range admits counts')
  t.notOk(gate.checkRuntime(mk('^22.12 || >=24', 'node:24-slim'), new Date('2027-05-01T00:00:00Z')).ok, 'and fails once that major is past its end of life')
  t.match(gate.checkRuntime(mk('>=99', 'node:24-slim'), day).detail, /Node\.js 99 is not in scripts\/node-eol\.json/)
  t.ok(gate.checkRuntime(root, day).ok, 'this repository passes today')
  const res = await run(process.execPath, [join(root, 'scripts/security-gate.mjs'), '--skip-audit'], { cwd: mk('>=20', 'node:20-slim') })
  t.equal(res.code, 1)
  t.match(res.stdout, /FAIL runtime +end-of-life or unknown runtime/)
})
