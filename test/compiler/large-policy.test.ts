// Plans and data of any size: a generated ~1 MB policy set compiles (its plan is far beyond
// the 5 pages the opa-wasm SDK gives a module by default) and evaluates correctly, and large
// data loads next to it.
import t from 'tap'
import { compileModules } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'

/** One package per tenant: role grants, a route table and a lookup function. */
function tenantModule (i: number): string {
  const routes = Array.from({ length: 25 }, (_, r) => `  {"method": "GET", "path": "/t${i}/resource-${r}/items", "roles": ["reader-${r}", "admin"], "note": "${'route description '.repeat(3)}${r}"},`).join('\n')
  return `package tenants.t${i}

routes := [
${routes}
]

default allow := false

allow if {
  some route in routes
  route.method == input.method
  route.path == input.path
  some role in input.roles
  role in route.roles
}

grants[role] contains route.path if {
  some route in routes
  some role in route.roles
}

label(n) := sprintf("tenant-%d/%s", [${i}, n])
`
}

t.test('a ~1 MB policy set compiles and evaluates', async t => {
  const modules = Array.from({ length: 240 }, (_, i) => ({ file: `t${i}.rego`, source: tenantModule(i) }))
  const bytes = modules.reduce((n, m) => n + m.source.length, 0)
  t.ok(bytes > 1_000_000, `${bytes} bytes of Rego`)
  const entrypoints = ['tenants/t0/allow', 'tenants/t219/allow', 'tenants/t107/grants', 'tenants']
  const c = compileModules({ modules, entrypoints, query: 'x := data.tenants.t42.label("a")' })
  t.ok(c.wasm.length > 1_000_000, `module is ${c.wasm.length} bytes (the plan is embedded)`)
  const p = await loadWasmPolicy(c.wasm)
  const ok = { method: 'GET', path: '/t219/resource-7/items', roles: ['reader-7'] }
  t.same(p.evaluate(ok, 'tenants/t219/allow'), [{ result: true }])
  t.same(p.evaluate({ ...ok, roles: ['reader-8'] }, 'tenants/t219/allow'), [{ result: false }])
  t.same(p.evaluate(ok, 'tenants/t0/allow'), [{ result: false }], 'another tenant\'s route')
  const grants = (p.evaluate(undefined, 'tenants/t107/grants') as Array<{ result: Record<string, string[]> }>)[0].result
  t.equal(grants.admin.length, 25)
  t.same(grants['reader-3'], ['/t107/resource-3/items'])
  t.same(p.evaluate(undefined, '$query'), [{ result: [{ x: 'tenant-42/a' }] }])
  const all = (p.evaluate({ method: 'GET', path: '/t5/resource-0/items', roles: ['admin'] }, 'tenants') as Array<{ result: Record<string, { allow: boolean }> }>)[0].result
  t.equal(Object.keys(all).length, 240)
  t.same(Object.entries(all).filter(([, v]) => v.allow).map(([k]) => k), ['t5'])
})

t.test('large data loads next to a policy', async t => {
  const c = compileModules({ modules: [{ file: 'd.rego', source: 'package d\n\nowner := data.users[input.id].name\n\nn := count(data.users)\n' }], entrypoints: ['d/owner', 'd/n'] })
  const p = await loadWasmPolicy(c.wasm)
  const users: Record<string, { name: string; bio: string }> = {}
  for (let i = 0; i < 40_000; i++) users[`u${i}`] = { name: `user ${i}`, bio: 'x'.repeat(100) }
  p.setData({ users })
  t.same(p.evaluate({ id: 'u39999' }, 'd/owner'), [{ result: 'user 39999' }])
  t.same(p.evaluate(undefined, 'd/n'), [{ result: 40_000 }])
})
