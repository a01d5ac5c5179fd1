// npm run conformance -- [--dir DIR] [--json FILE] [--filter TEXT] [--verbose]
// Runs OPA's language test cases in place and prints a table per category.
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runConformance, type Counts } from '../conformance/runner.js'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const DEFAULT_CORPUS = path.resolve(repo, '../shared/opa-conformance/v1')
export const DISPUTED_FILE = path.join(repo, 'test/conformance-disputed.json')

export async function loadDisputed (): Promise<Record<string, string>> {
  try { return JSON.parse(await readFile(DISPUTED_FILE, 'utf8')) as Record<string, string> } catch { return {} }
}

export function formatTable (categories: Record<string, Counts>, total: Counts): string {
  const rows = [['category', 'cases', 'passed', 'failed', 'unsupported', 'disputed']]
  for (const [name, c] of Object.entries(categories).sort()) rows.push([name, c.cases, c.passed, c.failed, c.unsupported, c.disputed].map(String))
  rows.push(['TOTAL', total.cases, total.passed, total.failed, total.unsupported, total.disputed].map(String))
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  return rows.map(r => r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ')).join('\n')
}

export async function main (argv: string[]): Promise<number> {
  let dir = DEFAULT_CORPUS
  let json: string | undefined
  let filter: string | undefined
  let verbose = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--dir') dir = argv[++i]
    else if (a === '--json') json = argv[++i]
    else if (a === '--filter') filter = argv[++i]
    else if (a === '--verbose' || a === '-v') verbose = true
    else { console.error(`unknown argument ${a}`); return 2 }
  }
  const t0 = performance.now()
  const report = await runConformance({
    dir,
    filter,
    disputed: await loadDisputed(),
    onResult: (r) => { if (verbose && r.outcome === 'failed') console.log(`FAIL ${r.note} (${r.file}): ${r.detail ?? ''}`) },
  })
  console.log(formatTable(report.categories, report.total))
  console.log(`time: ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  if (json !== undefined) {
    await writeFile(json, JSON.stringify({ total: report.total, categories: report.categories }, null, 2) + '\n')
  }
  return 0
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(code => { process.exitCode = code }, (e: unknown) => { console.error(e); process.exitCode = 1 })
}
