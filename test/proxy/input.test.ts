import t from 'tap'
import { buildInput, formatAddress } from '../../src/proxy/input.js'
import { downstreamResponseHeaders, policyHeaders, upstreamRequestHeaders } from '../../src/proxy/headers.js'

t.test('input has the Envoy ext_authz shape', async (t) => {
  const input = buildInput({
    id: 'req-1', method: 'GET', path: '/v1/accounts/42', query: 'x=1&x=2', host: 'api.local', scheme: 'http', protocol: 'HTTP/1.1',
    headers: { authorization: 'Bearer t', 'x-tenant': 'acme' }, sourceAddress: '10.0.0.7:51234', destinationAddress: '127.0.0.1:8080',
  }, { identity: { sub: 'alice' } })
  t.same(JSON.parse(JSON.stringify(input)), {
    attributes: {
      request: { http: { id: 'req-1', method: 'GET', path: '/v1/accounts/42?x=1&x=2', host: 'api.local', scheme: 'http', protocol: 'HTTP/1.1', headers: { authorization: 'Bearer t', 'x-tenant': 'acme' } } },
      source: { address: '10.0.0.7:51234' },
      destination: { address: '127.0.0.1:8080' },
    },
    parsed_path: ['v1', 'accounts', '42'],
    parsed_query: { x: ['1', '2'] },
    identity: { sub: 'alice' },
  })
  const noq = buildInput({ id: 'i', method: 'POST', path: '/', query: '', host: '', scheme: 'http', protocol: 'HTTP/1.0', headers: {}, sourceAddress: '', destinationAddress: '' },
    { parsedBody: { a: 1 }, identityError: 'expired' })
  t.equal(noq.attributes.request.http.path, '/')
  t.same(noq.parsed_body, { a: 1 })
  t.equal(noq.identity_error, 'expired')
  t.notOk('identity' in noq)
  t.equal(formatAddress('::1', 80), '[::1]:80')
  t.equal(formatAddress('10.0.0.1', 5), '10.0.0.1:5')
})

t.test('input objects are built with their keys in canonical order (the decision log serialises them as they are)', async (t) => {
  const sortedAll = (v: unknown, at: string): void => {
    if (v === null || typeof v !== 'object') return
    if (!Array.isArray(v)) {
      const keys = Object.keys(v)
      t.same(keys, [...keys].sort(), `${at || '/'} in canonical order`)
    }
    for (const [k, x] of Object.entries(v)) if (k !== 'headers') sortedAll(x, `${at}/${k}`)
  }
  sortedAll(buildInput({
    id: 'r', method: 'GET', path: '/a', query: 'q=1', host: 'h', scheme: 'https', protocol: 'HTTP/2',
    headers: { b: '1', a: '2' }, sourceAddress: '10.0.0.1:1', destinationAddress: '10.0.0.2:2', sourcePrincipal: 'spiffe://x', sourceCertificate: 'PEM', sni: 'api.example',
  }, { parsedBody: { a: 1 }, identity: { sub: 'alice' }, identityError: 'x' }), '')
  sortedAll(buildInput({ id: 'r', method: 'GET', path: '/', query: '', host: '', scheme: 'http', protocol: 'HTTP/1.1', headers: {}, sourceAddress: '', destinationAddress: '' }), '')
})

t.test('policy headers: one string per name', async (t) => {
  const plain = { a: '1', b: '2' }
  t.not(policyHeaders(plain), plain, 'always a copy: the forwarded view is edited after the policy saw it')
  t.same(policyHeaders(plain), plain)
  t.same(policyHeaders({ 'set-cookie': ['a=1', 'b=2'], x: 'y' }), { 'set-cookie': 'a=1, b=2', x: 'y' })
})

t.test('upstream request headers', async (t) => {
  const incoming = {
    host: 'api.local', connection: 'keep-alive, X-Secret-Hop', 'keep-alive': 'timeout=5', 'x-secret-hop': 'drop me',
    te: 'trailers', 'transfer-encoding': 'chunked', upgrade: 'websocket', 'proxy-authorization': 'Basic x',
    'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil', 'x-forwarded-proto': 'https', forwarded: 'for=6.6.6.6',
    'x-keep': 'yes', 'content-length': '3',
  }
  const h = upstreamRequestHeaders(incoming, { peerIp: '10.0.0.7', scheme: 'http', host: 'api.local' }, { trustForwarded: false, preserveHost: true })
  t.same(h, { host: 'api.local', 'x-keep': 'yes', 'content-length': '3', 'x-forwarded-for': '10.0.0.7', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'api.local' })

  const trusted = upstreamRequestHeaders(incoming, { peerIp: '10.0.0.7', scheme: 'http', host: 'api.local' }, { trustForwarded: true, preserveHost: false })
  t.equal(trusted['x-forwarded-for'], '6.6.6.6, 10.0.0.7')
  t.equal(trusted['x-forwarded-proto'], 'https')
  t.equal(trusted['x-forwarded-host'], 'evil')
  t.equal(trusted.forwarded, 'for=6.6.6.6')
  t.notOk('host' in trusted)

  const up = upstreamRequestHeaders({ host: 'h', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k' },
    { peerIp: '1.2.3.4', scheme: 'http', host: 'h', upgrade: 'websocket' }, { trustForwarded: false, preserveHost: true })
  t.equal(up.connection, 'upgrade')
  t.equal(up.upgrade, 'websocket')
  t.equal(up['sec-websocket-key'], 'k')
})

t.test('Connection: the plain values name nothing; anything else is split into names', async (t) => {
  const ctx = { peerIp: '10.0.0.7', scheme: 'http', host: 'api.local' }
  const opts = { trustForwarded: false, preserveHost: true }
  for (const plain of ['keep-alive', 'Keep-Alive', 'close', 'Close']) {
    const h = upstreamRequestHeaders({ host: 'api.local', connection: plain, 'x-keep': 'yes', 'keep-alive': 'timeout=5' }, ctx, opts)
    t.equal(h['x-keep'], 'yes', `${plain}: other headers stay`)
    t.notOk('connection' in h || 'keep-alive' in h, `${plain}: hop-by-hop headers go`)
  }
  // not one of the plain spellings: each listed name is hop-by-hop, whatever its case or spacing
  for (const v of ['KEEP-ALIVE, x-keep', ' keep-alive ,X-Keep', 'close,x-keep']) {
    const h = upstreamRequestHeaders({ host: 'api.local', connection: v, 'x-keep': 'yes', 'x-other': '1' }, ctx, opts)
    t.notOk('x-keep' in h, `${JSON.stringify(v)}: x-keep removed`)
    t.equal(h['x-other'], '1', `${JSON.stringify(v)}: x-other kept`)
  }
  t.same(downstreamResponseHeaders({ connection: 'Keep-Alive', 'keep-alive': 'timeout=5', 'x-kept': '1' }), { 'x-kept': '1' })
  t.same(downstreamResponseHeaders({ connection: ['keep-alive', 'x-hop'], 'x-hop': '1', 'x-kept': '1' }), { 'x-kept': '1' }, 'a repeated Connection header')
})

t.test('downstream response headers', async (t) => {
  t.same(downstreamResponseHeaders({ 'content-type': 'a', connection: 'close, x-hop', 'x-hop': '1', 'transfer-encoding': 'chunked', 'set-cookie': ['a', 'b'], 'keep-alive': 'x' }),
    { 'content-type': 'a', 'set-cookie': ['a', 'b'] })
})
