// Everything the chart renders is valid for Kubernetes 1.29 (the oldest release native
// sidecars need) and the newest release (1.36), checked against Kubernetes' own schemas
// (fixtures/kubernetes-schemas.ts) for the default values and every documented option,
// combined: how the sidecar is added (example Deployment or patch; container or native),
// Redis (none, in-chart TLS or plaintext, external), control plane and signing keys,
// monitoring (ServiceMonitor, PrometheusRule, dashboard), proxy TLS (a Secret, or a
// cert-manager Certificate), the helm test pod and the NetworkPolicy variants. The patch
// for an existing workload is validated as the Deployment it produces.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { NEWEST_KUBE_VERSION, renderChart } from './fixtures/gotemplate.js'
import { POLICY_FILES } from './fixtures/values.js'
import { validate129, validateNewest, type SchemaProblem } from './fixtures/kubernetes-schemas.js'

type Obj = Record<string, any>
const chartDir = join(fileURLToPath(new URL('../..', import.meta.url)), 'helm/bouncer')

const APP = { app: { image: { repository: 'registry.example.com/shop-api', tag: '1.4.2' } }, policy: POLICY_FILES }

// One entry per documented option (values.yaml, helm/bouncer/README.md, docs/operations.md).
const WORKLOAD: Record<string, Obj> = {
  example: APP,
  existing: { workload: { enabled: false, existingSelector: { 'app.kubernetes.io/name': 'shop-api' } }, app: { port: 5000 } },
}
const SIDECAR: Record<string, Obj> = {
  container: { bouncer: { sidecarMode: 'container' } },
  native: { bouncer: { sidecarMode: 'native' }, app: { lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } } } },
}
const REDIS: Record<string, Obj> = {
  none: {},
  'internal TLS': { redis: { mode: 'internal', internal: { tls: { existingSecret: 'redis-tls' }, password: { existingSecret: 'redis-pw' } } } },
  'internal plaintext': { redis: { mode: 'internal' }, config: { allow_insecure: true } },
  external: { redis: { mode: 'external', external: { url: 'rediss://redis.example.com:6380', password: { existingSecret: 'redis-pw' }, tls: { caSecret: 'redis-ca', servername: 'redis.example.com' } } } },
}
// config.production (the default) refuses a cleartext proxy port unless allow_insecure.
const TLS: Record<string, Obj> = {
  'none (allow_insecure)': { config: { allow_insecure: true } },
  secret: { bouncer: { tls: { secretName: 'shop-api-tls' } } },
  'cert-manager': { bouncer: { tls: { certManager: { enabled: true, issuerRef: { name: 'internal-ca', kind: 'ClusterIssuer' } } } } },
}
// Rotated through the combinations above, so each value appears several times.
const CONTROL_PLANE: Obj[] = [
  { policy: POLICY_FILES },
  {
    controlPlane: { url: 'https://control-plane.example.com', credentials: { existingSecret: 'cp-token' }, tls: { caSecret: 'cp-ca' } },
    bundleSigning: { keys: { prod: { algorithm: 'RS256', existingSecret: 'bundle-signing', secretKey: 'public.pem' } }, scope: 'write' },
    policy: { files: { 'authz.rego': 'package bouncer\n\ndecision := {"allow": true}\n' } },
    masking: { hashKey: { existingSecret: 'mask-key' } },
    bouncer: { extraSecretMounts: [{ name: 'jwt', secretName: 'jwt-keys' }], extraArgs: ['--set', 'logging.level=debug'], env: [{ name: 'BOUNCER_LOGGING_LEVEL', value: 'debug' }] },
  },
  { policy: { existingConfigMap: 'shop-api-policy' }, controlPlane: { url: 'https://cp.example.com', bundles: { enabled: false } }, config: { allow_insecure: true } },
]
const MONITORING: Obj[] = [
  {},
  { metrics: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } }, prometheusRule: { enabled: true, labels: { release: 'prometheus' }, runbookBaseUrl: 'https://git.example.com/bouncer/docs/operations.md', additionalLabels: { team: 'platform' } }, dashboard: { enabled: true, folder: 'Security' } } },
  { metrics: { prometheusRule: { enabled: true, selector: 'namespace="shop"' }, dashboard: { enabled: true, namespace: 'monitoring' } } },
]
const TESTS: Obj[] = [{}, { tests: { enabled: false } }, { tests: { allowed: { method: 'POST', path: '/v1/orders', headers: { authorization: 'Bearer test' }, expectStatus: 201 } } }]
const NETWORK: Obj[] = [
  {},
  { networkPolicy: { ingressFrom: [{ namespaceSelector: { matchLabels: { team: 'web' } } }], metricsFrom: [], egress: { controlPlane: [{ ipBlock: { cidr: '10.0.0.0/8' } }], redis: [{ ipBlock: { cidr: '10.1.0.0/16' } }], extra: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }] }] } } },
  { networkPolicy: { enabled: false }, podDisruptionBudget: { enabled: false }, serviceAccount: { create: false } },
]
const POD: Obj[] = [
  {},
  { image: { repository: 'registry.example.com/bouncer', digest: 'sha256:' + 'b'.repeat(64) }, imagePullSecrets: [{ name: 'registry' }], workload: { nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'api', effect: 'NoSchedule' }], topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'x' } } }], priorityClassName: 'high', podAnnotations: { a: 'b' }, podLabels: { tier: 'api' } } },
]

function merge (...parts: Obj[]): Obj {
  const out: Obj = {}
  const into = (dst: Obj, src: Obj) => {
    for (const [k, v] of Object.entries(src)) {
      if (v && typeof v === 'object' && !Array.isArray(v) && dst[k] && typeof dst[k] === 'object' && !Array.isArray(dst[k])) into(dst[k], v)
      else dst[k] = structuredClone(v)
    }
  }
  for (const p of parts) into(out, p)
  return out
}

interface Scenario { name: string; values: Obj }
function scenarios (): Scenario[] {
  const out: Scenario[] = [
    { name: 'defaults (example workload) + the required TLS Secret and a policy', values: merge(APP, TLS.secret!) },
    { name: 'defaults (existing workload) + the required TLS Secret and a policy', values: merge(WORKLOAD.existing!, TLS.secret!, { policy: POLICY_FILES }) },
  ]
  let i = 0
  for (const [w, wv] of Object.entries(WORKLOAD)) {
    for (const [s, sv] of Object.entries(SIDECAR)) {
      for (const [r, rv] of Object.entries(REDIS)) {
        for (const [l, lv] of Object.entries(TLS)) {
          const pick = <T>(list: T[], salt: number) => list[(i + salt) % list.length]!
          const extra = [pick(CONTROL_PLANE, 0), pick(MONITORING, 1), pick(TESTS, 2), pick(NETWORK, 0), pick(POD, 1)]
          out.push({ name: `${w} workload, ${s} sidecar, redis ${r}, tls ${l} #${i}`, values: merge(wv, sv, rv, lv, ...extra) })
          i++
        }
      }
    }
  }
  return out
}

/** The existing-workload patch applied (strategic merge: containers, initContainers and volumes by name) to a typical Deployment. */
function patchedDeployment (manifests: Obj[]): Obj | undefined {
  const cm = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-sidecar-patch'))
  if (!cm) return undefined
  const patch = parseYaml(cm.data['patch.yaml']) as Obj
  const byName = (base: Obj[] = [], add: Obj[] = []) => [...base.filter((x) => !add.some((y) => y.name === x.name)), ...add]
  const d: Obj = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'shop-api', namespace: 'shop' },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'shop-api' } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'shop-api' }, annotations: {} },
        spec: { containers: [{ name: 'shop-api', image: 'shop-api:1', ports: [{ containerPort: 5000 }] }], volumes: [{ name: 'cache', emptyDir: {} }] },
      },
    },
  }
  const spec = d.spec.template.spec
  const p = patch.spec.template
  Object.assign(d.spec.template.metadata.annotations, p.metadata?.annotations ?? {})
  if (p.spec.containers) spec.containers = byName(spec.containers, p.spec.containers)
  if (p.spec.initContainers) spec.initContainers = byName(spec.initContainers, p.spec.initContainers)
  spec.volumes = byName(spec.volumes, p.spec.volumes)
  return d
}

const report = (ps: SchemaProblem[]) => ps.map((p) => `${p.manifest}: ${p.message}`).join('\n')

const all = scenarios()

t.test('the scenarios cover every documented option', async (t) => {
  t.ok(all.length >= 50, `${all.length} value sets`)
  const names = all.map((s) => s.name).join('\n')
  for (const dim of [WORKLOAD, SIDECAR, REDIS, TLS]) for (const k of Object.keys(dim)) t.ok(names.includes(k), k)
  const rotated = (list: Obj[]) => list.every((x) => all.some((s) => JSON.stringify(merge(s.values, x)) === JSON.stringify(s.values)))
  for (const [what, list] of [['control plane', CONTROL_PLANE], ['monitoring', MONITORING], ['tests', TESTS], ['network', NETWORK], ['pod', POD]] as const) {
    t.ok(rotated(list), `every ${what} variant is in some scenario`)
  }
})

for (const [label, kubeVersion] of [['1.29', 'v1.29.0'], ['newest', NEWEST_KUBE_VERSION]] as const) {
  t.test(`Kubernetes ${label} (${kubeVersion}): every rendered manifest is valid`, async (t) => {
    const manifests: Obj[] = []
    const kinds = new Set<string>()
    for (const s of all) {
      const r = renderChart(chartDir, s.values, undefined, { kubeVersion })
      const ms = r.manifests as Obj[]
      const patched = patchedDeployment(ms)
      for (const m of [...ms, ...(patched ? [patched] : [])]) {
        // Tag each manifest with its scenario, so a failure names it.
        manifests.push({ ...m, metadata: { ...m.metadata, annotations: { ...m.metadata?.annotations, 'test.bouncer/scenario': s.name } } })
        kinds.add(`${m.apiVersion}/${m.kind}`)
      }
    }
    t.same([...kinds].sort(), [
      'apps/v1/Deployment', 'cert-manager.io/v1/Certificate', 'monitoring.coreos.com/v1/PrometheusRule', 'monitoring.coreos.com/v1/ServiceMonitor',
      'networking.k8s.io/v1/NetworkPolicy', 'policy/v1/PodDisruptionBudget', 'v1/ConfigMap', 'v1/Pod', 'v1/Secret', 'v1/Service', 'v1/ServiceAccount',
    ], 'every kind the chart renders is checked')
    const problems = label === '1.29' ? validate129(manifests) : await validateNewest(manifests)
    t.same(problems, [], `${manifests.length} manifests from ${all.length} value sets:\n${report(problems)}`)
    if (label === '1.29') {
      // The CRDs are checked against their own schemas whatever the cluster version.
      const crds = manifests.filter((m) => /coreos|cert-manager/.test(m.apiVersion))
      t.same(await validateNewest(crds), [], 'PrometheusRule, ServiceMonitor, Certificate')
    }
  })
}

t.test('the checks catch what the API server would refuse', async (t) => {
  const ms = renderChart(chartDir, merge(APP, SIDECAR.native!, TLS.secret!)).manifests as Obj[]
  const dep = structuredClone(ms.find((m) => m.kind === 'Deployment')!)
  dep.spec.template.spec.initContainers[0].restartPolicyy = 'Always'
  t.match(report(validate129([dep])), /'"restartPolicyy"' does not exist in type 'Container'/, '1.29: a misspelt field')
  const svc = structuredClone(ms.find((m) => m.kind === 'Service')!)
  svc.spec.ports[0].port = '80'
  t.match(report(validate129([svc])), /not assignable to type 'number'/, '1.29: a wrong type')
  t.match(report(await validateNewest([svc])), /\/spec\/ports\/0\/port must be integer/, 'newest: a wrong type')
  const pdb = structuredClone(ms.find((m) => m.kind === 'PodDisruptionBudget')!)
  delete pdb.spec.selector.matchLabels
  pdb.spec.selector.matchExpressions = [{ key: 'a' }]
  t.match(report(await validateNewest([pdb])), /operator/, 'newest: a missing required field')
  t.match(report(validate129([pdb])), /operator/, '1.29: a missing required field')
})
