// Golden files for the planner: each test/compiler/ir/<name>.rego is planned and printed with
// the IR printer (src/compiler/planner/ir-print.ts); the listing must equal <name>.ir.
// Regenerate after an intended planner change: BOUNCER_UPDATE_GOLDEN=1 and review the diff.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { Diagnostics, formatDiagnostic } from '../../src/compiler/diagnostics.js'
import { parseSources } from '../../src/compiler/index.js'
import { planPolicy } from '../../src/compiler/planner/index.js'
import { printPlan } from '../../src/compiler/planner/ir-print.js'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ir')
const update = process.env.BOUNCER_UPDATE_GOLDEN === '1'

for (const file of readdirSync(dir).filter(f => f.endsWith('.rego')).sort()) {
  t.test(file, async t => {
    const source = readFileSync(path.join(dir, file), 'utf8')
    const parsed = parseSources([{ file, source }])
    t.same(parsed.diagnostics.map(formatDiagnostic), [], 'parses')
    const diags = new Diagnostics()
    const pkg = parsed.modules[0].package.path.map(p => (p.type === 'string' ? p.value : '?')).join('/')
    const out = planPolicy({ modules: parsed.modules, entrypoints: [pkg] }, diags)
    t.same(diags.list.map(formatDiagnostic), [], 'plans')
    const listing = printPlan(out.plan)
    const golden = path.join(dir, file.replace(/\.rego$/, '.ir'))
    if (update || !existsSync(golden)) writeFileSync(golden, listing)
    t.equal(listing, readFileSync(golden, 'utf8'), `${path.basename(golden)} (BOUNCER_UPDATE_GOLDEN=1 regenerates it)`)
  })
}
