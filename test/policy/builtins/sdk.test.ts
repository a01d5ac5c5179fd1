// The SDK's builtin map is one per process; the modules that withdraw builtins from it may be
// loaded twice (src/ and dist/ in one process, two copies of the package). The second load
// failed at import: "@open-policy-agent/opa-wasm: yaml.is_valid not found in its builtin map".
import t from 'tap'

t.test('modules that withdraw SDK builtins load a second time (another module instance)', async (t) => {
  const first = await import('../../../src/policy/builtins/yaml.js')
  const second = await import(`../../../src/policy/builtins/yaml.js?instance=${process.pid}`) as typeof first
  t.not(second, first, 'two module instances')
  t.equal(second.yamlBuiltins['yaml.is_valid']!('a: 1'), true, 'and the second one works')
  const regex = await import(`../../../src/policy/builtins/regex.js?instance=${process.pid}`)
  t.ok(regex, 'regex.ts too')
})
