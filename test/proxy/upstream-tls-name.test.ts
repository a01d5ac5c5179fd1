// The upstream's TLS identity is the configured one: SNI and the certificate check use
// upstream.tls.servername, else the host of upstream.url (the IP itself for an IP URL), never the
// Host header the client sent. undici derives each request's servername from its Host header:
// with preserve_host (the default) a client chose which name the upstream's certificate had to
// carry, so an impostor holding any certificate of the CA for a name the client picked was
// accepted, and an IP upstream or a configured servername failed for every ordinary Host.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startBouncer } from '../helpers/index.js'
import { Pki, hasOpenssl, type Issued } from '../helpers/pki.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

const ALLOW = 'package bouncer\n\ndecision := {"allow": true}\n'
const skip = hasOpenssl ? false : 'openssl is not installed'

/** An HTTPS upstream with `cert` that records the SNI of each request it answers. */
async function httpsUpstream (t: Test, cert: Issued): Promise<{ url: string; sni: string[] }> {
  const sni: string[] = []
  const server: HttpsServer = createHttpsServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    sni.push(String((req.socket as TLSSocket).servername))
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('upstream')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, sni }
}

async function status (url: string, host: string): Promise<number> {
  const r = await request(url + '/x', { headers: { host } })
  await r.body.dump()
  return r.statusCode
}

t.test('upstream TLS is checked against the configured name, whatever Host the client sends', { skip }, async (t) => {
  const dir = tempDir(t)
  const pki = new Pki(dir)
  const ca = { ca_file: pki.ca.cert }

  t.test('an upstream URL with an IP: the certificate for that IP, for any Host', async (t) => {
    const up = await httpsUpstream(t, pki.issue('by-ip', { san: 'IP:127.0.0.1' }))
    const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': ALLOW }, config: { upstream: { tls: ca } } })
    t.teardown(() => b.close())
    t.equal(await status(b.url, 'app.example'), 200, 'Host app.example')
    t.equal(await status(b.url, 'other.example'), 200, 'another Host on the same pool')
    t.same(up.sni, ['false', 'false'], 'no SNI (an IP is not sent as a server name)')
  })

  t.test('upstream.tls.servername: the name sent and checked', async (t) => {
    const up = await httpsUpstream(t, pki.issue('upstream', { san: 'DNS:upstream.internal' }))
    const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': ALLOW }, config: { upstream: { tls: { ...ca, servername: 'upstream.internal' } } } })
    t.teardown(() => b.close())
    t.equal(await status(b.url, 'app.example'), 200)
    t.same(up.sni, ['upstream.internal'])
  })

  t.test('an impostor with a certificate of the same CA for the Host a client sends is refused', async (t) => {
    const up = await httpsUpstream(t, pki.issue('other-svc', { san: 'DNS:other-svc.internal' }))
    const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': ALLOW }, config: { upstream: { tls: { ...ca, servername: 'upstream.internal' } } } })
    t.teardown(() => b.close())
    t.equal(await status(b.url, 'other-svc.internal'), 502, 'Host names the impostor\'s certificate: refused all the same')
    t.equal(await status(b.url, 'upstream.internal'), 502)
    t.same(up.sni, [], 'it answered nothing')
  })
})
