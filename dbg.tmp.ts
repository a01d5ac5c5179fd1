import { compileModules } from './src/compiler/index.ts'
import { loadCompiledPolicy } from './src/compiler/load.ts'
import { planPolicy } from './src/compiler/planner/index.ts'
import { parseModule, parseQuery } from './src/compiler/parser/index.ts'
import { Diagnostics } from './src/compiler/diagnostics.ts'
const src = process.argv[2]; const q = process.argv[3]
const d = new Diagnostics()
const m = parseModule(src, 'a.rego')
const out = planPolicy({ modules: [m.module!], entrypoints: [], query: { body: parseQuery(q).body! } }, d)
console.log(JSON.stringify(out.plan.funcs.map(f => [f.name, f.rules.map(r => r.body)]), null, 0), d.list)
const c = compileModules({ modules: [{ file: 'a.rego', source: src }], entrypoints: [], query: q })
const p = await loadCompiledPolicy(c)
p.setData(JSON.parse(process.argv[4] ?? '{}'))
console.log(JSON.stringify(p.evaluate(JSON.parse(process.argv[5] ?? 'null'), '$query')))
