// A masked response is one caller's view of the data (issue 5): a shared HTTP cache between
// the bouncer and its clients must not store it and serve it to another caller. Masked
// responses therefore always carry `cache-control: private`, whatever the upstream or the
// policy said; unmasked responses keep the upstream's caching headers untouched.
import t from 'tap'
import { request } from 'undici'
import { privateCacheControl } from '../../src/proxy/headers.js'
import { startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = `package bouncer

mask := [{"path": "/ssn", "action": "redact"}]

decision := {"allow": true, "mask": mask} if input.parsed_path[0] == "masked"
decision := {"allow": true, "mask": mask, "response_headers": {"cache-control": "public, max-age=60"}} if input.parsed_path[0] == "policy-public"
decision := {"allow": true} if input.parsed_path[0] == "plain"
`

t.test('masked responses are private to the caller; unmasked ones keep the upstream caching headers', async (t) => {
  const up = await startUpstream()
  // The upstream's Cache-Control comes from the query (?cc=...), absent without one.
  up.handle = (req, res) => {
    const cc = new URL(req.url ?? '/', 'http://x').searchParams.get('cc')
    res.writeHead(200, { 'content-type': 'application/json', ...(cc !== null ? { 'cache-control': cc } : {}) })
    res.end(JSON.stringify({ name: 'Ann', ssn: '123-45-6789' }))
  }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  t.teardown(async () => { await b.close(); await up.close() })
  const get = async (path: string, cc?: string) => {
    const r = await request(`${b.url}${path}${cc === undefined ? '' : `?cc=${encodeURIComponent(cc)}`}`)
    const body = await r.body.text()
    return { status: r.statusCode, cc: r.headers['cache-control'], body }
  }

  const shared = await get('/masked', 'public, max-age=600, s-maxage=3600, proxy-revalidate')
  t.equal(shared.status, 200)
  t.notMatch(shared.body, /123-45-6789/, 'the body is masked')
  t.equal(shared.cc, 'private, max-age=600', 'shared-cache directives dropped, private added, max-age kept for the caller')

  t.equal((await get('/masked')).cc, 'private', 'no upstream Cache-Control: private')
  t.equal((await get('/masked', 'no-store')).cc, 'private, no-store', 'no-store is kept')
  t.equal((await get('/masked', 'private="set-cookie", max-age=5')).cc, 'private, max-age=5',
    'a field-scoped private only covered the named fields: it becomes the unqualified form')
  t.equal((await get('/policy-public', 'max-age=10')).cc, 'private, max-age=60',
    "the policy's response_headers replace the upstream's, but cannot make a masked view shareable")

  const plain = await get('/plain', 'public, max-age=600')
  t.match(plain.body, /123-45-6789/, 'no mask rules: the response is streamed untouched')
  t.equal(plain.cc, 'public, max-age=600', 'unmasked responses keep the upstream Cache-Control')
})

t.test('privateCacheControl parses directives, quoted strings included', async (t) => {
  t.equal(privateCacheControl(undefined), 'private')
  t.equal(privateCacheControl(''), 'private')
  t.equal(privateCacheControl('PUBLIC, Max-Age=60'), 'private, Max-Age=60', 'directive names are case-insensitive')
  t.equal(privateCacheControl('no-cache="set-cookie, x-a", public'), 'private, no-cache="set-cookie, x-a"', 'a comma inside a quoted string does not split')
  t.equal(privateCacheControl(['public', 's-maxage=10, must-revalidate']), 'private, must-revalidate', 'repeated header lines are one list')
  t.equal(privateCacheControl('private, private'), 'private', 'never repeated')
})

t.test('privateCacheControl: an unterminated quote is an ordinary character, and a long run of quotes is one pass', async (t) => {
  t.equal(privateCacheControl('x="a, public'), 'private, x="a', 'the directive after an unclosed quote is still read (and public dropped)')
  t.equal(privateCacheControl('x="a\\", public", y'), 'private, x="a\\", public", y', 'an escaped quote does not close the string')
  // A regex split backtracked on this (32 KB took 1.3 s; 1 MB, minutes).
  t.equal(privateCacheControl('"\\'.repeat(1 << 19)).length, 'private, '.length + (1 << 20))
})
