import { loadPolicyFromRego } from './src/policy/load.js'
const p = await loadPolicyFromRego([{ file: 'a.rego', source: 'package bouncer\n\ndefault decision := {"allow": false}\n\ndecision := {"allow": true, "reason": "ok"} if { input.attributes.request.http.method == "GET" }\n' }], {}, 'bouncer/decision', { source: 'x' })
console.log(p.revision, p.inputPaths, p.wasm.builtins, p.evaluate({ attributes: { request: { http: { method: 'GET' } } } }), p.evaluate({}))
