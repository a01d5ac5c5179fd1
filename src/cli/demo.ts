// `npm start` / `bouncer demo`: a small JSON upstream plus the bouncer in front of it with the
// policy in policies/ (RBAC, tenant isolation, PII masking), JWT auth with a key generated on
// the spot, and ready-to-paste curl commands for an allowed, a denied and a masked call. Its
// decision log (a spool delivered to a JSON-lines file, in a temporary directory removed when
// the demo stops) is there to try verify-log, evidence and replay on.
//   bouncer demo [--port 8080] [--admin-port 9090] [--upstream-port 0]
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { buildApp, createConfig } from '../index.js'
import { type CommandSpec, parseOrExit, str, usageError } from './args.js'

const CUSTOMERS: Record<string, Array<Record<string, unknown>>> = {
  acme: [
    { id: '1', name: 'Ada Lovelace', email: 'ada@acme.test', ssn: '123-45-6789', card: '4111111111111111', birth_date: '1815-12-10', plan: 'gold' },
    { id: '2', name: 'Alan Turing', email: 'alan@acme.test', ssn: '987-65-4321', card: '5500000000000004', birth_date: '1912-06-23', plan: 'silver' },
  ],
  globex: [
    { id: '3', name: 'Hank Scorpio', email: 'hank@globex.test', ssn: '555-12-3456', card: '340000000000009', birth_date: '1960-01-01', plan: 'platinum' },
  ],
}

function upstreamHandler (req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://upstream')
  const tenant = String(req.headers['x-bouncer-tenant'] ?? req.headers['x-tenant'] ?? 'acme')
  const send = (status: number, body: unknown) => {
    const text = JSON.stringify(body, null, 2) + '\n'
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }
  req.resume()
  const parts = url.pathname.split('/').filter(Boolean)
  if (url.pathname === '/health') return send(200, { status: 'ok' })
  if (parts[0] === 'v1' && parts[1] === 'products') return send(200, { products: [{ id: 'p1', name: 'Anvil', price: 10 }, { id: 'p2', name: 'Rocket skates', price: 99 }] })
  if (parts[0] === 'v1' && parts[1] === 'customers') {
    const list = CUSTOMERS[tenant] ?? []
    if (parts.length === 2 && req.method === 'POST') return send(201, { created: true })
    if (parts.length === 2) return send(200, { tenant, customers: list })
    const one = list.find((c) => c.id === parts[2])
    return one ? send(200, one) : send(404, { error: 'not found' })
  }
  if (parts[0] === 'v1' && parts[1] === 'orders') return send(200, { tenant, orders: [{ id: 'o1', customer: '1', total: 42 }] })
  send(404, { error: 'not found' })
}

export const spec: CommandSpec = {
  name: 'demo',
  summary: 'Run a demo: a JSON upstream behind the bouncer with the policies in policies/ (RBAC,\ntenant isolation, PII masking), JWT auth with a key made on the spot, and curl commands to try.',
  usage: '[flags]',
  flags: {
    port: { type: 'string', arg: 'N', help: 'proxy port (0 = any free port)', default: '8080' },
    'admin-port': { type: 'string', arg: 'N', help: 'admin port (health, metrics)', default: '9090' },
    'upstream-port': { type: 'string', arg: 'N', help: 'demo upstream port', default: '0' },
  },
  positionals: { min: 0, max: 0 },
}

export async function main (argv: string[]): Promise<number> {
  const a = parseOrExit(spec, argv)
  if (typeof a === 'number') return a
  const ports: number[] = []
  for (const name of ['port', 'admin-port', 'upstream-port']) {
    const n = Number(str(a.values, name))
    if (!Number.isInteger(n) || n < 0 || n > 65535) return usageError(spec, `--${name}: want a port number, got ${JSON.stringify(str(a.values, name))}`)
    ports.push(n)
  }
  const [port, adminPort, upstreamPort] = ports
  const policies = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../policies')

  const upstream = createServer(upstreamHandler)
  await new Promise<void>((resolve) => upstream.listen(upstreamPort, '127.0.0.1', () => resolve()))
  const up = upstream.address() as AddressInfo

  // The decision log: the spool, delivered to a file sink (JSON lines, hash-chained).
  const logDir = mkdtempSync(path.join(tmpdir(), 'bouncer-demo-'))
  const decisions = path.join(logDir, 'decisions.jsonl')

  const { publicKey, privateKey } = await generateKeyPair('ES256')
  const jwk = await exportJWK(publicKey)
  const config = createConfig({
    server: { host: '127.0.0.1', port, shutdown_timeout_seconds: 5 },
    admin: { host: '127.0.0.1', port: adminPort },
    upstream: { url: `http://127.0.0.1:${up.port}` },
    policy: { path: policies },
    auth: { jwt: { enabled: true, keys: [{ kid: 'demo', alg: 'ES256', jwk }], issuer: 'https://idp.demo', audience: 'bouncer-demo' } },
    logging: { level: 'info' },
    decision_logs: { enabled: true, sinks: ['file'], file_path: decisions, spool_dir: path.join(logDir, 'spool') },
  })
  const app = await buildApp(config)
  // The ports actually bound (--port 0 / --admin-port 0 pick free ones; tests use that).
  const { proxy, admin } = await app.start()
  const base = `http://127.0.0.1:${proxy!.port}`
  const adminBase = `http://127.0.0.1:${admin?.port ?? adminPort}`
  const token = (sub: string, tenant: string, roles: string[]) => new SignJWT({ tenant, roles })
    .setProtectedHeader({ alg: 'ES256', kid: 'demo' }).setSubject(sub).setIssuer('https://idp.demo').setAudience('bouncer-demo')
    .setIssuedAt().setExpirationTime('12h').sign(privateKey)
  const alice = await token('alice', 'acme', ['admin'])
  const bob = await token('bob', 'acme', ['support'])
  const vera = await token('vera', 'acme', ['viewer'])

  process.stdout.write(`
Bouncer demo — upstream http://127.0.0.1:${up.port}, bouncer ${base}, admin ${adminBase}
Policy: ${policies} (RBAC + tenant isolation + PII masking). Tokens are valid for 12 hours.

  ALICE=${alice}
  BOB=${bob}
  VERA=${vera}

# allowed: a public route, no token needed
curl -s ${base}/v1/products

# allowed: alice is an admin of tenant acme and sees everything
curl -s -H "authorization: Bearer $ALICE" -H "x-tenant: acme" ${base}/v1/customers

# masked: bob (support) may read customers, but ssn/email are redacted, card keeps its last 4
# digits, birth_date is removed; cache-control: private keeps shared caches from reusing his view
curl -si -H "authorization: Bearer $BOB" -H "x-tenant: acme" ${base}/v1/customers

# denied (401): no token
curl -si ${base}/v1/customers

# denied (403): vera (viewer) may not read customers
curl -si -H "authorization: Bearer $VERA" -H "x-tenant: acme" ${base}/v1/customers

# denied (403): tenant isolation — alice asking for another tenant's data
curl -si -H "authorization: Bearer $ALICE" -H "x-tenant: globex" ${base}/v1/customers

# rejected (400): an encoded slash in the path
curl -si --path-as-is "${base}/v1/customers/..%2f..%2fadmin"

# readiness and metrics
curl -s ${adminBase}/readyz
curl -s ${adminBase}/metrics | grep bouncer_requests_total

# the decision log of the calls above (hash-chained JSON lines; removed when the demo stops)
npx bouncer verify-log ${decisions}
npx bouncer evidence --log ${decisions} --out - --format md

# what would a policy change do to those decisions? Copy the policy, change it (here: the
# support role loses customers), replay the log against it: bob's calls go allow -> deny
cp -r ${policies} ${path.join(logDir, 'candidate')}
node -e 'const f=process.argv[1],d=JSON.parse(require("fs").readFileSync(f));d.bouncer.permissions.support=[];require("fs").writeFileSync(f,JSON.stringify(d))' ${path.join(logDir, 'candidate', 'data.json')}
npx bouncer replay --log ${decisions} --policy ${path.join(logDir, 'candidate')}

Ctrl-C to stop.
`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await app.close()
  await new Promise<void>((resolve) => upstream.close(() => resolve()))
  rmSync(logDir, { recursive: true, force: true })
  return 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (e: unknown) => {
    process.stderr.write(`bouncer demo: ${(e as Error).stack ?? String(e)}\n`)
    process.exitCode = 1
  })
}
