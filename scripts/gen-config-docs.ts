// Generates the parts of the docs and the Helm chart that must match the code:
//   docs/operations.md            configuration reference (from src/config's schema) and the
//                                 metrics list (from src/metrics), between GENERATED markers
//   helm/bouncer/values.schema.json   properties.config = the config schema, so `helm install`
//                                 rejects a bad setting before a pod ever starts
// Usage: npx tsx scripts/gen-config-docs.ts [--check]
//   --check: write nothing; exit 1 and name each stale file (test/deploy/docs.test.ts runs it).
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { configLeaves, configSchema } from '../src/config/index.js'
import { createMetrics } from '../src/metrics/index.js'

const root = fileURLToPath(new URL('..', import.meta.url))
export const OPERATIONS_MD = 'docs/operations.md'
export const VALUES_SCHEMA = 'helm/bouncer/values.schema.json'

interface SchemaNode {
  type?: string | readonly string[]
  description?: string
  default?: unknown
  enum?: readonly unknown[]
  minimum?: number
  maximum?: number
  pattern?: string
  properties?: Record<string, SchemaNode>
  additionalProperties?: boolean | SchemaNode
  items?: SchemaNode
  required?: readonly string[]
  uniqueItems?: boolean
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const code = (s: string) => '`' + s + '`'

function describeType (s: SchemaNode): string {
  if (s.enum) return s.enum.map((v) => code(JSON.stringify(v))).join(' \\| ')
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type as string] : []
  if (types.includes('array') && s.items) {
    const inner = s.items.properties ? `objects (${Object.keys(s.items.properties).map(code).join(', ')})` : describeType(s.items)
    return `list of ${inner}${types.length > 1 ? ` or ${types.filter((t) => t !== 'array').join(' or ')}` : ''}`
  }
  if (types.includes('object') && s.additionalProperties && typeof s.additionalProperties === 'object') {
    const v = s.additionalProperties
    return `map of name → ${v.properties ? `object (${Object.keys(v.properties).map(code).join(', ')})` : describeType(v)}`
  }
  let t = types.join(' or ') || 'any'
  if (s.minimum !== undefined && s.maximum !== undefined) t += ` ${s.minimum}–${s.maximum}`
  else if (s.minimum !== undefined) t += ` ≥ ${s.minimum}`
  else if (s.maximum !== undefined) t += ` ≤ ${s.maximum}`
  if (s.pattern) t += ` matching ${code(s.pattern)}`
  return t
}

function describeDefault (s: SchemaNode): string {
  if (s.default === undefined) return '—'
  if (Array.isArray(s.default) && s.default.length === 0) return code('[]')
  return code(JSON.stringify(s.default))
}

export function renderConfigReference (): string {
  const top = configSchema as unknown as SchemaNode
  const lines: string[] = [
    'Every setting can be given in the YAML config file (`--config FILE` or `BOUNCER_CONFIG`), as an',
    'environment variable (the name in the table), or as a flag (`--set key=value`, plus the named',
    'flags of `bouncer run --help`). Flags win over environment variables, which win over the file.',
    'Lists given through the environment are comma-separated or JSON; an empty variable is an',
    'error (an unset template value must not empty `decision_logs.erase_headers`), `[]` is the empty',
    'list. Configuration errors name a secret setting without repeating its value, and hide a',
    'password in a URL.',
    '',
  ]
  const byTop = new Map<string, typeof configLeaves.all>()
  for (const leaf of configLeaves.all) {
    const k = leaf.path.length > 1 ? leaf.path[0] : ''
    if (!byTop.has(k)) byTop.set(k, [])
    byTop.get(k)!.push(leaf)
  }
  const header = ['| Setting | Environment variable | Type | Default | Description |', '| --- | --- | --- | --- | --- |']
  const row = (leaf: (typeof configLeaves.all)[number]) => {
    const s = leaf.schema as SchemaNode
    return `| ${code(leaf.dotted)} | ${code(leaf.env)} | ${cell(describeType(s))} | ${cell(describeDefault(s))} | ${cell(s.description ?? '')} |`
  }
  const general = byTop.get('') ?? []
  if (general.length) {
    lines.push('### General', '', ...header, ...general.map(row), '')
  }
  for (const [key, child] of Object.entries(top.properties ?? {})) {
    const leaves = byTop.get(key)
    if (!leaves) continue
    lines.push(`### \`${key}\``, '', child.description ? `${child.description[0].toUpperCase()}${child.description.slice(1)}.` : '', '', ...header, ...leaves.map(row), '')
  }
  return lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()
}

export function renderMetricsList (): string {
  const { registry } = createMetrics({ defaultMetrics: false })
  const metrics = registry.getMetricsAsArray() as unknown as Array<{ name: string; type: string; help: string; labelNames?: readonly string[] }>
  const lines = [
    'Served on the admin port at `/metrics` (Prometheus text format). With `admin.default_metrics`',
    '(default on), prom-client\'s process and Node.js runtime metrics are exported too, under their',
    'standard names (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `nodejs_eventloop_lag_p99_seconds`,',
    '`nodejs_heap_size_used_bytes`, ...), so stock Node.js dashboards work unchanged.',
    '',
    '| Metric | Type | Labels | Meaning |',
    '| --- | --- | --- | --- |',
  ]
  for (const m of metrics) {
    lines.push(`| ${code(m.name)} | ${m.type} | ${(m.labelNames ?? []).map(code).join(', ') || '—'} | ${cell(m.help)} |`)
  }
  return lines.join('\n')
}

function replaceBetween (doc: string, name: string, body: string): string {
  const begin = `<!-- BEGIN GENERATED: ${name} (npx tsx scripts/gen-config-docs.ts) -->`
  const end = `<!-- END GENERATED: ${name} -->`
  const i = doc.indexOf(begin)
  const j = doc.indexOf(end)
  if (i < 0 || j < i) throw new Error(`${OPERATIONS_MD}: markers for "${name}" not found (need "${begin}" … "${end}")`)
  return doc.slice(0, i + begin.length) + '\n' + body + '\n' + doc.slice(j)
}

export function renderOperations (current: string): string {
  let doc = replaceBetween(current, 'config', renderConfigReference())
  doc = replaceBetween(doc, 'metrics', renderMetricsList())
  return doc
}

export function renderValuesSchema (current: string): string {
  const schema = JSON.parse(current) as { properties: Record<string, unknown> }
  const { $schema: _s, $id: _i, title: _t, ...config } = configSchema as unknown as Record<string, unknown>
  schema.properties.config = { ...config, description: 'the bouncer configuration file (generated from src/config/schema.ts)' }
  return JSON.stringify(schema, null, 2) + '\n'
}

export function outputs (): Array<{ file: string; current: string; wanted: string }> {
  const read = (f: string) => readFileSync(new URL(f, `file://${root}`), 'utf8')
  const ops = read(OPERATIONS_MD)
  const vs = read(VALUES_SCHEMA)
  return [
    { file: OPERATIONS_MD, current: ops, wanted: renderOperations(ops) },
    { file: VALUES_SCHEMA, current: vs, wanted: renderValuesSchema(vs) },
  ]
}

function main (argv: string[]): number {
  const check = argv.includes('--check')
  let stale = 0
  for (const o of outputs()) {
    if (o.current === o.wanted) continue
    stale++
    if (check) console.error(`${o.file} is stale: run \`npx tsx scripts/gen-config-docs.ts\``)
    else { writeFileSync(new URL(o.file, `file://${root}`), o.wanted); console.log(`wrote ${o.file}`) }
  }
  if (!stale) console.log('generated docs are up to date')
  return check && stale ? 1 : 0
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2))
