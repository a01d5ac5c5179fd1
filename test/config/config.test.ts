import t from 'tap'
import { base, problemsOf } from './problems.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Ajv } from 'ajv'
import { ConfigError, configLeaves, configSchema, createConfig, loadConfig, parseConfigFlags } from '../../src/config/index.js'
import { isBouncerError } from '../../src/errors.js'
import { buildApp } from '../../src/index.js'


t.test('defaults are applied and the result is frozen', async (t) => {
  const c = createConfig({ upstream: { url: 'http://127.0.0.1:3000' } })
  t.equal(c.server.port, 8080)
  t.equal(c.admin.port, 9090)
  t.equal(c.policy.entrypoint, 'bouncer/decision')
  t.equal(c.path.encoded_slash, 'reject')
  t.equal(c.cache.l1.max_entries, 10000)
  t.equal(c.decision_logs.overflow, 'drop_oldest')
  t.equal(c.bundles.polling.min_delay_seconds, 60)
  t.equal(c.masking.fail_status, 502)
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.cache.redis.tls) && Object.isFrozen(c.decision_logs.sinks))
  t.throws(() => { (c.server as { port: number }).port = 1 })
})

t.test('file ← env ← flags, with the source in every message', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-config-'))
  const file = path.join(dir, 'bouncer.yaml')
  writeFileSync(file, 'upstream:\n  url: http://from-file:1\nserver:\n  port: 1111\n  host: 127.0.0.1\ncache:\n  enabled: true\n')
  const c = loadConfig({ file, env: { BOUNCER_SERVER_PORT: '2222', BOUNCER_CACHE_TTL_ALLOW_SECONDS: '5', BOUNCER_PATH_MERGE_SLASHES: 'false', BOUNCER_DECISION_LOGS_SINKS: 'console,file', PATH: '/bin' }, flags: [['server.port', '3333', '--port']] })
  t.equal(c.upstream.url, 'http://from-file:1')
  t.equal(c.server.port, 3333, 'flag wins')
  t.equal(c.server.host, '127.0.0.1', 'file value kept')
  t.equal(c.cache.ttl.allow_seconds, 5, 'env coerced to number')
  t.equal(c.path.merge_slashes, false, 'env coerced to boolean')
  t.same(c.decision_logs.sinks, ['console', 'file'], 'comma list')
  const c2 = loadConfig({ env: { BOUNCER_CONFIG: file } })
  t.equal(c2.server.port, 1111, 'BOUNCER_CONFIG names the file')

  const problems = problemsOf(() => loadConfig({
    file,
    env: { BOUNCER_SERVER_PORT: 'eighty', BOUNCER_NOPE: '1', BOUNCER_POLICY_ERROR_STATUS: '418' },
    flags: [['admin.port', '70000', '--admin-port'], ['cache.l1.max_entry', '1', '--set cache.l1.max_entry']],
  }))
  t.match(problems.join('\n'), /server\.port \(env BOUNCER_SERVER_PORT\): must be integer, got "eighty"/)
  t.match(problems.join('\n'), /BOUNCER_NOPE: unknown setting/)
  t.match(problems.join('\n'), /policy\.error_status \(env BOUNCER_POLICY_ERROR_STATUS\): must be one of 403, 500, got 418/)
  t.match(problems.join('\n'), /admin\.port \(flag --admin-port\): must be <= 65535, got 70000/)
  t.match(problems.join('\n'), /--set cache\.l1\.max_entry: unknown setting/)
  t.equal(problems.length, 5, 'every problem reported at once')

  // Kubernetes service links for a Service named bouncer: not settings, not refused.
  const links = loadConfig({ file, env: { BOUNCER_SERVICE_HOST: '10.0.0.1', BOUNCER_SERVICE_PORT: '80', BOUNCER_SERVICE_PORT_HTTP: '80', BOUNCER_PORT: 'tcp://10.0.0.1:80',
    BOUNCER_PORT_80_TCP: 'tcp://10.0.0.1:80', BOUNCER_PORT_80_TCP_PROTO: 'tcp', BOUNCER_PORT_80_TCP_PORT: '80', BOUNCER_PORT_80_TCP_ADDR: '10.0.0.1', BOUNCER_WEB_SERVICE_HOST: '10.0.0.2' } })
  t.equal(links.server.port, 1111, 'service-link variables are ignored')
  // A Service named bouncer-admin or bouncer-server: its <SERVICE>_PORT is a setting's name too.
  const named = loadConfig({ file, env: { BOUNCER_ADMIN_PORT: 'tcp://10.96.0.12:9090', BOUNCER_ADMIN_SERVICE_HOST: '10.96.0.12', BOUNCER_ADMIN_PORT_9090_TCP: 'tcp://10.96.0.12:9090',
    BOUNCER_SERVER_PORT: 'tcp://[fd00::12]:80' } })
  t.equal(named.admin.port, 9090, 'a service link named like admin.port is not read as the setting')
  t.equal(named.server.port, 1111, 'nor one named like server.port (IPv6 cluster)')
  t.equal(loadConfig({ file, env: { BOUNCER_ADMIN_PORT: '9191' } }).admin.port, 9191, 'the setting itself still works')
  t.match(problemsOf(() => loadConfig({ file, env: { BOUNCER_ADMIN_PORT: 'tcp://10.96.0.12' } })).join('\n'), /admin\.port \(env BOUNCER_ADMIN_PORT\): must be integer/, 'anything else is still an error')
  t.match(problemsOf(() => loadConfig({ file, env: { BOUNCER_PORTS: '1' } })).join('\n'), /BOUNCER_PORTS: unknown setting/, 'other unknown names are still refused')
  // A typo of a setting has a service link's name form; its value does not have the link's.
  for (const [name, value] of [['BOUNCER_ADMN_PORT', '9999'], ['BOUNCER_SEVRER_PORT', '1'], ['BOUNCER_X_SERVICE_HOST', 'db.internal'], ['BOUNCER_X_SERVICE_PORT', 'http'],
    ['BOUNCER_X_PORT_80_TCP_PROTO', 'http'], ['BOUNCER_X_PORT_80_TCP', '80'], ['BOUNCER_X_PORT_80_TCP_ADDR', 'x']]) {
    t.match(problemsOf(() => loadConfig({ file, env: { [name]: value } })).join('\n'), new RegExp(`${name}: unknown setting`), `${name}=${value} is reported`)
  }
  t.equal(loadConfig({ file, env: { BOUNCER_X_SERVICE_HOST: 'fd00::12', BOUNCER_X_PORT_443_TCP_ADDR: 'fd00::12', BOUNCER_X_SERVICE_PORT_HTTPS: '443' } }).server.port, 1111, 'IPv6 service links still skipped')
  // Every variable the kubelet writes for a Service, for names that make the forms overlap
  // (bouncer-service: BOUNCER_SERVICE_PORT is its <SERVICE>_PORT, a URL) and named ports
  // ending like a form (http-addr).
  const linkVars = (service: string, ip: string, ports: Array<{ name: string; port: number; proto: string }>): Record<string, string> => {
    const S = service.toUpperCase().replace(/-/g, '_')
    const host = ip.includes(':') ? `[${ip}]` : ip
    const env: Record<string, string> = { [`${S}_SERVICE_HOST`]: ip, [`${S}_SERVICE_PORT`]: String(ports[0]!.port), [`${S}_PORT`]: `${ports[0]!.proto.toLowerCase()}://${host}:${ports[0]!.port}` }
    for (const p of ports) {
      if (p.name !== '') env[`${S}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port)
      const base = `${S}_PORT_${p.port}_${p.proto}`
      Object.assign(env, { [base]: `${p.proto.toLowerCase()}://${host}:${p.port}`, [`${base}_PROTO`]: p.proto.toLowerCase(), [`${base}_PORT`]: String(p.port), [`${base}_ADDR`]: ip })
    }
    return env
  }
  for (const service of ['bouncer', 'bouncer-service', 'bouncer-proxy-service', 'bouncer-admin', 'bouncer-server', 'bouncer-metrics']) {
    for (const ip of ['10.96.0.12', 'fd00:10:96::a']) {
      const env = linkVars(service, ip, [{ name: 'http', port: 8080, proto: 'TCP' }, { name: 'http-addr', port: 9091, proto: 'UDP' }, { name: 'http-metrics', port: 9090, proto: 'SCTP' }])
      t.doesNotThrow(() => loadConfig({ file, env }), `Service ${service} (${ip}): its ${Object.keys(env).length} link variables start the bouncer`)
    }
  }
  // An empty variable does not quietly empty a list; [] does, on purpose.
  t.match(problemsOf(() => loadConfig({ file, env: { BOUNCER_DECISION_LOGS_ERASE_HEADERS: '' } })).join('\n'), /decision_logs\.erase_headers \(env BOUNCER_DECISION_LOGS_ERASE_HEADERS\): empty; write \[\] for an empty list/)
  t.same(loadConfig({ file, env: { BOUNCER_DECISION_LOGS_ERASE_QUERY_PARAMS: '[]' } }).decision_logs.erase_query_params, [])
  // Errors name a secret setting without repeating its value, and hide a password in a URL.
  const redis = problemsOf(() => loadConfig({ file, env: { BOUNCER_CACHE_REDIS_URL: 'redis//default:TYPOREDISPASS@redis:6379' } })).join('\n')
  t.match(redis, /cache\.redis\.url \(env BOUNCER_CACHE_REDIS_URL\): "redis\/\/\*\*\*@redis:6379" does not match/)
  t.notMatch(redis, /TYPOREDISPASS/)
  const secretFile = path.join(path.dirname(file), 'secret.yaml')
  writeFileSync(secretFile, 'masking: {hash_key: 987654321}\n')
  const hk = problemsOf(() => loadConfig({ file: secretFile })).join('\n')
  t.match(hk, /masking\.hash_key \(file [^)]*\): must be string, got \[redacted\]/, 'a secret setting\'s value is not repeated')
  t.notMatch(hk, /987654321/)
  // Nor a key's secret written where an object or a list was expected (auth.jwt.keys).
  for (const [yaml, where] of [
    ['auth: {jwt: {enabled: true, keys: ["HMACSECRET0123456789abcdef"]}}', /auth\.jwt\.keys\.0 \(file [^)]*\): must be object, got \[redacted\]/],
    ['auth: {jwt: {enabled: true, keys: "HMACSECRET0123456789abcdef"}}', /auth\.jwt\.keys \(file [^)]*\): must be array, got \[redacted\]/],
    ['auth: {jwt: {enabled: true, keys: [{alg: HS256, jwk: "HMACSECRET0123456789abcdef"}]}}', /auth\.jwt\.keys\.0\.jwk \(file [^)]*\): must be object, got \[redacted\]/],
  ] as const) {
    writeFileSync(secretFile, yaml + '\n')
    const msg = problemsOf(() => loadConfig({ file: secretFile })).join('\n')
    t.match(msg, where)
    t.notMatch(msg, /HMACSECRET/, `not repeated: ${yaml}`)
  }
  writeFileSync(secretFile, 'auth: {jwt: {enabled: true, keys: [{alg: HS257, secret: x}]}}\n')
  t.match(problemsOf(() => loadConfig({ file: secretFile })).join('\n'), /auth\.jwt\.keys\.0\.alg \(file [^)]*\): must be one of .*, got "HS257"/, 'a key\'s alg is shown')
  // A secret typed as a YAML key, or into alg, under auth.jwt.keys: neither is repeated.
  writeFileSync(secretFile, 'auth: {jwt: {enabled: true, keys: [{alg: HS256, "HMACSECRET0123456789abcdef": x}, {alg: "HMACSECRET9876543210fedcba", secret: y}, {alg: HS256, secert: z}]}}\nupstream: {nmae: x}\n')
  const typed = problemsOf(() => loadConfig({ file: secretFile })).join('\n')
  t.match(typed, /auth\.jwt\.keys\.0 \(file [^)]*\): unknown setting \(its name is not shown: it may be a secret typed as a key\)/)
  t.match(typed, /auth\.jwt\.keys\.1\.alg \(file [^)]*\): must be one of .*, got \[redacted\]/)
  t.notMatch(typed, /HMACSECRET/, 'neither secret is repeated')
  t.match(typed, /auth\.jwt\.keys\.2\.secert \(file [^)]*\): unknown setting \(did you mean "secret"\?\)/, 'a near miss of a setting\'s name is shown, with the hint')
  t.match(typed, /upstream\.nmae \(file [^)]*\): unknown setting/, 'names outside secret settings are shown')
  // bundles.signing.keys call it algorithm, JWT keys alg: the other section's name is named.
  writeFileSync(secretFile, 'auth: {jwt: {enabled: true, keys: [{algorithm: HS256, secret: x}, {alg: HS256, secretkeyvalue: y}]}}\n')
  const alias = problemsOf(() => loadConfig({ file: secretFile })).join('\n')
  t.match(alias, /auth\.jwt\.keys\.0\.algorithm \(file [^)]*\): unknown setting \(did you mean "alg"\?\)/)
  t.notMatch(alias, /secretkeyvalue/, 'a name that only starts like a setting is not repeated under a secret setting')
  // Members of Object.prototype are no settings.
  for (const name of ['__proto__', 'upstream.__proto__', 'upstream.constructor']) {
    t.match(problemsOf(() => loadConfig({ file, flags: [[name, 'x', `--set ${name}`]] })).join('\n'), /unknown setting/, `--set ${name} refused`)
  }
})

t.test('file errors', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-config-'))
  const bad = path.join(dir, 'bad.yaml')
  writeFileSync(bad, 'server: [\n')
  t.ok(isBouncerError((() => { try { loadConfig({ file: bad }) } catch (e) { return e } })(), 'BOUNCER_ERR_CONFIG_FILE'))
  t.ok(isBouncerError((() => { try { loadConfig({ file: path.join(dir, 'missing.yaml') }) } catch (e) { return e } })(), 'BOUNCER_ERR_CONFIG_FILE'))
  const typo = path.join(dir, 'typo.yaml')
  writeFileSync(typo, 'upstream:\n  url: http://x\nsevrer:\n  port: 1\nupstream_url: x\n')
  const p = problemsOf(() => loadConfig({ file: typo }))
  t.match(p[0], new RegExp(`sevrer \\(file ${typo.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): unknown setting \\(did you mean "server"\\?\\)`))
  // A syntax error names its line and column, and says what is wrong (it ended at "column 9:").
  writeFileSync(bad, 'server:\n  port: 8080: 9\n')
  const syntax = (() => { try { loadConfig({ file: bad }) } catch (e) { return (e as Error).message } })()
  t.match(syntax, /cannot read config file .*bad\.yaml: line 2, column 9: Nested mappings are not allowed in compact mappings$/)
  // Neither a JSON file's error nor a YAML warning repeats the file's text (it may hold secrets).
  const json = path.join(dir, 'bad.json')
  for (const text of ['{"auth":{"jwt":{"keys":[{"secret": s3cr3t-hunter2-value}]}}}', '{"auth": {"jwt": {"keys": [{"secret": "s3cr3t-hunter2-value"}]}}, x}', '{"auth": "s3cr3t-hunter2-value"']) {
    writeFileSync(json, text)
    const m = (() => { try { loadConfig({ file: json }) } catch (e) { return (e as Error).message } })()
    t.match(m ?? '', /cannot read config file .*bad\.json: (line \d+, column \d+: )?invalid JSON$/, m ?? '')
    t.notMatch(m, /hunter2/)
  }
  const warned: string[] = []
  const onWarning = (w: Error): void => { warned.push(w.message) }
  process.on('warning', onWarning)
  try {
    writeFileSync(bad, 'upstream: {url: "http://x"}\ncache: {redis: {url: !vault s3cr3t-hunter2-value}}\n')
    try { loadConfig({ file: bad }) } catch { /* a value problem or none: the warning is what matters */ }
    await new Promise((resolve) => setImmediate(resolve))
  } finally { process.off('warning', onWarning) }
  t.notMatch(warned.join('\n'), /hunter2/, 'no YAML warning with an excerpt of the file')
  // Nor does a YAML error that quotes the text (an alias name, an escape sequence).
  for (const text of ['cache: {redis: {url: *hunter2SUPERSECRET}}\n', 'cache: {redis: {url: "x\\u12hunter2"}}\n']) {
    writeFileSync(bad, text)
    const m = (() => { try { loadConfig({ file: bad }) } catch (e) { return (e as Error).message } })() ?? ''
    t.match(m, /cannot read config file .*bad\.yaml: (line \d+, column \d+: )?\S/, m)
    t.notMatch(m, /hunter2/, m)
  }
  // --set with a near miss gets the hint a file gets.
  const near = problemsOf(() => loadConfig({ flags: [['sevrer.port', '1', '--set sevrer.port'], ['cache.l1.max_entriez', '1', '--set cache.l1.max_entriez'], ['nothing.like.it', '1', '--set nothing.like.it']] }))
  t.match(near.join('\n'), /--set sevrer\.port: unknown setting sevrer\.port \(did you mean server\.port\?\)/)
  t.match(near.join('\n'), /--set cache\.l1\.max_entriez: unknown setting cache\.l1\.max_entriez \(did you mean cache\.l1\.max_entries\?\)/)
  t.match(near.join('\n'), /--set nothing\.like\.it: unknown setting nothing\.like\.it$/m, 'no hint when nothing is near')
})

t.test('cross-field rules', async (t) => {
  const p = problemsOf(() => createConfig({
    upstream: { url: 'http://x' },
    server: { port: 9000, host: '0.0.0.0' },
    admin: { port: 9000 },
    policy: { initial_memory_pages: 100, max_memory_pages: 10 },
    auth: { jwt: { enabled: true, keys: [{ alg: 'RS256', secret: 'x' }, { alg: 'HS256', pem: 'x' }, { alg: 'ES256' }], algorithms: ['none'] } },
    cache: { enabled: true, redis: { enabled: true } },
    decision_logs: { enabled: true, sinks: ['control_plane', 'file'] },
    bundles: { polling: { min_delay_seconds: 10, max_delay_seconds: 5 } },
  }))
  const text = p.join('\n')
  for (const re of [/admin\.port: must differ/, /max_memory_pages: must be >=/, /keys\.0: RS256 needs a public key/, /keys\.1: HS256 needs secret/,
    /keys\.2: needs exactly one of/, /"none" is never accepted/, /cache\.redis: enabled but none of/, /service_url: is required by the control_plane sink/,
    /file_path: is required by the file sink/, /min_delay_seconds: must be <= max_delay_seconds/]) t.match(text, re)
  t.match(problemsOf(() => createConfig({ upstream: { url: 'ftp://x' } })).join(), /upstream\.url: "ftp:\/\/x" does not match/)
})

t.test('cache.input_paths / ignore_paths: a pointer that names nothing is refused, not a key that every request shares', async (t) => {
  const p = problemsOf(() => createConfig({
    upstream: { url: 'http://x' },
    cache: {
      input_paths: ['attributes/request/http/path', '/attributes/request/http/headers/X-Tenant', '/parsed_path/', '/a/~2b', '/attributes/request/http/method'],
      ignore_paths: ['/attributes//id'],
    },
  })).join('\n')
  t.match(p, /cache\.input_paths\.0: "attributes\/request\/http\/path" is not a JSON Pointer: it must start with "\/"/)
  t.match(p, /cache\.input_paths\.1: .*names header "X-Tenant": header names in the input are lower case \(\/attributes\/request\/http\/headers\/x-tenant\)/)
  t.match(p, /cache\.input_paths\.2: .*has an empty segment/)
  t.match(p, /cache\.input_paths\.3: .*has a "~" that is not ~0 or ~1/)
  t.notMatch(p, /input_paths\.4/, 'a good pointer passes')
  t.match(p, /cache\.ignore_paths\.0: .*has an empty segment/)
  t.doesNotThrow(() => createConfig({ upstream: { url: 'http://x' }, cache: { input_paths: ['/attributes/request/http/headers/x-tenant', '/a~1b/~0c'] } }))
})

t.test('decision_logs: write_mode batched cannot keep overflow backpressure\'s promise, so the pair is refused', async (t) => {
  const base = { upstream: { url: 'http://x' } }
  const p = problemsOf(() => createConfig({ ...base, decision_logs: { enabled: true, sinks: ['console'], overflow: 'backpressure', write_mode: 'batched' } }))
  t.match(p.join('\n'), /decision_logs\.write_mode.*: "batched" answers requests before their events are written, so overflow "backpressure" could not refuse/)
  for (const [overflow, writeMode] of [['backpressure', 'group'], ['backpressure', 'sync'], ['drop_oldest', 'batched']]) {
    t.doesNotThrow(() => createConfig({ ...base, decision_logs: { enabled: true, sinks: ['console'], overflow, write_mode: writeMode } }), `${overflow} + ${writeMode} is fine`)
  }
})

t.test('decision_logs.mask_entrypoint is refused, not ignored (only the bundle\'s data.system.log.mask / drop paths are applied)', async (t) => {
  const p = problemsOf(() => createConfig({ upstream: { url: 'http://x' }, decision_logs: { mask_entrypoint: 'system/log/mask' } }))
  t.match(p.join('\n'), /decision_logs\.mask_entrypoint.*: is not supported: the bundle's own data\.system\.log\.mask and data\.system\.log\.drop are applied.*decision_logs\.mask_rules/)
  t.doesNotThrow(() => createConfig({ upstream: { url: 'http://x' }, decision_logs: { mask_rules: [{ path: '/input/x', action: 'redact' }] } }))
})

t.test('production mode refuses plaintext and unsigned', async (t) => {
  const insecure = {
    production: true,
    upstream: { url: 'http://127.0.0.1:3000' },
    cache: { enabled: true, redis: { enabled: true, url: 'redis://cache:6379' } },
    decision_logs: { enabled: true, service_url: 'http://cp' },
    bundles: { service_url: 'http://cp' },
    auth: { jwt: { enabled: true, jwks_url: 'http://idp/jwks' } },
  }
  const text = problemsOf(() => createConfig(insecure)).join('\n')
  t.match(text, /cache\.redis\.url: plaintext redis:\/\/ is refused in production mode/)
  t.match(text, /decision_logs\.service_url: plaintext http:\/\//)
  t.match(text, /bundles\.service_url: plaintext http:\/\//)
  t.match(text, /bundles\.signing\.keys: unsigned bundles are refused/)
  t.match(text, /auth\.jwt\.jwks_url: plaintext http:\/\//)
  t.match(text, /cache\.redis\.integrity_key_file: a Redis tier whose values are not authenticated is refused in production mode/, 'a Redis tier without an integrity key')
  t.ok(createConfig({ ...insecure, allow_insecure: true }), 'allow_insecure overrides')
  t.match(text, /server\.tls\.enabled: a cleartext proxy port is refused in production mode/)
  t.ok(createConfig({
    production: true,
    server: { tls: { enabled: true, cert_file: '/etc/bouncer/tls/tls.crt', key_file: '/etc/bouncer/tls/tls.key' } },
    upstream: { url: 'http://127.0.0.1:3000' },
    cache: { enabled: true, redis: { enabled: true, url: 'rediss://cache:6379', integrity_key_file: '/etc/bouncer/secrets/redis-integrity/integrity-key' } },
    bundles: { service_url: 'https://cp', signing: { keys: { k: { algorithm: 'RS256', key: 'PEM' } } } },
  }), 'TLS, signing keys and an integrity key pass')
})

t.test('tls.enabled with an http:// URL is refused, not silently cleartext', async (t) => {
  const text = problemsOf(() => createConfig({
    upstream: { url: 'http://127.0.0.1:3000', tls: { enabled: true } },
    decision_logs: { enabled: true, service_url: 'http://cp', tls: { enabled: true } },
    bundles: { service_url: 'http://cp', tls: { enabled: true } },
    auth: { jwt: { enabled: true, jwks_url: 'http://idp/jwks', jwks_tls: { enabled: true } } },
  })).join('\n')
  t.match(text, /upstream\.tls\.enabled: is true but upstream\.url is http:\/\/ \(cleartext\)/)
  t.match(text, /decision_logs\.tls\.enabled: is true but decision_logs\.service_url is http:\/\//)
  t.match(text, /bundles\.tls\.enabled: is true but bundles\.service_url is http:\/\//)
  t.match(text, /auth\.jwt\.jwks_tls\.enabled: is true but auth\.jwt\.jwks_url is http:\/\//)
  t.same(problemsOf(() => createConfig({ upstream: { url: 'https://127.0.0.1:3000', tls: { enabled: true } } })), [], 'https:// with tls.enabled is fine')
  t.same(problemsOf(() => createConfig({ cache: { enabled: true, redis: { enabled: true, url: 'redis://c:6379', tls: { enabled: true } } }, upstream: { url: 'http://u' } })), [], 'redis honours tls.enabled (rediss)')
})

t.test('env names are derived from the schema and unique', async (t) => {
  t.equal(configLeaves.byEnv.get('BOUNCER_UPSTREAM_URL')?.dotted, 'upstream.url')
  t.equal(configLeaves.byEnv.get('BOUNCER_CACHE_REDIS_SENTINEL_SENTINELS')?.dotted, 'cache.redis.sentinel.sentinels')
  t.equal(configLeaves.byEnv.get('BOUNCER_POLICY_PARSED_BODY_MAX_BYTES')?.dotted, 'policy.parsed_body.max_bytes')
  t.equal(new Set(configLeaves.all.map((l) => l.env)).size, configLeaves.all.length)
})

t.test('the exported schema is standalone JSON Schema (for the Helm chart)', async (t) => {
  const json = JSON.parse(JSON.stringify(configSchema))
  const ajv = new Ajv({ strict: false })
  const validate = ajv.compile(json)
  t.ok(validate({ upstream: { url: 'http://x' }, server: { port: 1 } }))
  t.notOk(validate({ server: { port: 'x' } }))
})

t.test('CLI flags', async (t) => {
  const f = parseConfigFlags(['--config', 'a.yaml', '--upstream=http://u', '--port', '1', '--production', '--set', 'cache.enabled=true', '--log-level', 'debug'])
  t.equal(f.file, 'a.yaml')
  t.same(f.flags.map(([d, v]) => [d, v]), [['upstream.url', 'http://u'], ['server.port', '1'], ['production', true], ['cache.enabled', 'true'], ['logging.level', 'debug']])
  t.throws(() => parseConfigFlags(['--bogus']), /unknown flag/)
  t.throws(() => parseConfigFlags(['--port']), /needs a value/)
  t.throws(() => parseConfigFlags(['--set', 'novalue']), /KEY=VALUE/)
  const c = loadConfig({ flags: f.flags.filter(([d]) => d !== 'production') })
  t.equal(c.cache.enabled, true)
  t.equal(c.server.port, 1)
})

// A short HMAC key makes the masking `hash` action brute-forceable; it is refused at startup
// with the setting, where it came from and the length — never the key itself.
t.test('masking hash key: at least 16 bytes, inline or from a file', async (t) => {
  const short = problemsOf(() => loadConfig({ env: { BOUNCER_UPSTREAM_URL: 'http://u', BOUNCER_MASKING_HASH_KEY: 'tooshort' } }))
  t.same(short, ['masking.hash_key (env BOUNCER_MASKING_HASH_KEY): must be at least 16 bytes, got 8 (e.g. `openssl rand -base64 32`)'])
  t.notMatch(short.join('\n'), /tooshort/, 'the key is not echoed')
  t.same(problemsOf(() => createConfig({ upstream: { url: 'http://u' }, masking: { hash_key: '0123456789abcdef' } })), [], '16 bytes pass')
  t.same(problemsOf(() => createConfig({ upstream: { url: 'http://u' }, masking: { hash_key: 'ééééééé' } })), [
    'masking.hash_key: must be at least 16 bytes, got 14 (e.g. `openssl rand -base64 32`)',
  ], 'bytes are counted, not characters (7 × 2-byte é)')

  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-hashkey-'))
  const shortFile = path.join(dir, 'short.key')
  writeFileSync(shortFile, '  abc123  \n')
  const config = createConfig({ upstream: { url: 'http://127.0.0.1:1' }, logging: { level: 'silent' }, masking: { hash_key_file: shortFile } })
  const err = await buildApp(config).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof ConfigError, 'buildApp (startup) refuses it')
  t.same((err as ConfigError).problems, [
    `masking.hash_key_file: ${shortFile} holds a 6-byte key (after trimming whitespace); it must be at least 16 bytes (e.g. \`openssl rand -base64 32\`)`,
  ])
  const goodFile = path.join(dir, 'good.key')
  writeFileSync(goodFile, 'c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ==\n')
  const app = await buildApp(createConfig({ upstream: { url: 'http://127.0.0.1:1' }, logging: { level: 'silent' }, admin: { enabled: false }, masking: { hash_key_file: goodFile } }))
  await app.close(0)
  t.pass('a long enough key file is accepted')
})

t.test('auth.jwt.header naming a header the request view drops is refused (review, session 53): every caller would be "missing"', async (t) => {
  const jwt = (header: string) => ({ enabled: true, header, scheme: '', keys: [{ alg: 'HS256', secret: 'a-test-secret-of-at-least-thirty-two-bytes!' }] })
  for (const [header, why] of [['X-Forwarded-Access-Token', /forwarding header/], ['Proxy-Authorization', /hop-by-hop/], ['X-Bouncer-Token', /reserved/], ['x_token', /"_"/]] as const) {
    const p = problemsOf(() => createConfig({ ...base, auth: { jwt: jwt(header) } }))
    t.match(p.join('\n'), new RegExp(`auth\\.jwt\\.header.*${why.source}`), header)
  }
  t.same(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt('X-Access-Token') } })), [], 'an ordinary header')
  t.same(problemsOf(() => createConfig({ ...base, server: { trust_forwarded_headers: true }, auth: { jwt: jwt('X-Forwarded-Access-Token') } })), [], 'forwarding headers trusted: kept')
  t.same(problemsOf(() => createConfig({ ...base, server: { reserved_headers: ['x-internal-*'] }, auth: { jwt: jwt('X-Internal-Token') } })).length, 1, 'a configured reserved prefix')
  // Review of the fixes: with underscores kept, "_" reads as "-"; an ext_authz listener beside
  // the proxy port reads Envoy's headers unfiltered, so the header may be meant for it.
  t.match(problemsOf(() => createConfig({ ...base, server: { underscore_headers: 'keep' }, auth: { jwt: jwt('x_forwarded_access_token') } })).join('\n'), /forwarding header/)
  t.same(problemsOf(() => createConfig({ ...base, ext_authz: { grpc: { enabled: true } }, auth: { jwt: jwt('X-Forwarded-Access-Token') } })), [], 'an ext_authz listener beside the proxy port')
})

t.test('auth.jwt.keys: at most 8 keys of one alg without kid (each is a signature check a forged token can ask for)', async (t) => {
  const key = (i: number, kid?: string) => ({ alg: 'HS256', secret: `secret-number-${i}-of-at-least-thirty-two-bytes!`, ...(kid === undefined ? {} : { kid }) })
  const jwt = (keys: unknown[]) => ({ enabled: true, keys })
  t.same(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt(Array.from({ length: 8 }, (_, i) => key(i))) } })), [])
  t.match(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt(Array.from({ length: 9 }, (_, i) => key(i))) } })).join('\n'), /auth\.jwt\.keys.*9 HS256 keys without kid; at most 8/)
  t.same(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt([...Array.from({ length: 8 }, (_, i) => key(i)), key(8, 'k8'), key(9, 'k9')]) } })), [], 'the others with a kid')
  // A kid inside a JWK counts only as a string, as the authenticator reads it.
  const oct = (i: number, kid: unknown) => ({ alg: 'HS256', jwk: { kty: 'oct', k: Buffer.from(`secret-number-${i}-of-at-least-thirty-two-bytes!`).toString('base64url'), kid } })
  t.match(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt(Array.from({ length: 9 }, (_, i) => oct(i, i))) } })).join('\n'), /9 HS256 keys without kid/, 'numeric JWK kids are no kids')
  t.same(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt(Array.from({ length: 9 }, (_, i) => oct(i, `k${i}`))) } })), [], 'string JWK kids are')
})

t.test('auth.jwt.jwks_max_stale_seconds: 0 (no limit) or more than a refresh and its retry', async (t) => {
  const jwt = (extra: Record<string, unknown>) => ({ enabled: true, jwks_url: 'https://idp.example/jwks', ...extra })
  t.same(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt({}) } })), [], 'unset: no limit')
  t.equal(createConfig({ ...base, auth: { jwt: jwt({}) } }).auth.jwt.jwks_max_stale_seconds, 0)
  t.same(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt({ jwks_max_stale_seconds: 3600 }) } })), [])
  // Refresh (300) + cooldown (10) + timeout (5): the set must outlive a failed refresh's retry.
  t.same(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt({ jwks_max_stale_seconds: 316 }) } })), [])
  for (const v of [60, 300, 315]) {
    t.match(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt({ jwks_max_stale_seconds: v }) } })).join('\n'),
      /auth\.jwt\.jwks_max_stale_seconds.*more than jwks_cache_seconds \+ jwks_cooldown_seconds \+ jwks_timeout_seconds \(315\)/, String(v))
  }
  t.match(problemsOf(() => createConfig({ ...base, auth: { jwt: jwt({ jwks_max_stale_seconds: -1 }) } })).join('\n'), /jwks_max_stale_seconds/)
})
