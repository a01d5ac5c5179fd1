// The chart's options beyond the basic sidecar (chart.test.ts): native sidecars, proxy TLS from
// cert-manager, the PrometheusRule and dashboard, the `helm test` pod (its script is run here
// against a real bouncer), and the value combinations the chart refuses to render.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { configSchema } from '../../src/config/index.js'
import { renderChart } from './fixtures/gotemplate.js'
import { POLICY_FILES } from './fixtures/values.js'
import { freePort, startBouncer, startUpstream } from '../helpers/index.js'

type Obj = Record<string, any>
const root = fileURLToPath(new URL('../..', import.meta.url))
const chartDir = join(root, 'helm/bouncer')
// config.production (the default) refuses a cleartext proxy port: a TLS Secret for it.
const APP = { app: { image: { repository: 'registry.example.com/shop-api', tag: '1.4.2' } }, bouncer: { tls: { secretName: 'shop-api-tls' } }, policy: POLICY_FILES }
const CLEARTEXT = { app: APP.app, policy: POLICY_FILES, config: { allow_insecure: true } }
const EXISTING = { workload: { enabled: false, existingSelector: { 'app.kubernetes.io/name': 'shop-api' } }, bouncer: APP.bouncer, policy: POLICY_FILES }

const render = (o: Obj, kubeVersion?: string) => renderChart(chartDir, o, undefined, kubeVersion ? { kubeVersion } : {}).manifests as Obj[]
const find = (ms: Obj[], kind: string, name?: string) => ms.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name))
const one = (ms: Obj[], kind: string, name?: string) => { const f = find(ms, kind, name); if (f.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, got ${f.length}`); return f[0]! }
const podSpec = (ms: Obj[]) => one(ms, 'Deployment', 'demo-bouncer').spec.template.spec

t.test('native sidecar: the bouncer is an init container with restartPolicy Always', async (t) => {
  const ms = render({ ...APP, bouncer: { ...APP.bouncer, sidecarMode: 'native' } }, 'v1.29.0')
  const pod = podSpec(ms)
  t.same(pod.containers.map((c: Obj) => c.name), ['app'], 'only the app among the containers')
  t.same(pod.initContainers.map((c: Obj) => c.name), ['bouncer'])
  const b = pod.initContainers[0]
  t.equal(b.restartPolicy, 'Always', 'a sidecar: started before the app, stopped after it')
  t.match(b.readinessProbe, { httpGet: { path: '/readyz', port: 'admin' } }, 'probes kept (allowed on sidecar init containers)')
  t.match(b.startupProbe, { httpGet: { path: '/healthz' } }, 'the app starts once the bouncer\'s startup probe passes')
  t.notOk(b.lifecycle, 'no preStop sleep: Kubernetes stops the sidecar after the app')

  const container = podSpec(render(APP)).containers.find((c: Obj) => c.name === 'bouncer')
  const { restartPolicy: _r, ...nativeRest } = b
  const { lifecycle: _l, ...containerRest } = container
  t.same(nativeRest, containerRest, 'the same container definition in both modes')
  t.notOk(podSpec(render(APP)).initContainers, 'container mode (default): no init containers')

  const withHook = podSpec(render({ policy: POLICY_FILES, bouncer: { ...APP.bouncer, sidecarMode: 'native' }, app: { ...APP.app, lifecycle: { preStop: { sleep: { seconds: 5 } } } } }))
  t.same(withHook.containers[0].lifecycle, { preStop: { sleep: { seconds: 5 } } }, 'app.lifecycle reaches the app container')

  const patch = parseYaml(one(render({ ...EXISTING, bouncer: { ...APP.bouncer, sidecarMode: 'native' } }), 'ConfigMap', 'demo-bouncer-sidecar-patch').data['patch.yaml']) as Obj
  t.notOk(patch.spec.template.spec.containers, 'the existing-workload patch adds no regular container')
  t.equal(patch.spec.template.spec.initContainers[0].restartPolicy, 'Always', 'it adds the native sidecar')
})

t.test('proxy TLS: a Secret mounted at /etc/bouncer/tls, issued by cert-manager on request', async (t) => {
  const mountOf = (ms: Obj[]) => podSpec(ms).containers.find((c: Obj) => c.name === 'bouncer').volumeMounts.find((m: Obj) => m.name === 'bouncer-tls')
  const volOf = (ms: Obj[]) => podSpec(ms).volumes.find((v: Obj) => v.name === 'bouncer-tls')
  t.notOk(mountOf(render(CLEARTEXT)), 'no TLS volume without a TLS Secret (allow_insecure)')
  t.notOk(find(render(CLEARTEXT), 'Certificate').length)
  const config = (ms: Obj[]) => parseYaml(one(ms, 'ConfigMap', 'demo-bouncer-config').data['config.yaml']) as Obj
  t.notOk(config(render(CLEARTEXT)).server.tls, 'cleartext proxy port')

  const own = render({ ...APP, bouncer: { tls: { secretName: 'shop-api-tls' } } })
  t.same(config(own).server.tls, { enabled: true, cert_file: '/etc/bouncer/tls/tls.crt', key_file: '/etc/bouncer/tls/tls.key' }, 'server.tls reads the mounted files')
  t.equal(one(own, 'Service', 'demo-bouncer').spec.ports[0].name, 'https')
  t.same(mountOf(own), { name: 'bouncer-tls', mountPath: '/etc/bouncer/tls', readOnly: true })
  t.same(volOf(own), { name: 'bouncer-tls', secret: { secretName: 'shop-api-tls' } })
  t.notOk(find(own, 'Certificate').length, 'a Secret you manage: no Certificate')

  const cm = render({ app: APP.app, policy: POLICY_FILES, bouncer: { tls: { certManager: { enabled: true, issuerRef: { name: 'internal-ca', kind: 'ClusterIssuer' } } } } })
  const cert = one(cm, 'Certificate', 'demo-bouncer-tls')
  t.equal(cert.apiVersion, 'cert-manager.io/v1')
  t.equal(cert.spec.secretName, volOf(cm).secret.secretName, 'the Certificate fills the mounted Secret')
  t.equal(cert.spec.secretName, 'demo-bouncer-tls', 'default Secret name')
  t.same(cert.spec.issuerRef, { name: 'internal-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' })
  const svc = one(cm, 'Service', 'demo-bouncer')
  t.ok(cert.spec.dnsNames.includes(`${svc.metadata.name}.shop.svc`) && cert.spec.dnsNames.includes(`${svc.metadata.name}.shop.svc.cluster.local`), 'default names: the Service\'s')
  t.ok(cert.spec.usages.includes('server auth'))
  t.match(cert.spec, { duration: '2160h', renewBefore: '360h', privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' } })

  const named = one(render({ app: APP.app, policy: POLICY_FILES, bouncer: { tls: { secretName: 'given', certManager: { enabled: true, issuerRef: { name: 'ca' }, dnsNames: ['api.example.com'] } } } }), 'Certificate')
  t.equal(named.spec.secretName, 'given')
  t.same(named.spec.dnsNames, ['api.example.com'])
  const patch = parseYaml(one(render({ ...EXISTING, bouncer: { tls: { secretName: 'x' } } }), 'ConfigMap', 'demo-bouncer-sidecar-patch').data['patch.yaml']) as Obj
  t.equal(config(render({ ...EXISTING, bouncer: { tls: { secretName: 'x' } } })).server.tls.cert_file, '/etc/bouncer/tls/tls.crt')
  t.ok(patch.spec.template.spec.volumes.some((v: Obj) => v.name === 'bouncer-tls'), 'the existing-workload patch carries the TLS volume')
})

t.test('PrometheusRule: the alerts of docs/operations.md, scoped to this release', async (t) => {
  t.notOk(find(render({ ...APP, metrics: { serviceMonitor: { enabled: true } } }), 'PrometheusRule').length, 'off by default')
  const ms = render({ ...APP, metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true, labels: { release: 'prom' }, runbookBaseUrl: 'https://git.example.com/docs/operations.md/', additionalLabels: { team: 'platform' } } } })
  const rule = one(ms, 'PrometheusRule')
  t.equal(rule.metadata.labels.release, 'prom', 'labels for the Prometheus rule selector')
  const rules = rule.spec.groups.flatMap((g: Obj) => g.rules) as Obj[]
  t.same(rules.map((r) => r.alert), ['BouncerNotReady', 'BouncerFailClosed', 'BouncerPolicyErrors', 'BouncerBundleStale', 'BouncerBundleFailures', 'BouncerDecisionLogBacklog', 'BouncerDecisionLogDrops', 'BouncerRedisBreakerOpen'])
  const sm = one(ms, 'ServiceMonitor')
  const job = one(ms, 'Service', 'demo-bouncer-metrics').metadata.name
  t.equal(sm.spec.selector.matchLabels['app.kubernetes.io/component'], 'metrics', 'scraped through the metrics Service, whose name is the job')
  for (const r of rules) {
    t.match(r.expr, `{namespace="shop", job="${job}"}`, `${r.alert}: only this release's series`)
    t.match(r.labels, { severity: /^(warning|critical)$/, team: 'platform' })
    t.match(r.annotations.summary, /\{\{ \$labels\.pod \}\}/, `${r.alert}: names the pod (Prometheus template, not Helm's)`)
    t.match(r.annotations.runbook_url, /^https:\/\/git\.example\.com\/docs\/operations\.md#[a-z-]+$/)
  }
  // Runbook anchors exist in docs/operations.md.
  const { readFileSync } = await import('node:fs')
  const slugs = [...readFileSync(join(root, 'docs/operations.md'), 'utf8').matchAll(/^#+\s+(.+)$/gm)].map((h) => h[1]!.toLowerCase().replace(/[`*]/g, '').replace(/[^a-z0-9 -]/g, '').trim().replace(/ /g, '-'))
  for (const r of rules) t.ok(slugs.includes(r.annotations.runbook_url.split('#')[1]), `${r.alert}: runbook anchor exists`)

  const backlog = rules.find((r) => r.alert === 'BouncerDecisionLogBacklog')!
  const defaultMax = (configSchema as Obj).properties.decision_logs.properties.max_bytes.default
  t.match(backlog.expr, ` / ${defaultMax} > 0.5`, 'spool threshold from the config default')
  const custom = one(render({ ...APP, config: { decision_logs: { max_bytes: 1048576 } }, metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true, spoolFullRatio: 0.8 } } }), 'PrometheusRule')
  t.match(custom.spec.groups[0].rules.find((r: Obj) => r.alert === 'BouncerDecisionLogBacklog').expr, ' / 1048576 > 0.8', 'and from config.decision_logs.max_bytes')
  const sel = one(render({ ...APP, metrics: { prometheusRule: { enabled: true, selector: 'namespace="shop", container="bouncer"' } } }), 'PrometheusRule')
  t.match(sel.spec.groups[0].rules[0].expr, 'bouncer_ready{namespace="shop", container="bouncer"}', 'a selector of your own')
  t.notOk(sel.spec.groups[0].rules[0].annotations.runbook_url, 'no runbook_url without runbookBaseUrl')
})

t.test('dashboard: a ConfigMap for Grafana\'s sidecar with the generated dashboard', async (t) => {
  t.notOk(find(render(APP), 'ConfigMap', 'demo-bouncer-dashboard').length, 'off by default')
  const cm = one(render({ ...APP, metrics: { dashboard: { enabled: true, folder: 'Security' } } }), 'ConfigMap', 'demo-bouncer-dashboard')
  t.equal(cm.metadata.labels.grafana_dashboard, '1', 'the label Grafana\'s sidecar loads')
  t.equal(cm.metadata.annotations.grafana_folder, 'Security')
  const { readFileSync } = await import('node:fs')
  t.equal(cm.data['bouncer.json'], readFileSync(join(chartDir, 'dashboards/bouncer.json'), 'utf8').replace(/\n$/, ''), 'the chart\'s dashboards/bouncer.json, verbatim')
  const d = JSON.parse(cm.data['bouncer.json']) as Obj
  t.equal(d.uid, 'bouncer-sidecar')
  const other = one(render({ ...APP, metrics: { dashboard: { enabled: true, label: 'dashboards', labelValue: 'bouncer', namespace: 'monitoring' } } }), 'ConfigMap', 'demo-bouncer-dashboard')
  t.equal(other.metadata.labels.dashboards, 'bouncer')
  t.equal(other.metadata.namespace, 'monitoring')
})

/** Runs the helm test pod's command (node -e <script>) with its env, URLs pointed at a local bouncer. */
async function runTestPod (pod: Obj, urls: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const c = pod.spec.containers[0]
  let plan = c.env.find((e: Obj) => e.name === 'HELM_TEST_PLAN').value as string
  for (const [from, to] of Object.entries(urls)) plan = plan.split(from).join(to)
  const [cmd, ...args] = c.command as string[]
  t.equal(cmd, 'node')
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, HELM_TEST_PLAN: plan }, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.on('data', (b: Buffer) => { out += b.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', (x) => resolve(x)))
  return { code, out }
}

t.test('helm test pod: /readyz, one allowed and one denied request — run against a real bouncer', async (t) => {
  const withTls = one(render(APP), 'Pod', 'demo-bouncer-test').spec
  const tlsPlan = JSON.parse(withTls.containers[0].env.find((e: Obj) => e.name === 'HELM_TEST_PLAN').value) as { checks: Obj[] }
  t.match(tlsPlan.checks[1].url, /^https:\/\/demo-bouncer\.shop\.svc:80\//, 'https to the Service when the proxy port has TLS')
  t.same(withTls.containers[0].env.find((e: Obj) => e.name === 'NODE_EXTRA_CA_CERTS'), { name: 'NODE_EXTRA_CA_CERTS', value: '/etc/bouncer/tls/ca.crt' }, 'trusting the issuing CA')
  t.same(withTls.volumes, [{ name: 'ca', secret: { secretName: 'shop-api-tls', optional: true, items: [{ key: 'ca.crt', path: 'ca.crt' }] } }], 'only ca.crt of the TLS Secret, never its key')

  // The live run uses a cleartext proxy port (the bouncer's TLS listener is another module).
  const ms = render(CLEARTEXT)
  const pod = one(ms, 'Pod', 'demo-bouncer-test')
  t.equal(pod.metadata.annotations['helm.sh/hook'], 'test')
  t.equal(pod.spec.restartPolicy, 'Never')
  t.equal(pod.spec.containers[0].image, 'bouncer:0.1.0', 'the bouncer image (Node.js, no shell needed)')
  t.match(pod.spec.containers[0].securityContext, { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false })
  const metricsSvc = one(ms, 'Service', 'demo-bouncer-metrics')
  t.equal(metricsSvc.spec.publishNotReadyAddresses, true, '/readyz reaches not-ready pods too (their 503 is the answer)')
  t.notOk(find(render({ ...CLEARTEXT, tests: { enabled: false } }), 'Pod').length, 'tests.enabled=false: no pod')

  // The example policy (policies/) behind a real bouncer and a stub app.
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, policyPath: join(root, 'policies') })
  t.teardown(async () => { await b.close(); await up.close() })
  const urls = { 'http://demo-bouncer-metrics.shop.svc:9090': b.adminUrl, 'http://demo-bouncer.shop.svc:80': b.url }
  const pass = await runTestPod(pod, urls)
  t.equal(pass.code, 0, pass.out)
  t.match(pass.out, /ok {3}readyz: GET .*\/readyz -> 200/)
  t.match(pass.out, /ok {3}allowed request: GET .*\/v1\/products -> 200/)
  t.match(pass.out, /ok {3}denied request: GET .*\/v1\/customers -> 401/)
  t.match(pass.out, /all 3 checks passed/)
  t.ok(up.requests.some((r) => r.url === '/v1/products') && !up.requests.some((r) => r.url === '/v1/customers'), 'only the allowed request reached the app')

  const wrong = one(render({ ...CLEARTEXT, tests: { denied: { path: '/v1/products', expectStatus: 401 } } }), 'Pod', 'demo-bouncer-test')
  const fail = await runTestPod(wrong, urls)
  t.equal(fail.code, 1, 'a request the policy does not deny fails the test')
  t.match(fail.out, /FAIL denied request: GET .*\/v1\/products -> 200 \(expected 401\)/)
  t.match(fail.out, /1 of 3 checks failed/)

  const closed = await freePort()
  const down = await runTestPod(pod, { ...urls, 'http://demo-bouncer-metrics.shop.svc:9090': `http://127.0.0.1:${closed}` })
  t.equal(down.code, 1)
  t.match(down.out, new RegExp(`FAIL readyz: GET http://127\\.0\\.0\\.1:${closed}/readyz -> ECONNREFUSED`))

  const headers = one(render({ ...CLEARTEXT, tests: { allowed: { method: 'POST', path: '/v1/orders', headers: { authorization: 'Bearer x' }, expectStatus: 201 } } }), 'Pod')
  const planned = JSON.parse(headers.spec.containers[0].env[0].value) as { checks: Obj[] }
  t.same(planned.checks[1], { name: 'allowed request', method: 'POST', url: 'http://demo-bouncer.shop.svc:80/v1/orders', headers: { authorization: 'Bearer x' }, expectStatus: 201 })
})

t.test('combinations the chart cannot honour fail rendering, naming the value', async (t) => {
  t.throws(() => render({ ...APP, bouncer: { ...APP.bouncer, sidecarMode: 'native' } }, 'v1.28.9'), /bouncer\.sidecarMode=native needs Kubernetes >= 1\.29 .*this cluster is v1\.28\.9/, 'native sidecar on 1.28')
  t.doesNotThrow(() => render({ ...APP, bouncer: { ...APP.bouncer, sidecarMode: 'native' } }, 'v1.29.0'), 'native sidecar on 1.29')
  t.doesNotThrow(() => render({ ...EXISTING, bouncer: { ...APP.bouncer, sidecarMode: 'container' } }, 'v1.25.0'), 'container mode on older clusters')
  t.throws(() => render({ ...EXISTING, bouncer: { ...APP.bouncer, sidecarMode: 'native' } }, 'v1.27.3'), /bouncer\.sidecarMode=native/, 'also for the existing-workload patch')
  t.throws(() => render({ ...APP, bouncer: { ...APP.bouncer, sidecarMode: 'sidecar' } }), /bouncer\.sidecarMode must be "container" or "native"/)
  t.throws(() => render({ app: APP.app, policy: POLICY_FILES, bouncer: { tls: { certManager: { enabled: true } } } }), /bouncer\.tls\.certManager\.issuerRef\.name is required/)
  t.throws(() => render({ app: APP.app, policy: POLICY_FILES }), /config\.production refuses a cleartext proxy port: set bouncer\.tls\.secretName/, 'production mode without proxy TLS')
  t.throws(() => render({ ...APP, metrics: { prometheusRule: { enabled: true } } }), /metrics\.prometheusRule\.selector is required when metrics\.serviceMonitor\.enabled is false/)
})

t.test('the example app needs a fixed image tag (no floating latest)', async (t) => {
  t.throws(() => render({ app: { image: { repository: 'registry.example.com/shop-api' } }, bouncer: APP.bouncer, policy: POLICY_FILES }), /app\.image\.tag is required/)
})

t.test('values that would render a pod that cannot run are refused at render time', async (t) => {
  t.throws(() => render({ ...APP, bouncer: { ...APP.bouncer, ports: { proxy: 9090, admin: 9090 } } }), /bouncer\.ports\.proxy and bouncer\.ports\.admin must differ/)
  for (const host of ['127.0.0.1', 'localhost', '::1']) {
    t.throws(() => render({ ...APP, config: { admin: { host } } }), /config\.admin\.host .*probes/, `admin host ${host}`)
  }
  t.ok(render({ ...APP, config: { admin: { host: '0.0.0.0' } } }).length > 0, '0.0.0.0 renders')
})

t.test('terminationGracePeriodSeconds must cover the preStop sleep, the drain and the decision-log flush', async (t) => {
  const grace = (n: number) => ({ workload: { terminationGracePeriodSeconds: n } })
  t.ok(render({ ...APP, ...grace(15) }).length > 0, 'defaults without decision logs: 5 s preStop + 10 s drain fit in 15')
  t.throws(() => render({ ...APP, ...grace(14) }), /workload\.terminationGracePeriodSeconds \(14\) is shorter than the bouncer's shutdown: .* = 15 s/)
  const logs = { decision_logs: { enabled: true, service_url: 'https://cp.example.com' } }
  t.throws(() => render({ ...APP, ...grace(19), config: logs }), /\(19\) is shorter .*shutdown_flush_seconds \(5\) = 20 s/, 'with decision logs the flush counts (default 5)')
  t.ok(render({ ...APP, ...grace(20), config: logs }).length > 0)
  t.throws(() => render({ ...APP, config: { ...logs, server: { shutdown_timeout_seconds: 25.5 } } }), /\(30\) is shorter .*= 35\.5 s/, 'a longer drain in the default 30 s')
  t.ok(render({ ...APP, ...grace(5), config: { server: { shutdown_timeout_seconds: 0 } } }).length > 0, 'an explicit 0 counts as 0, not as the default')
  t.ok(render({ ...APP, ...grace(10), bouncer: { ...APP.bouncer, sidecarMode: 'native' } }, 'v1.29.0').length > 0, 'native sidecars render no preStop sleep')
  t.ok(render({ ...EXISTING, workload: { ...EXISTING.workload, terminationGracePeriodSeconds: 1 } }).length > 0, 'an existing workload\'s grace period is its own')
  // Decision logs the chart switches on from controlPlane count as well.
  const cp = { controlPlane: { url: 'https://cp.example.com' }, bundleSigning: { keys: { prod: { algorithm: 'RS256', existingSecret: 'bundle-signing', secretKey: 'public.pem' } } } }
  t.throws(() => render({ ...APP, ...grace(15), ...cp }), /\(15\) is shorter .*shutdown_flush_seconds \(5\) = 20 s/, 'logs wired from controlPlane: the flush counts')
  t.throws(() => render({ ...APP, ...cp, config: { decision_logs: { shutdown_flush_seconds: 60 } } }), /\(30\) is shorter .*shutdown_flush_seconds \(60\) = 75 s/)
  t.ok(render({ ...APP, ...grace(15), controlPlane: { url: 'https://cp.example.com', decisionLogs: { enabled: false } }, bundleSigning: cp.bundleSigning }).length > 0, 'controlPlane without decision logs: no flush')
})
