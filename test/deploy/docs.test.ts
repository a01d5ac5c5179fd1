// docs/operations.md and docs/compliance.md stay true to the code: the generated sections
// are current, every setting / env var / metric they name exists, links resolve, and every
// evidence command in the compliance table is exercised by a test or by CI.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { configLeaves, configSchema } from '../../src/config/index.js'
import { createMetrics } from '../../src/metrics/index.js'
import { outputs } from '../../scripts/gen-config-docs.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (f: string) => readFileSync(join(root, f), 'utf8')
const operations = read('docs/operations.md')
const compliance = read('docs/compliance.md')
const values = parseYaml(read('helm/bouncer/values.yaml')) as Record<string, unknown>
const metricNames = new Set((createMetrics({ defaultMetrics: false }).registry.getMetricsAsArray() as unknown as Array<{ name: string }>).map((m) => m.name))

t.test('generated sections are current (npx tsx scripts/gen-config-docs.ts)', async (t) => {
  for (const o of outputs()) t.ok(o.current === o.wanted, `${o.file} is up to date; regenerate with npx tsx scripts/gen-config-docs.ts`)
  for (const leaf of configLeaves.all) t.ok(operations.includes(`| \`${leaf.dotted}\` | \`${leaf.env}\` |`), `${leaf.dotted} documented`)
  for (const m of metricNames) t.ok(operations.includes(`| \`${m}\` |`), `${m} documented`)
})

t.test('the generator fails --check when a doc is stale', async (t) => {
  const [ops] = outputs()
  const stale = ops.current.replace(/\| `server\.port` \|[^\n]*\n/, '')
  t.not(stale, ops.current, 'removed a row')
  const { renderOperations } = await import('../../scripts/gen-config-docs.js')
  t.equal(renderOperations(stale), ops.wanted, 'regeneration restores it')
  t.throws(() => renderOperations('# no markers\n'), /markers for "config" not found/)
})

const DOCS = ['docs/operations.md', 'docs/compliance.md', 'helm/bouncer/templates/NOTES.txt', 'helm/bouncer/values.yaml', 'Dockerfile', 'docker/entrypoint.sh']

t.test('every BOUNCER_* environment variable named in docs, chart and image is a real setting', async (t) => {
  for (const f of DOCS) {
    for (const m of read(f).matchAll(/\bBOUNCER_[A-Z0-9_]+\b/g)) {
      const name = m[0]
      if (name.startsWith('BOUNCER_ERR_')) continue // error codes
      t.ok(name === 'BOUNCER_CONFIG' || configLeaves.byEnv.has(name), `${f}: ${name}`)
    }
  }
})

t.test('every metric named in the docs exists', async (t) => {
  let n = 0
  for (const f of DOCS) {
    for (const m of read(f).matchAll(/\bbouncer_[a-z][a-z0-9_]*\b/g)) {
      const name = m[0].replace(/_(bucket|sum|count)$/, '')
      n++
      t.ok(metricNames.has(name) || metricNames.has(m[0]), `${f}: ${m[0]}`)
    }
  }
  t.ok(n > 20)
})

t.test('every setting named in backticks in the docs exists (config, or chart values)', async (t) => {
  const sections = new Set(Object.keys((configSchema as { properties: object }).properties))
  const inValues = (path: string[]) => {
    let node: unknown = values
    for (const k of path) { if (!node || typeof node !== 'object' || !(k in node)) return false; node = (node as Record<string, unknown>)[k] }
    return true
  }
  const schemaHas = (path: string[]) => {
    let node = configSchema as unknown as { properties?: Record<string, unknown> }
    for (const k of path) { const next = node.properties?.[k]; if (!next) return false; node = next as typeof node }
    return true
  }
  let n = 0
  for (const f of ['docs/operations.md', 'docs/compliance.md']) {
    const text = read(f).replace(/<!-- BEGIN GENERATED[\s\S]*?<!-- END GENERATED[^>]*>/g, '')
    for (const m of text.matchAll(/`([a-z_]+(?:\.[a-z0-9_]+)+)(?:[:=][^`]*)?`/g)) {
      const path = m[1].split('.')
      if (!sections.has(path[0]) || /\.(ya?ml|json|md|ts|mjs|sh|txt|tpl)$/.test(m[1])) continue
      n++
      t.ok(schemaHas(path) || inValues(path), `${f}: \`${m[1]}\``)
    }
  }
  t.ok(n > 15, `${n} settings checked`)
})

t.test('links between the docs resolve', async (t) => {
  for (const f of ['docs/operations.md', 'docs/compliance.md']) {
    for (const m of read(f).matchAll(/\]\(([^)#\s]+)?(#[^)\s]+)?\)/g)) {
      const [, file, anchor] = m
      if (file && /^https?:/.test(file)) continue
      const target = file ? join(root, 'docs', file) : join(root, f)
      t.ok(existsSync(target), `${f}: ${m[0]} target exists`)
      if (anchor && existsSync(target)) {
        const slugs = [...readFileSync(target, 'utf8').matchAll(/^#+\s+(.+)$/gm)].map((h) => h[1].toLowerCase().replace(/[`*]/g, '').replace(/[^a-z0-9 -]/g, '').trim().replace(/ /g, '-'))
        t.ok(slugs.includes(anchor.slice(1)), `${f}: anchor ${anchor} exists`)
      }
    }
  }
})

t.test('operations runbook covers the failures the issue names', async (t) => {
  for (const h of ['### Redis is down or slow', '### Control plane is down', '### A bundle is rejected', '### Decision-log spool is full', '### Adding the sidecar to an existing workload']) {
    t.ok(operations.includes(h), h)
  }
})

// ---------------------------------------------------------------------------------------
// the compliance table and its evidence

interface Row { criterion: string; does: string; evidence: string; operator: string }
function table (): Row[] {
  const lines = compliance.split('\n').filter((l) => l.startsWith('| **'))
  return lines.map((l) => {
    const cells = l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim())
    return { criterion: cells[0], does: cells[1], evidence: cells[2], operator: cells[3] }
  })
}

// Where each evidence command is exercised. Adding a command to docs/compliance.md without
// a line here fails the test below.
const EVIDENCE: Record<string, { by: 'entrypoint-test' | 'ci+test' | 'suite'; file: string }> = {
  'bouncer test <policy-dir>': { by: 'entrypoint-test', file: 'test/deploy/entrypoint.test.ts' },
  'curl -s http://127.0.0.1:9090/readyz': { by: 'entrypoint-test', file: 'test/deploy/entrypoint.test.ts' },
  'curl -s http://127.0.0.1:9090/metrics': { by: 'entrypoint-test', file: 'test/deploy/entrypoint.test.ts' },
  'bouncer verify-log /var/lib/bouncer/spool': { by: 'entrypoint-test', file: 'test/deploy/entrypoint.test.ts' },
  'npm run security-gate': { by: 'ci+test', file: 'test/deploy/supply-chain.test.ts' },
  'npm run sbom': { by: 'ci+test', file: 'test/deploy/supply-chain.test.ts' },
  'npx tap test/deploy/chart.test.ts': { by: 'suite', file: 'test/deploy/chart.test.ts' },
  'npx tap test/masking/response.test.ts': { by: 'suite', file: 'test/masking/response.test.ts' },
  'npx tap test/deploy/entrypoint.test.ts': { by: 'suite', file: 'test/deploy/entrypoint.test.ts' },
}

t.test('compliance table: every criterion, four filled columns', async (t) => {
  const rows = table()
  const ids = rows.map((r) => /\*\*([^*]+)\*\*/.exec(r.criterion)![1])
  t.same(ids, ['CC6.1', 'CC6.6', 'CC6.7', 'CC7.2', 'CC8.1', 'PI1.x', 'P1 / C1'])
  for (const r of rows) {
    t.ok(r.does.length > 80 && r.evidence.length > 20 && r.operator.length > 80, `${r.criterion.slice(0, 20)}: all columns filled`)
    t.match(r.evidence, /`(bouncer|curl|npm|npx) /, `${r.criterion.slice(0, 20)}: at least one runnable command`)
  }
  t.notMatch(compliance, /24\/7 (support|operations|monitoring) (is|are) (provided|included)/i, 'no implied round-the-clock operations')
  t.match(compliance, /no\s+24\/7 response/)
})

t.test('every evidence command in docs/compliance.md is exercised by a test or CI', async (t) => {
  const commands = new Set<string>()
  for (const r of table()) for (const m of r.evidence.matchAll(/`((?:bouncer|curl|npm|npx) [^`]+)`/g)) commands.add(m[1])
  t.same([...commands].sort(), Object.keys(EVIDENCE).sort(), 'the table and this list name the same commands')
  const ci = read('.ci/run')
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> }
  // `npm test` (scripts/test.mjs) runs every *.test.ts under test/; tap must not exclude the file either.
  const testRunner = read('scripts/test.mjs')
  const runsAllUnderTest = /findTests\('test'\)/.test(testRunner) && testRunner.includes('\\.test\\.ts$')
  const tapLists = (file: string) => spawnSync(process.execPath, [join(root, 'node_modules/.bin/tap'), 'list', file], { cwd: root, encoding: 'utf8' }).stdout.split('\n').map((l) => l.trim()).includes(file)
  for (const [cmd, where] of Object.entries(EVIDENCE)) {
    t.ok(existsSync(join(root, where.file)), `${cmd}: ${where.file} exists`)
    const text = existsSync(join(root, where.file)) ? read(where.file) : ''
    if (where.by === 'entrypoint-test') {
      t.ok(text.includes(`'evidence: ${cmd}'`), `${cmd}: a subtest named "evidence: ${cmd}" runs it`)
      const sub = cmd.split(' ')[1]
      if (cmd.startsWith('bouncer ')) t.ok(existsSync(join(root, `src/cli/${sub}.ts`)), `${cmd}: src/cli/${sub}.ts exists`)
    } else if (where.by === 'ci+test') {
      const script = cmd.replace('npm run ', '')
      t.ok(pkg.scripts[script], `${cmd}: package.json script`)
      t.ok(ci.includes(`npm run --silent ${script}`), `${cmd}: .ci/run runs it`)
      t.ok(text.includes(`scripts/${script}.mjs`), `${cmd}: ${where.file} runs scripts/${script}.mjs`)
    } else {
      t.equal(cmd, `npx tap ${where.file}`)
      t.ok(runsAllUnderTest && /^test\/.*\.test\.ts$/.test(where.file), `npm test picks up ${where.file}`)
      t.ok(tapLists(where.file), `tap runs ${where.file} (not excluded)`)
      t.ok(ci.includes('npm test'), '.ci/run runs npm test')
    }
  }
  // the metrics the table cites exist
  for (const r of table()) for (const m of r.evidence.matchAll(/`(bouncer_[a-z0-9_]+)`/g)) t.ok(metricNames.has(m[1]), `${m[1]} exists`)
})

t.test('README points to the image, the chart and both docs', { skip: !/^## Deploying/m.test(read('README.md')) ? 'README has no Deploying section yet' : false }, async (t) => {
  const readme = read('README.md')
  const section = readme.slice(readme.search(/^## Deploying/m))
  for (const s of ['Dockerfile', 'helm/bouncer', 'docs/operations.md', 'docs/compliance.md', 'npm run security-gate', 'npm run sbom']) t.ok(section.includes(s), `mentions ${s}`)
})
