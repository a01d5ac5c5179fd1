// Credentials in configured URLs (userinfo passwords, tokens in query strings such as presigned
// object-store URLs) never reach what Bouncer shows: logs, /readyz, metric labels, errors,
// `bouncer config check`.
import t from 'tap'
import { redactUrl } from '../src/redact-url.js'
import { DownloadError } from '../src/policy/bundle/download.js'
import { memoryLogger, startBouncer, startUpstream } from './helpers/index.js'

t.test('redactUrl: the password and every query value become ***; a URL without either is as written', async (t) => {
  t.equal(redactUrl('http://user:PASS@h:1/b.tar.gz?X-Amz-Credential=AK&X-Amz-Signature=SIG#frag'), 'http://***:***@h:1/b.tar.gz?X-Amz-Credential=***&X-Amz-Signature=***')
  t.equal(redactUrl('https://idp.example/jwks?api_key=K'), 'https://idp.example/jwks?api_key=***')
  t.equal(redactUrl('http://h:1'), 'http://h:1', 'untouched, not even normalised')
  t.equal(redactUrl('not a url'), '<unparseable URL>')
  // A user name is a token as often as a name (review, session 52): it goes too.
  t.equal(redactUrl('https://ghp_TOKENVALUE123@bundles.example/b.tar.gz'), 'https://***@bundles.example/b.tar.gz')
  t.equal(redactUrl('rediss://TOKENVALUE456@redis.example:6380'), 'rediss://***@redis.example:6380')
  t.equal(redactUrl('redis://default:PW@redis.example:6379'), 'redis://***:***@redis.example:6379')
  t.equal(redactUrl('https://ghp_TOKENVALUE789:x-oauth-basic@github.com/o/r'), 'https://***:***@github.com/o/r')
  const e = new DownloadError('https://u:PW@bundles.example/b?sig=S', 'HTTP 500')
  t.notMatch(e.message, /PW|=S\b/)
})

t.test('a JWKS URL with credentials: /readyz and the logs show it redacted', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const logs = memoryLogger('info')
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': 'package bouncer\n\ndecision := {"allow": true}\n' },
    config: { auth: { jwt: { enabled: true, jwks_url: 'http://jwksuser:JWKSPASSWORD@127.0.0.1:1/jwks?api_key=JWKSQUERYKEY', jwks_timeout_seconds: 0.5 } } },
    deps: { logger: logs.logger },
  })
  t.teardown(() => b.close())
  let readyz = ''
  for (let i = 0; i < 50 && !/JWKS/.test(readyz); i++) {
    readyz = await (await fetch(`${b.adminUrl}/readyz`)).text()
    if (!/JWKS/.test(readyz)) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.match(readyz, /cannot fetch JWKS from http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1\/jwks\?api_key=\*\*\*/, '/readyz names the URL, redacted')
  t.notMatch(readyz + logs.text(), /JWKSPASSWORD|JWKSQUERYKEY/)
})
