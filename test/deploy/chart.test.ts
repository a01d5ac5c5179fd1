// The Helm chart without a helm binary: Chart.yaml / values.yaml well-formed, values checked
// by values.schema.json, every .Values reference defined, and the templates rendered (by
// fixtures/gotemplate.ts, a Go-template subset that throws on anything unimplemented) for
// several value sets, each manifest parsed and checked for what the chart promises:
// sidecar wiring, probes, securityContext, NetworkPolicy, secrets by reference only, and a
// config the bouncer itself accepts.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { createConfig, configSchema } from '../../src/config/index.js'
import { loadChart, renderChart } from './fixtures/gotemplate.js'
import { POLICY_FILES } from './fixtures/values.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const chartDir = join(root, 'helm/bouncer')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }

type Obj = Record<string, any>
// config.production (the chart's default) refuses a cleartext proxy port: every value set
// brings the TLS Secret the chart mounts for it.
const TLS = { tls: { secretName: 'shop-api-tls' } }
// A policy source: without one the bouncer refuses to start, and the chart refuses to render.
const POLICY = POLICY_FILES
const APP = { app: { image: { repository: 'registry.example.com/shop-api', tag: '1.4.2' } }, bouncer: TLS, policy: POLICY }
const FULL = {
  ...APP,
  policy: { files: { 'authz.rego': 'package bouncer\n\nimport rego.v1\n\ndecision := {"allow": input.attributes.request.http.method == "GET"}\n' } },
  controlPlane: { url: 'https://control-plane.example.com', credentials: { existingSecret: 'cp-token' }, tls: { caSecret: 'cp-ca' } },
  bundleSigning: { keys: { prod: { algorithm: 'RS256', existingSecret: 'bundle-signing', secretKey: 'public.pem' } }, scope: 'write' },
  redis: { mode: 'internal', integrityKey: { existingSecret: 'cache-integrity' }, internal: { tls: { existingSecret: 'redis-tls' }, password: { existingSecret: 'redis-password' } } },
  masking: { hashKey: { existingSecret: 'mask-key' } },
  metrics: { serviceMonitor: { enabled: true } },
  bouncer: { ...TLS, extraSecretMounts: [{ name: 'jwt', secretName: 'jwt-keys' }] },
  config: { auth: { jwt: { enabled: true, keys: [{ alg: 'RS256', pem_file: '/etc/bouncer/secrets/jwt/public.pem' }] } } },
}
const EXISTING = {
  workload: { enabled: false, existingSelector: { 'app.kubernetes.io/name': 'shop-api' } },
  app: { port: 5000 },
  bouncer: TLS,
  redis: { mode: 'external', external: { url: 'rediss://redis.example.com:6380', password: { existingSecret: 'redis-pw' }, tls: { caSecret: 'redis-ca' } } },
  controlPlane: { url: 'https://control-plane.example.com' },
  bundleSigning: { keys: { prod: { algorithm: 'ES256', existingSecret: 'bundle-signing', secretKey: 'public.pem' } } },
}

const render = (o: Obj) => { const r = renderChart(chartDir, o); return { ...r, manifests: r.manifests as Obj[] } }
const find = (ms: Obj[], kind: string, name?: string) => ms.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name))
const one = (ms: Obj[], kind: string, name?: string) => { const f = find(ms, kind, name); if (f.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, got ${f.length}`); return f[0] }
const matches = (selector: Obj, labels: Obj) => Object.entries(selector).every(([k, v]) => labels?.[k] === v)
const bouncerConfig = (ms: Obj[]) => parseYaml(one(ms, 'ConfigMap', 'demo-bouncer-config').data['config.yaml']) as Obj
const bouncerContainer = (podSpec: Obj) => podSpec.containers.find((c: Obj) => c.name === 'bouncer')

const valuesSchema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Obj
const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true })
const validateValues = ajv.compile(valuesSchema)

t.test('Chart.yaml', async (t) => {
  const { chart } = loadChart(chartDir)
  t.equal(chart.apiVersion, 'v2')
  t.equal(chart.name, 'bouncer')
  t.equal(chart.type, 'application')
  t.match(chart.version, /^\d+\.\d+\.\d+(-[\w.]+)?$/, 'SemVer chart version')
  t.equal(chart.appVersion, pkg.version, 'appVersion is the package version (the default image tag)')
  t.match(chart.kubeVersion, /^>=1\.\d+/)
})

t.test('every YAML file of the chart parses strictly; templates parse after rendering', async (t) => {
  for (const f of ['Chart.yaml', 'values.yaml']) {
    t.doesNotThrow(() => parseYaml(readFileSync(join(chartDir, f), 'utf8'), { strict: true, uniqueKeys: true }), f)
  }
  const templates = readdirSync(join(chartDir, 'templates'))
  t.ok(templates.includes('_helpers.tpl') && templates.includes('NOTES.txt'))
  for (const scenario of [APP, FULL, EXISTING]) {
    const r = render(scenario)
    // renderChart parses every document with uniqueKeys; reaching here means all parsed
    for (const m of r.manifests) {
      t.ok(m.apiVersion && m.kind && m.metadata?.name, `${m.kind}/${m.metadata?.name} has apiVersion, kind, name`)
      t.equal(m.metadata.namespace, 'shop', `${m.kind}/${m.metadata.name} is namespaced to the release`)
      t.match(m.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'DNS-1123 name')
      t.equal(m.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm')
      t.notOk(/<no value>|%!/.test(JSON.stringify(m)), `${m.kind}/${m.metadata.name}: no missing values or printf errors`)
    }
    const seen = new Set<string>()
    for (const m of r.manifests) {
      const id = `${m.kind}/${m.metadata.name}`
      t.notOk(seen.has(id), `${id} rendered once`)
      seen.add(id)
    }
    t.match(r.notes, /Bouncer 0\.1\.0 is installed as release demo in namespace shop/)
  }
})

t.test('values.yaml validates against values.schema.json, and the schema rejects mistakes', async (t) => {
  const { values } = loadChart(chartDir)
  t.ok(validateValues(values), JSON.stringify(validateValues.errors))
  for (const scenario of [APP, FULL, EXISTING]) {
    const merged = render(scenario).values
    t.ok(validateValues(merged), `merged values valid: ${JSON.stringify(validateValues.errors)}`)
  }
  const bad: Array<[string, Obj]> = [
    ['typo in a config setting', { config: { servr: { port: 1 } } }],
    ['wrong config type', { config: { logging: { level: 'loud' } } }],
    ['unknown redis mode', { redis: { mode: 'cluster' } }],
    ['plain tag in digest', { image: { digest: 'latest' } }],
    ['unknown top-level value', { replicaCount: 3 }],
    ['port out of range', { bouncer: { ports: { proxy: 70000 } } }],
    ['signing key without secret', { bundleSigning: { keys: { prod: { algorithm: 'RS256' } } } }],
  ]
  const base = render(APP).values
  const merge = (a: Obj, b: Obj): Obj => {
    const out: Obj = structuredClone(a)
    for (const [k, v] of Object.entries(b)) out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' ? merge(out[k], v) : v
    return out
  }
  for (const [what, o] of bad) t.notOk(validateValues(merge(base, o)), `rejected: ${what}`)
  t.same(valuesSchema.properties.config.properties, (configSchema as Obj).properties, 'values.schema.json config section is the bouncer config schema (regenerate: npx tsx scripts/gen-config-docs.ts)')
})

t.test('every .Values reference in the templates exists in values.yaml', async (t) => {
  const { values } = loadChart(chartDir)
  const has = (path: string[]) => {
    let node: any = values
    for (const k of path) {
      if (node === null || typeof node !== 'object' || !(k in node)) return false
      node = node[k]
    }
    return true
  }
  let refs = 0
  for (const f of readdirSync(join(chartDir, 'templates'))) {
    const text = readFileSync(join(chartDir, 'templates', f), 'utf8')
    // variables bound to a values path: {{ $v := .Values }}, {{- $r := .Values.redis.internal }}, {{ $np := .Values.networkPolicy }}
    const alias = new Map<string, string[]>()
    for (const m of text.matchAll(/\$(\w+)\s*:=\s*(?:\$)?\.Values((?:\.\w+)*)\s*(?:-?\}\})/g)) alias.set(m[1], m[2].split('.').filter(Boolean))
    for (const m of text.matchAll(/(?<![\w$])\$?\.Values((?:\.\w+)+)/g)) {
      const path = m[1].split('.').filter(Boolean)
      refs++
      t.ok(has(path), `${f}: .Values.${path.join('.')} is defined in values.yaml`)
    }
    for (const [name, base] of alias) {
      for (const m of text.matchAll(new RegExp(`\\$${name}((?:\\.\\w+)+)`, 'g'))) {
        const path = [...base, ...m[1].split('.').filter(Boolean)]
        refs++
        t.ok(has(path), `${f}: $${name}${m[1]} = .Values.${path.join('.')} is defined in values.yaml`)
      }
    }
  }
  t.ok(refs > 100, `checked ${refs} references`)
})

t.test('the rendered config is one the bouncer accepts (its own loader, production rules included)', async (t) => {
  for (const [name, scenario] of [['defaults', APP], ['full', FULL], ['existing workload', EXISTING]] as const) {
    const cfg = bouncerConfig(render(scenario).manifests)
    t.doesNotThrow(() => createConfig(cfg), `${name}: createConfig accepts it`)
    const c = createConfig(cfg)
    t.equal(c.production, true, `${name}: production mode by default`)
    t.equal(c.server.port, 8080)
    t.equal(c.admin.port, 9090)
  }
  // The chart's safe defaults: what the bouncer would refuse at start fails the render (a pod
  // that can only crash-loop), and with allow_insecure the bouncer accepts it.
  t.throws(() => render({ ...APP, controlPlane: { url: 'https://cp.example.com' } }), /bundles from https:\/\/cp\.example\.com would not be signature-checked .*config\.allow_insecure=true/, 'a bundle server without signing keys')
  const insecure = { config: { production: true, allow_insecure: true } }
  t.doesNotThrow(() => createConfig(bouncerConfig(render({ ...APP, ...insecure, controlPlane: { url: 'https://cp.example.com' } }).manifests)))
  t.throws(() => render({ ...APP, controlPlane: { url: 'http://cp.example.com' }, bundleSigning: FULL.bundleSigning }), /bundles from a plaintext http:\/\/cp\.example\.com/, 'a plaintext bundle server')
  t.throws(() => render({ ...APP, controlPlane: { url: 'http://cp.example.com', bundles: { enabled: false } } }), /decision logs to a plaintext http:\/\/cp\.example\.com/, 'a plaintext decision-log receiver')
  // On the bouncer's own conditions only: what it accepts renders (review of f5c1d21).
  const accepted = (values: Obj, what: string): void => {
    let cfg: Obj | undefined
    t.doesNotThrow(() => { cfg = bouncerConfig(render(values).manifests) }, `${what}: renders`)
    if (cfg !== undefined) t.doesNotThrow(() => createConfig(cfg!), `${what}: the bouncer accepts it`)
  }
  accepted({ ...APP, redis: { mode: 'external', external: { url: 'redis://r:6379' } }, config: { cache: { redis: { tls: { enabled: true } } } } }, 'redis:// with cache.redis.tls.enabled')
  accepted({ ...APP, config: { decision_logs: { enabled: false, service_url: 'http://old.example.com' } } }, 'a plaintext receiver with decision logs off')
  // bouncer.env / bouncer.extraArgs may set what the chart cannot see: the bouncer checks at start.
  for (const bouncer of [{ ...TLS, env: [{ name: 'BOUNCER_POLICY_PATH', value: '/mnt/policy' }] }, { ...TLS, extraArgs: ['--policy', '/mnt/policy'] }] as Obj[]) {
    t.doesNotThrow(() => render({ app: APP.app, bouncer }), `no policy values, but ${JSON.stringify(bouncer.env ?? bouncer.extraArgs)}`)
  }
  t.doesNotThrow(() => render({ ...APP, bouncer: { ...TLS, env: [{ name: 'BOUNCER_ALLOW_INSECURE', value: 'true' }] }, controlPlane: { url: 'https://cp.example.com' } }), 'allow_insecure from bouncer.env')
  // The older checks too (second review): a cleartext port with allow_insecure from bouncer.env,
  // and ext_authz mode, which the bouncer exempts from the cleartext-port rule.
  t.doesNotThrow(() => render({ app: APP.app, policy: POLICY, bouncer: { env: [{ name: 'BOUNCER_ALLOW_INSECURE', value: 'true' }] } }), 'cleartext port, allow_insecure from bouncer.env')
  t.doesNotThrow(() => render({ ...APP, bouncer: { ...TLS, extraArgs: ['--set', 'allow_insecure=true'] }, redis: { mode: 'internal' } }), 'plaintext in-chart Redis, allow_insecure from extraArgs')
  accepted({ app: APP.app, policy: POLICY, config: { mode: 'ext_authz', ext_authz: { http: { enabled: true } } } }, 'ext_authz mode without proxy TLS')
  t.throws(() => render({ ...APP, redis: { mode: 'external', external: { url: 'redis://r:6379' } } }), /plaintext redis:\/\/r:6379, which config\.production refuses/, 'plaintext external Redis')
  t.doesNotThrow(() => createConfig(bouncerConfig(render({ ...APP, ...insecure, redis: { mode: 'external', external: { url: 'redis://r:6379' } } }).manifests)))
  t.throws(() => render({ app: APP.app, bouncer: TLS }), /no policy source: set policy\.files/, 'no policy source')
  // The rest of the bouncer's production refusals (session 52): each fails the render, and the
  // same values rendered with allow_insecure and then put back to production are refused by the
  // bouncer's own loader, so the chart refuses on the bouncer's conditions.
  const refused = (config: Obj, re: RegExp, what: string): void => {
    t.throws(() => render({ ...APP, config }), re, `${what}: the render fails`)
    const cfg = bouncerConfig(render({ ...APP, config: { ...config, production: true, allow_insecure: true } }).manifests)
    t.throws(() => createConfig({ ...cfg, allow_insecure: false }), /production mode/, `${what}: the bouncer refuses it too`)
  }
  refused({ auth: { jwt: { enabled: true, jwks_url: 'http://idp.example.com/jwks' } } }, /JWT keys from a plaintext http:\/\/idp\.example\.com\/jwks/, 'a plaintext JWKS endpoint')
  for (const [where, config] of [
    ['upstream.tls', { upstream: { url: 'https://127.0.0.1:8443', tls: { reject_unauthorized: false } } }],
    ['auth.jwt.jwks_tls', { auth: { jwt: { enabled: true, jwks_url: 'https://idp.example.com/jwks', jwks_tls: { reject_unauthorized: false } } } }],
    ['decision_logs.tls', { decision_logs: { enabled: true, service_url: 'https://cp.example.com', tls: { reject_unauthorized: false } } }],
  ] as const) refused(config, new RegExp(`${where.replace(/\./g, '\\.')}\\.reject_unauthorized=false, which config\\.production refuses`), `${where}.reject_unauthorized=false`)
  refused({ mode: 'ext_authz', ext_authz: { http: { enabled: true, host: '0.0.0.0' } } }, /a cleartext ext_authz http listener on 0\.0\.0\.0/, 'an ext_authz listener off loopback')
  refused({ cache: { enabled: true, redis: { enabled: true, url: 'rediss://r.example.com:6380' } } }, /has no cache\.redis\.integrity_key_file/, 'a Redis tier without an integrity key')
  accepted({ ...APP, config: { mode: 'ext_authz', ext_authz: { http: { enabled: true, host: '::1' } } } }, 'an ext_authz listener on ::1')
  accepted({ ...APP, config: { auth: { jwt: { enabled: false, jwks_url: 'http://idp.example.com/jwks' } } } }, 'a plaintext JWKS endpoint with JWT off')
  accepted({ ...APP, config: { upstream: { url: 'https://127.0.0.1:8443', tls: { reject_unauthorized: true } } } }, 'reject_unauthorized true')
})

t.test('example workload: app + bouncer sidecar, Service to the proxy port, probes on the admin port', async (t) => {
  const { manifests } = render(APP)
  const dep = one(manifests, 'Deployment', 'demo-bouncer')
  const pod = dep.spec.template.spec
  t.same(pod.containers.map((c: Obj) => c.name), ['app', 'bouncer'])
  t.ok(matches(dep.spec.selector.matchLabels, dep.spec.template.metadata.labels), 'selector matches the pod template')
  const app = pod.containers[0]
  t.equal(app.image, 'registry.example.com/shop-api:1.4.2')
  t.notOk(app.ports, 'the app exposes no container port')
  const b = bouncerContainer(pod)
  t.equal(b.image, 'bouncer:0.1.0', 'image tag defaults to appVersion')
  t.same(b.args, ['run', '--config', '/etc/bouncer/config.yaml'])
  const cfg = bouncerConfig(manifests)
  const port = (name: string) => b.ports.find((p: Obj) => p.name === name)?.containerPort
  t.equal(port('proxy'), cfg.server.port, 'proxy containerPort = config server.port')
  t.equal(port('admin'), cfg.admin.port, 'admin containerPort = config admin.port')
  t.equal(cfg.upstream.url, 'http://127.0.0.1:3000', 'upstream is the app on loopback')
  t.match(b.livenessProbe, { httpGet: { path: '/healthz', port: 'admin' } })
  t.match(b.readinessProbe, { httpGet: { path: '/readyz', port: 'admin' } })
  t.match(b.startupProbe, { httpGet: { path: '/healthz', port: 'admin' } })
  t.ok(b.resources.requests.cpu && b.resources.requests.memory && b.resources.limits.memory, 'resources set')
  t.same(b.lifecycle.preStop.exec.command, ['sleep', '5'])

  const svc = one(manifests, 'Service', 'demo-bouncer')
  t.equal(svc.spec.ports[0].targetPort, cfg.server.port, 'Service targets the bouncer proxy port')
  t.ok(matches(svc.spec.selector, dep.spec.template.metadata.labels), 'Service selects the workload pods')

  const pdb = one(manifests, 'PodDisruptionBudget')
  t.equal(pdb.apiVersion, 'policy/v1')
  t.ok(matches(pdb.spec.selector.matchLabels, dep.spec.template.metadata.labels), 'PDB selects the workload pods')
  t.equal(pdb.spec.maxUnavailable, 1)

  const sa = one(manifests, 'ServiceAccount')
  t.equal(sa.automountServiceAccountToken, false)
  t.equal(pod.serviceAccountName, sa.metadata.name)
  t.equal(pod.automountServiceAccountToken, false)
  t.equal(pod.enableServiceLinks, false, 'no Kubernetes service-link variables (BOUNCER_ADMIN_PORT=tcp://... would be read as a setting)')
  t.notOk(find(manifests, 'ServiceMonitor').length, 'no ServiceMonitor unless enabled')
  t.notOk(find(manifests, 'Deployment', 'demo-bouncer-redis').length, 'no Redis unless asked')
})

t.test('securityContext: non-root, read-only root FS, no capabilities, RuntimeDefault seccomp', async (t) => {
  for (const [name, scenario] of [['defaults', APP], ['full', FULL]] as const) {
    const { manifests } = render(scenario)
    for (const d of find(manifests, 'Deployment')) {
      const pod = d.spec.template.spec
      if (d.metadata.name === 'demo-bouncer') {
        t.match(pod.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, `${name}: pod securityContext`)
      }
      for (const c of pod.containers) {
        const sc = c.securityContext
        const where = `${name}: ${d.metadata.name}/${c.name}`
        t.equal(sc.runAsNonRoot, true, `${where} runAsNonRoot`)
        t.equal(sc.readOnlyRootFilesystem, true, `${where} readOnlyRootFilesystem`)
        t.equal(sc.allowPrivilegeEscalation, false, `${where} no privilege escalation`)
        t.same(sc.capabilities.drop, ['ALL'], `${where} drops ALL capabilities`)
        t.notOk(sc.capabilities.add, `${where} adds none`)
        t.equal(sc.seccompProfile.type, 'RuntimeDefault', `${where} seccomp RuntimeDefault`)
      }
      t.equal(pod.automountServiceAccountToken, false, `${d.metadata.name}: no API token`)
    }
  }
})

t.test('writable paths and secret files are all on mounted volumes; secrets only by reference', async (t) => {
  for (const [name, scenario] of [['defaults', APP], ['full', FULL]] as const) {
    const { manifests } = render(scenario)
    const pod = one(manifests, 'Deployment', 'demo-bouncer').spec.template.spec
    const b = bouncerContainer(pod)
    const volumes = new Map(pod.volumes.map((v: Obj) => [v.name, v]))
    for (const m of b.volumeMounts) t.ok(volumes.has(m.name), `${name}: mount ${m.mountPath} has volume ${m.name}`)
    const mountFor = (path: string) => b.volumeMounts.filter((m: Obj) => path === m.mountPath || path.startsWith(m.mountPath.replace(/\/$/, '') + '/'))
      .sort((x: Obj, y: Obj) => y.mountPath.length - x.mountPath.length)[0]
    const c = createConfig(bouncerConfig(manifests))
    for (const p of [c.decision_logs.spool_dir, c.bundles.persist_dir, '/tmp']) {
      const m = mountFor(p)
      t.ok(m && !m.readOnly, `${name}: ${p} is on a writable volume (${m?.name})`)
    }
    // every *_file setting points into a mounted Secret that carries that key
    const files: Array<[string, string]> = []
    const walk = (v: unknown, path: string) => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}.${i}`))
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k)
      else if (typeof v === 'string' && /(_file|^policy\.path)$/.test(path)) files.push([path, v])
    }
    walk(bouncerConfig(manifests), '')
    if (name === 'full') t.ok(files.length >= 8, `full: ${files.length} file settings checked`)
    for (const [setting, file] of files) {
      const m = mountFor(file)
      t.ok(m, `${name}: ${setting} → ${file} is mounted`)
      if (!m) continue
      t.equal(m.readOnly, true, `${name}: ${file} mounted read-only`)
      const vol = volumes.get(m.name) as Obj
      const key = file.slice(m.mountPath.length + 1)
      if (vol.secret?.items) t.ok(vol.secret.items.some((i: Obj) => i.path === key), `${name}: ${setting}: Secret ${vol.secret.secretName} projects ${key}`)
    }
  }
  const { manifests, files } = render(FULL)
  t.notOk(find(manifests, 'Secret').length, 'the chart creates no Secret objects')
  const text = files.map((f) => f.text).join('\n')
  for (const c of find(manifests, 'Deployment').flatMap((d) => d.spec.template.spec.containers)) {
    for (const e of c.env ?? []) t.notOk(/token|password|secret|key/i.test(e.name) && e.value !== undefined, `${c.name}: env ${e.name} is not a literal secret`)
  }
  t.notMatch(text, /BEGIN [A-Z ]*PRIVATE KEY/)
})

t.test('full wiring: control plane, signing keys, in-chart Redis over TLS, masking key', async (t) => {
  const { manifests } = render(FULL)
  const c = createConfig(bouncerConfig(manifests))
  t.equal(c.bundles.service_url, 'https://control-plane.example.com')
  t.equal(c.bundles.bearer_token_file, '/etc/bouncer/secrets/control-plane/token')
  t.equal(c.bundles.tls.ca_file, '/etc/bouncer/secrets/control-plane-ca/ca.crt')
  t.same(c.bundles.signing.keys, { prod: { algorithm: 'RS256', key_file: '/etc/bouncer/secrets/signing-prod/public.pem' } })
  t.equal(c.bundles.signing.scope, 'write')
  t.equal(c.decision_logs.enabled, true)
  t.equal(c.decision_logs.service_url, 'https://control-plane.example.com')
  t.equal(c.masking.hash_key_file, '/etc/bouncer/secrets/masking/hash-key')
  t.equal(c.policy.path, '/etc/bouncer/policy')
  t.equal(one(manifests, 'ConfigMap', 'demo-bouncer-policy').data['authz.rego'], FULL.policy.files['authz.rego'], 'Rego source survives the ConfigMap verbatim')

  const redisSvc = one(manifests, 'Service', 'demo-bouncer-redis')
  t.equal(c.cache.redis.url, `rediss://${redisSvc.metadata.name}:${redisSvc.spec.ports[0].port}`, 'bouncer uses rediss:// to the in-chart Service')
  t.equal(c.cache.redis.tls.ca_file, '/etc/bouncer/secrets/redis-ca/ca.crt')
  const redis = one(manifests, 'Deployment', 'demo-bouncer-redis')
  const rc = redis.spec.template.spec.containers[0]
  const cmd = rc.command.join(' ')
  t.match(cmd, /--port 0 --tls-port 6379/, 'Redis listens on TLS only')
  t.match(cmd, /--requirepass "\$REDIS_PASSWORD"/)
  t.match(rc.env[0], { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-password' } } })
  t.ok(matches(redisSvc.spec.selector, redis.spec.template.metadata.labels), 'Redis Service selects Redis')
  const workload = one(manifests, 'Deployment', 'demo-bouncer')
  t.notOk(matches(workload.spec.selector.matchLabels, redis.spec.template.metadata.labels), 'workload selector does not capture Redis pods')
  t.notOk(matches(redis.spec.selector.matchLabels, workload.spec.template.metadata.labels), 'Redis selector does not capture workload pods')
  t.notOk(matches(one(manifests, 'Service', 'demo-bouncer').spec.selector, redis.spec.template.metadata.labels), 'the app Service never routes to Redis')

  const redisNp = one(manifests, 'NetworkPolicy', 'demo-bouncer-redis')
  t.ok(matches(redisNp.spec.ingress[0].from[0].podSelector.matchLabels, workload.spec.template.metadata.labels), 'only bouncer pods may reach Redis')
  t.same(redisNp.spec.ingress[0].ports, [{ port: 6379, protocol: 'TCP' }])

  const sm = one(manifests, 'ServiceMonitor')
  const metricsSvc = one(manifests, 'Service', 'demo-bouncer-metrics')
  t.ok(matches(sm.spec.selector.matchLabels, metricsSvc.metadata.labels), 'ServiceMonitor selects the metrics Service')
  t.notOk(matches(sm.spec.selector.matchLabels, one(manifests, 'Service', 'demo-bouncer').metadata.labels), 'and not the traffic Service')
  t.equal(sm.spec.endpoints[0].port, metricsSvc.spec.ports[0].name)
  t.equal(sm.spec.endpoints[0].path, '/metrics')
  t.equal(metricsSvc.spec.ports[0].targetPort, c.admin.port)
})

t.test('NetworkPolicy: only the proxy port in (metrics from the monitoring peers); DNS, control plane and Redis out', async (t) => {
  const { manifests } = render(FULL)
  const np = one(manifests, 'NetworkPolicy', 'demo-bouncer')
  const pod = one(manifests, 'Deployment', 'demo-bouncer').spec.template
  t.ok(matches(np.spec.podSelector.matchLabels, pod.metadata.labels), 'selects the workload pods')
  t.same(np.spec.policyTypes, ['Ingress', 'Egress'])
  const ingressPorts = np.spec.ingress.flatMap((r: Obj) => r.ports.map((p: Obj) => p.port))
  t.same(ingressPorts, [8080, 9090], 'proxy and admin only; never the app port')
  t.notOk(ingressPorts.includes(3000))
  const testPod = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'bouncer', 'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/component': 'test' } } }
  t.same(np.spec.ingress[1].from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }, testPod], 'admin port only from metricsFrom and the chart\'s helm test pod')
  t.ok(matches(testPod.podSelector.matchLabels, one(render(FULL).manifests, 'Pod', 'demo-bouncer-test').metadata.labels), 'that peer is the test pod')
  t.notOk(np.spec.ingress[0].from, 'proxy port from anywhere (ingressFrom empty)')
  const limited = one(render({ ...FULL, networkPolicy: { ingressFrom: [{ namespaceSelector: { matchLabels: { team: 'web' } } }] } }).manifests, 'NetworkPolicy', 'demo-bouncer')
  t.same(limited.spec.ingress[0].from, [{ namespaceSelector: { matchLabels: { team: 'web' } } }, testPod], 'ingressFrom, plus the test pod')
  const noTests = one(render({ ...FULL, tests: { enabled: false } }).manifests, 'NetworkPolicy', 'demo-bouncer')
  t.same(noTests.spec.ingress[1].from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], 'tests.enabled=false: metricsFrom alone')
  const egressPorts = np.spec.egress.map((r: Obj) => r.ports.map((p: Obj) => `${p.port}/${p.protocol}`).join(','))
  t.same(egressPorts, ['53/UDP,53/TCP', '443/TCP', '6379/TCP'])
  t.ok(matches(np.spec.egress[2].to[0].podSelector.matchLabels, one(manifests, 'Deployment', 'demo-bouncer-redis').spec.template.metadata.labels), 'Redis egress goes to the Redis pods')

  // The port in the URL is the one the egress rule opens (controlPlane.port is only the fallback).
  const onPort = one(render({ ...FULL, controlPlane: { ...FULL.controlPlane, url: 'https://cp.example.com:8443' } }).manifests, 'NetworkPolicy', 'demo-bouncer')
  t.same(onPort.spec.egress[1].ports, [{ port: 8443, protocol: 'TCP' }], 'the control plane URL\'s port')
  for (const [url, port] of [['https://[fd00::10]:8443', 8443], ['https://[fd00::10]', 443]] as const) {
    const v6 = one(render({ ...FULL, controlPlane: { ...FULL.controlPlane, url } }).manifests, 'NetworkPolicy', 'demo-bouncer')
    t.same(v6.spec.egress[1].ports, [{ port, protocol: 'TCP' }], `an IPv6 literal: ${url}`)
  }
  const ext = one(render({ ...FULL, redis: { mode: 'external', external: { url: 'rediss://cache.example.com:6390' } } }).manifests, 'NetworkPolicy', 'demo-bouncer')
  t.same(ext.spec.egress.at(-1).ports, [{ port: 6390, protocol: 'TCP' }], 'the external Redis URL\'s port')
  const extDefault = one(render({ ...FULL, redis: { mode: 'external', external: { url: 'rediss://cache.example.com' } } }).manifests, 'NetworkPolicy', 'demo-bouncer')
  t.same(extDefault.spec.egress.at(-1).ports, [{ port: 6380, protocol: 'TCP' }], 'no port in the URL: redis.external.port')

  const minimal = one(render(APP).manifests, 'NetworkPolicy', 'demo-bouncer')
  t.same(minimal.spec.egress.map((r: Obj) => r.ports[0].port), [53], 'nothing but DNS when nothing else is configured')
  const open = one(render({ ...APP, networkPolicy: { metricsFrom: [] } }).manifests, 'NetworkPolicy', 'demo-bouncer')
  t.same(open.spec.ingress.map((r: Obj) => [r.ports[0].port, r.from]), [[8080, undefined], [9090, [testPod]]], 'no metricsFrom → the admin port is open to the test pod only')
  const closed = one(render({ ...APP, networkPolicy: { metricsFrom: [] }, tests: { enabled: false } }).manifests, 'NetworkPolicy', 'demo-bouncer')
  t.same(closed.spec.ingress.flatMap((r: Obj) => r.ports.map((p: Obj) => p.port)), [8080], 'no metricsFrom, no tests → the admin port is not opened at all')
  t.notOk(find(render({ ...APP, networkPolicy: { enabled: false } }).manifests, 'NetworkPolicy').length, 'can be disabled')
})

t.test('existing workload: no Deployment, a patch that adds the same sidecar', async (t) => {
  const existing = render(EXISTING).manifests
  t.notOk(find(existing, 'Deployment').length, 'no Deployment')
  t.notOk(find(existing, 'PodDisruptionBudget').length, 'no PDB (the workload owns its own)')
  t.notOk(find(existing, 'ServiceAccount').length, 'no ServiceAccount')
  t.same(one(existing, 'Service', 'demo-bouncer').spec.selector, EXISTING.workload.existingSelector, 'Service selects the existing pods')
  t.same(one(existing, 'NetworkPolicy', 'demo-bouncer').spec.podSelector.matchLabels, EXISTING.workload.existingSelector)
  const c = createConfig(bouncerConfig(existing))
  t.equal(c.upstream.url, 'http://127.0.0.1:5000')
  t.equal(c.cache.redis.url, 'rediss://redis.example.com:6380')
  t.equal(c.cache.redis.password_file, '/etc/bouncer/secrets/redis/redis-password')

  const patch = parseYaml(one(existing, 'ConfigMap', 'demo-bouncer-sidecar-patch').data['patch.yaml']) as Obj
  // Apply it the way a strategic merge does for these lists: containers and volumes merge by name.
  const target: Obj = {
    spec: { template: { metadata: { labels: { 'app.kubernetes.io/name': 'shop-api' } }, spec: {
      containers: [{ name: 'shop-api', image: 'shop-api:1', ports: [{ containerPort: 5000 }] }],
      volumes: [{ name: 'cache', emptyDir: {} }],
    } } },
  }
  const byName = (base: Obj[], add: Obj[]) => [...base.filter((x) => !add.some((y) => y.name === x.name)), ...add]
  const spec = target.spec.template.spec
  spec.containers = byName(spec.containers, patch.spec.template.spec.containers)
  spec.volumes = byName(spec.volumes, patch.spec.template.spec.volumes)
  t.same(spec.containers.map((x: Obj) => x.name), ['shop-api', 'bouncer'], 'app container kept, bouncer added')
  t.ok(patch.spec.template.metadata.annotations['checksum/bouncer-config'], 'config checksum annotation rolls the pods on config change')
  const b = bouncerContainer(spec)
  for (const m of b.volumeMounts) t.ok(spec.volumes.some((v: Obj) => v.name === m.name), `patched pod has volume ${m.name}`)
  t.equal(spec.volumes.find((v: Obj) => v.name === 'bouncer-config').configMap.name, 'demo-bouncer-config', 'patch points at this release\'s ConfigMap')

  // The patch's container is the example Deployment's container for the same values.
  const same = { ...EXISTING, workload: { ...EXISTING.workload, enabled: true }, ...APP, policy: { files: {} } }
  const example = bouncerContainer(one(render(same).manifests, 'Deployment', 'demo-bouncer').spec.template.spec)
  t.same(b, example, 'one sidecar definition for both ways of deploying')

  t.throws(() => render({ workload: { enabled: false }, bouncer: TLS, policy: POLICY }), /workload\.existingSelector is required/, 'existingSelector is required')
})

t.test('guard rails: failures the chart raises at render time', async (t) => {
  t.throws(() => render({ bouncer: TLS, policy: POLICY }), /app\.image\.repository is required/)
  t.throws(() => render({ app: APP.app, policy: POLICY }), /config\.production refuses a cleartext proxy port: set bouncer\.tls\.secretName .* or config\.allow_insecure=true/, 'production mode without proxy TLS')
  const cleartext = bouncerConfig(render({ app: APP.app, policy: POLICY, config: { allow_insecure: true } }).manifests)
  t.notOk(cleartext.server.tls, 'allowed with allow_insecure, and then cleartext')
  const own = bouncerConfig(render({ app: APP.app, policy: POLICY, config: { server: { tls: { enabled: true, cert_file: '/etc/bouncer/secrets/tls/c.pem', key_file: '/etc/bouncer/secrets/tls/k.pem' } } }, bouncer: { extraSecretMounts: [{ name: 'tls', secretName: 'x' }] } }).manifests)
  t.equal(own.server.tls.cert_file, '/etc/bouncer/secrets/tls/c.pem', 'or with server.tls of your own')
  t.throws(() => render({ ...APP, redis: { mode: 'internal' } }), /in-chart Redis is plaintext/, 'plaintext in-chart Redis in production mode')
  const ok = render({ ...APP, redis: { mode: 'internal' }, config: { allow_insecure: true } })
  t.equal(bouncerConfig(ok.manifests).cache.redis.url, 'redis://demo-bouncer-redis:6379', 'allowed with allow_insecure, and then plaintext')
  t.throws(() => render({ ...APP, config: { server: { port: 9999 } } }), /bouncer\.ports\.proxy/, 'ports are set in one place')
  t.throws(() => render({ ...APP, redis: { mode: 'external' } }), /redis\.external\.url is required/)
  t.throws(() => render({ ...APP, bundleSigning: { keys: { prod: { algorithm: 'RS256', secretKey: 'k' } } } }), /bundleSigning\.keys\.prod\.existingSecret is required/)
})

t.test('redis.integrityKey: cached decisions are authenticated with a key every pod mounts from one Secret', async (t) => {
  const KEY_FILE = '/etc/bouncer/secrets/redis-integrity/integrity-key'
  const podOf = (ms: Obj[]): Obj => {
    const d = find(ms, 'Deployment', 'demo-bouncer')[0]
    return d !== undefined ? d.spec.template.spec : (parseYaml(one(ms, 'ConfigMap', 'demo-bouncer-sidecar-patch').data['patch.yaml']) as Obj).spec.template.spec
  }
  for (const [name, scenario] of [['in-chart Redis', FULL], ['external Redis, existing workload', EXISTING]] as const) {
    const values = { ...scenario, redis: { ...scenario.redis, integrityKey: { existingSecret: 'cache-integrity' } } }
    const r = render(values)
    t.equal(createConfig(bouncerConfig(r.manifests)).cache.redis.integrity_key_file, KEY_FILE, `${name}: the bouncer is given the key file`)
    const pod = podOf(r.manifests)
    const mount = bouncerContainer(pod).volumeMounts.find((m: Obj) => m.name === 'bouncer-redis-integrity')
    t.match(mount, { mountPath: '/etc/bouncer/secrets/redis-integrity', readOnly: true }, `${name}: mounted read-only`)
    t.same(pod.volumes.find((v: Obj) => v.name === 'bouncer-redis-integrity').secret, { secretName: 'cache-integrity', items: [{ key: 'integrity-key', path: 'integrity-key' }] },
      `${name}: from the Secret, by reference`)
    t.notOk(find(r.manifests, 'Secret', 'demo-bouncer-redis-integrity').length, `${name}: no Secret generated`)
    t.notMatch(r.notes, /key the chart generated/, `${name}: no note`)
    // Without one, the chart generates the key: cached values are never unauthenticated.
    const without = render({ ...scenario, redis: { ...scenario.redis, integrityKey: { existingSecret: '' } } })
    t.equal(createConfig(bouncerConfig(without.manifests)).cache.redis.integrity_key_file, KEY_FILE, `${name}: without a Secret of yours, a key file all the same`)
    const gen = one(without.manifests, 'Secret', 'demo-bouncer-redis-integrity')
    const key = Buffer.from(gen.data['integrity-key'], 'base64').toString()
    t.match(key, /^[A-Za-z0-9]{48}$/, `${name}: a generated key of 48 random characters (the bouncer asks for 16 bytes)`)
    t.equal(gen.metadata.namespace, 'shop', `${name}: in the release's namespace`)
    t.same(podOf(without.manifests).volumes.find((v: Obj) => v.name === 'bouncer-redis-integrity').secret, { secretName: 'demo-bouncer-redis-integrity', items: [{ key: 'integrity-key', path: 'integrity-key' }] },
      `${name}: mounted from the generated Secret`)
    t.match(bouncerContainer(podOf(without.manifests)).volumeMounts.find((m: Obj) => m.name === 'bouncer-redis-integrity'), { mountPath: '/etc/bouncer/secrets/redis-integrity', readOnly: true })
    t.match(without.notes, /authenticated with a key the chart generated\s+\(Secret demo-bouncer-redis-integrity\)/, `${name}: the notes say where the key is`)
    t.notMatch(without.notes, /not authenticated/, `${name}: and warn of nothing`)
    const again = render({ ...scenario, redis: { ...scenario.redis, integrityKey: { existingSecret: '' } } })
    t.not(one(again.manifests, 'Secret', 'demo-bouncer-redis-integrity').data['integrity-key'], gen.data['integrity-key'], `${name}: each install draws its own key`)
    // An upgrade keeps the key the cluster holds: pods old and new verify each other's values.
    const cluster = new Map([['v1/Secret/shop/demo-bouncer-redis-integrity', { apiVersion: 'v1', kind: 'Secret', data: { 'integrity-key': gen.data['integrity-key'] } }]])
    const upgraded = renderChart(chartDir, { ...scenario, redis: { ...scenario.redis, integrityKey: { existingSecret: '' } } }, undefined, { cluster })
    t.equal(one(upgraded.manifests as Obj[], 'Secret', 'demo-bouncer-redis-integrity').data['integrity-key'], gen.data['integrity-key'], `${name}: an upgrade keeps the key`)
  }
  // No Redis: the key has nothing to protect, so it is neither mounted nor named.
  const none = render({ ...APP, redis: { mode: 'none', integrityKey: { existingSecret: 'cache-integrity' } } })
  t.notOk(podOf(none.manifests).volumes.some((v: Obj) => v.name === 'bouncer-redis-integrity'), 'redis.mode none: no volume')
  t.notMatch(none.notes, /not authenticated/, 'redis.mode none: no warning')
  t.notOk(validateValues({ redis: { integrityKey: { existingSecret: 'x', key: '' } } }), 'an empty key name is refused by the schema')
})

t.test('image, checksum and NOTES', async (t) => {
  const digest = 'sha256:' + 'a'.repeat(64)
  const withDigest = render({ ...APP, image: { repository: 'registry.example.com/bouncer', digest } })
  t.equal(bouncerContainer(one(withDigest.manifests, 'Deployment').spec.template.spec).image, `registry.example.com/bouncer@${digest}`, 'digest wins over tag')
  const a = one(render(APP).manifests, 'Deployment').spec.template.metadata.annotations['checksum/config']
  const b = one(render({ ...APP, config: { logging: { level: 'debug' } } }).manifests, 'Deployment').spec.template.metadata.annotations['checksum/config']
  t.match(a, /^[a-f0-9]{64}$/)
  t.not(a, b, 'a config change changes the pod template (rolling restart)')
  t.notMatch(render(FULL).notes, /WARNING/)
  // The smoke test in the notes speaks the proxy port's protocol.
  t.match(render(FULL).notes, /curl -i --cacert bouncer-ca\.crt --connect-to ::127\.0\.0\.1:8080 https:\/\/demo-bouncer\.shop\.svc\//)
  t.notMatch(render(FULL).notes, /http:\/\/127\.0\.0\.1:8080/)
  t.match(render({ app: APP.app, policy: POLICY, config: { allow_insecure: true } }).notes, /curl -i http:\/\/127\.0\.0\.1:8080\//, 'cleartext: plain http')
  t.match(render({ ...APP, config: { allow_insecure: true }, controlPlane: { url: 'https://cp.example.com' } }).notes, /WARNING: bundles from https:\/\/cp\.example\.com are not signature-checked/)
  t.match(render(EXISTING).notes, /kubectl -n shop patch deployment <your-deployment> --type strategic --patch-file bouncer-patch\.yaml/)
})
