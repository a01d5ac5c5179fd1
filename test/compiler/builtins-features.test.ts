// walk as a relation, rego.metadata.rule()/chain() with METADATA annotations, builtins OPA has
// and Bouncer lacks (a compile error naming them), and the capabilities document.
import t from 'tap'
import { BUILTIN_TABLE } from '../../src/compiler/builtins.js'
import { capabilities, CompileError, compileModules } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'
import { parseModule } from '../../src/compiler/parser/index.js'

async function evalQuery (modules: string[], query: string, input: unknown = {}): Promise<unknown[]> {
  const c = compileModules({ modules: modules.map((source, i) => ({ file: `m${i}.rego`, source })), entrypoints: [], query })
  const p = await loadWasmPolicy(c.wasm)
  const rs = p.evaluate(input, '$query') as Array<{ result: Array<Record<string, unknown>> }>
  return rs[0].result.map(r => r.x)
}

function compileErrors (source: string): string[] {
  try {
    compileModules({ modules: [{ file: 'p.rego', source }], entrypoints: [] })
  } catch (e) {
    if (e instanceof CompileError) return e.diagnostics.map(d => `${d.loc.line}:${d.loc.col}: ${d.code}: ${d.message}`)
    throw e
  }
  return []
}

t.test('walk generates every [path, value] pair, in OPA\'s order', async t => {
  const doc = { b: [1, { c: true }], a: 's' }
  const pairs = await evalQuery([], 'x := [[p, v] | walk(input, [p, v])]', doc)
  t.same(pairs, [[
    [[], { a: 's', b: [1, { c: true }] }],
    [['a'], 's'],
    [['b'], [1, { c: true }]],
    [['b', 0], 1],
    [['b', 1], { c: true }],
    [['b', 1, 'c'], true],
  ]])
  // sets: the element is its own key
  t.same(await evalQuery([], 'x := [p | walk({"s": {2, 1}}, [p, _])]'), [[[], ['s'], ['s', 1], ['s', 2]]])
})

t.test('walk with a pattern, a bound output, in a rule body', async t => {
  const src = `package w
import rego.v1
images contains img if {
  walk(input, [path, value])
  path[count(path) - 1] == "image"
  img := value
}
has_b if walk(input, [["b", 1, "c"], true])
leaf_keys contains k if { walk(input, [[_, k], v]); is_string(k) }
`
  const input = { b: [1, { c: true }], spec: { image: 'nginx', containers: [{ image: 'redis' }] } }
  t.same(await evalQuery([src], 'x := data.w.images', input), [['nginx', 'redis']])
  t.same(await evalQuery([src], 'x := data.w.has_b', input), [true])
  t.same(await evalQuery([src], 'x := data.w.leaf_keys', input), [['containers', 'image']])
})

t.test('walk called as a value is each [path, value] pair in turn (as OPA rewrites a nested call)', async t => {
  const src = 'package w\nx := {"a": [{"b": 1}, {"c": 2}]}\nleaves := {path: value | [path, value] := walk(x); count(path) == 3}\nany_pair if walk(input)\n'
  t.same(await evalQuery([src], 'x := data.w.leaves'), [{ '["a",0,"b"]': 1, '["a",1,"c"]': 2 }])
  t.same(await evalQuery([src], 'x := data.w.any_pair', {}), [true])
  t.same(await evalQuery([], 'x := [v | [_, v] := walk([1, [2]])]'), [[[1, [2]], 1, [2], 2]])
  t.match(compileErrors('package w\nimport rego.v1\nx if walk(input, 1, 2)\n'), [/^3:6: rego_type_error: walk: too many arguments/])
})

t.test('builtins OPA has and Bouncer lacks: a compile error naming each', async t => {
  const errs = compileErrors('package u\nimport rego.v1\na := crypto.parse_private_keys("x")\nb := crypto.x509.parse_keypair("a", "b")\nc := no.such.fn(1)\n')
  t.same(errs, [
    '3:6: rego_unsupported_error: unsupported built-in function crypto.parse_private_keys: OPA has it, Bouncer does not implement it',
    '4:6: rego_unsupported_error: unsupported built-in function crypto.x509.parse_keypair: OPA has it, Bouncer does not implement it',
    '5:6: rego_type_error: undefined function no.such.fn',
  ])
  for (const d of BUILTIN_TABLE.filter(x => x.impl.kind === 'none')) {
    const args = d.args.map(() => '1').join(', ')
    t.match(compileErrors(`package u\nimport rego.v1\nx := ${d.name}(${args})\n`), [new RegExp(`rego_unsupported_error: unsupported built-in function ${d.name.replace(/\./g, '\\.')}:`)], d.name)
  }
})

t.test('a rule or import named like a builtin hides the builtin in its package, as in OPA', async t => {
  // OPA resolves a call's name against the package's rules and the imports before builtins:
  // object.get beside a rule `object` is data.<pkg>.object.get, an undefined function (it was
  // the builtin here, so a policy OPA refuses compiled and ran).
  t.same(compileErrors('package lib.k\nimport rego.v1\nobject := input\nr := object.get({"k": 1}, "k", 0)\n'),
    ['4:6: rego_type_error: undefined function data.lib.k.object.get'])
  t.same(compileErrors('package lib.k\nobject = input\nr = x { x := object.get({"k": 1}, "k", 0) }\n').length, 1, 'v0 as well')
  t.same(compileErrors('package play\nimport rego.v1\ncount := 5\np := count([])\n'),
    ['4:6: rego_type_error: function data.play.count has arity 0, got 1 argument'])
  t.same(compileErrors('package play\nimport rego.v1\nimport data.lib.strings\np := strings.count("aa", "a")\n'),
    ['4:6: rego_type_error: undefined function data.lib.strings.count'])
  // an imported package that does define the function: that function is called
  const lib = 'package lib.object\nimport rego.v1\nget(o, k, d) := "mine"\n'
  t.same(await evalQuery([lib, 'package p\nimport rego.v1\nimport data.lib.object\nr := object.get({"k": 1}, "k", 0)\n'], 'x := data.p.r'), ['mine'])
  // a sub-package is not a rule of its parent: json.remove in package lib beside package
  // lib.json is the builtin (Enterprise Contract's policy/lib loads both)
  t.same(await evalQuery(['package lib\nimport rego.v1\nr := json.remove({"a": 1, "b": 2}, ["a"])\n', 'package lib.json\nimport rego.v1\nhelper := 1\n'], 'x := data.lib.r'), [{ b: 2 }])
  // a rule with a ref head is a rule of its first name
  t.same(compileErrors('package lib.k\nimport rego.v1\nobject.extra := 1\nr := object.get({"k": 1}, "k", 0)\n'),
    ['4:6: rego_type_error: undefined function data.lib.k.object.get'])
  // in a package without such a rule or import: the builtin
  t.same(await evalQuery(['package q\nimport rego.v1\nr := object.get({"k": 1}, "k", 0)\n'], 'x := data.q.r'), [1])
  t.same(await evalQuery(['package other\nimport rego.v1\nobject := 1\n', 'package q\nimport rego.v1\nr := object.get({"k": 1}, "k", 0)\n'], 'x := data.q.r'), [1])
})

const annotated = `# METADATA
# title: The package
# description: Rules about things
package a.b

import rego.v1

# METADATA
# title: Allow
# description: |
#   Allows things.
# authors:
# - Jane Doe <jane@example.com>
# - name: Bob
# organizations: [Acme]
# related_resources:
# - https://example.com/doc
# - ref: https://example.com/other
#   description: more
# custom:
#   severity: high
#   tags: [a, b]
allow if {
  chain := rego.metadata.chain()
  chain[0].annotations.title == "Allow"
}

# METADATA
# scope: document
# title: The allow document
allow if input.x

chain := rego.metadata.chain()

rule := rego.metadata.rule()

# METADATA
# title: f
f(x) := rego.metadata.rule() if x > 0
fcall := f(1)

# METADATA
# schemas:
# - input.user: {type: string}
# - input: schema.request
typed := rego.metadata.rule()

# METADATA
# title: first

# METADATA
# title: second
stacked := rego.metadata.chain()
`

const sub = `# METADATA
# scope: subpackages
# title: Everything under a
package a
`

t.test('rego.metadata.rule(): the rule-scope annotations of the rule, {} without', async t => {
  const [allowRule] = await evalQuery([annotated, sub], 'x := data.a.b.fcall')
  t.same(allowRule, { scope: 'rule', title: 'f' })
  t.same(await evalQuery([annotated, sub], 'x := data.a.b.rule'), [{}])
  t.same(await evalQuery([annotated, sub], 'x := data.a.b.typed'), [{
    scope: 'rule',
    schemas: [{ path: ['input', 'user'], definition: { type: 'string' } }, { path: ['input'], schema: ['schema', 'request'] }],
  }])
})

t.test('rego.metadata.chain(): rule, document, package, subpackages, closest first', async t => {
  const [chain] = await evalQuery([annotated, sub], 'x := data.a.b.chain')
  t.same(chain, [
    { path: ['a', 'b', 'chain'] },
    { path: ['a', 'b'], annotations: { scope: 'package', title: 'The package', description: 'Rules about things' } },
    { path: ['a'], annotations: { scope: 'subpackages', title: 'Everything under a' } },
  ])
  t.same(await evalQuery([annotated, sub], 'x := data.a.b.allow', { x: false }), [true], 'the annotated rule reads its own chain')
  const allowChain = await evalQuery([annotated.replace('chain[0].annotations.title == "Allow"', 'true') + '\nallow_chain := c if { some c; c = rego.metadata.chain() }\n'], 'x := data.a.b.allow_chain')
  t.equal(allowChain.length, 1)
  const [stacked] = await evalQuery([annotated], 'x := data.a.b.stacked')
  t.same((stacked as Array<Record<string, unknown>>).slice(0, 2), [
    { path: ['a', 'b', 'stacked'], annotations: { scope: 'rule', title: 'second' } },
    { path: ['a', 'b', 'stacked'], annotations: { scope: 'rule', title: 'first' } },
  ], 'stacked blocks: the one closest to the rule first')
})

t.test('the annotations\' shape: authors, related resources, organizations, custom', async t => {
  const src = annotated.replace(`allow if {
  chain := rego.metadata.chain()
  chain[0].annotations.title == "Allow"
}`, 'allow := rego.metadata.chain()').replace(`# METADATA
# scope: document
# title: The allow document
allow if input.x`, `# METADATA
# scope: document
# title: The allow document
allow := 1 if input.x`)
  const [chain] = await evalQuery([src], 'x := data.a.b.allow')
  t.same((chain as unknown[])[0], {
    path: ['a', 'b', 'allow'],
    annotations: {
      scope: 'rule',
      title: 'Allow',
      description: 'Allows things.\n',
      authors: [{ name: 'Jane Doe', email: 'jane@example.com' }, { name: 'Bob' }],
      organizations: ['Acme'],
      related_resources: [{ ref: 'https://example.com/doc' }, { ref: 'https://example.com/other', description: 'more' }],
      custom: { severity: 'high', tags: ['a', 'b'] },
    },
  })
  t.same((chain as unknown[])[1], { path: ['a', 'b', 'allow'], annotations: { scope: 'document', title: 'The allow document' } })
})

t.test('METADATA errors are parse errors at the block', async t => {
  const errs = (src: string): string[] => parseModule(src, 'p.rego').diagnostics.map(d => `${d.loc.line}: ${d.message}`)
  t.match(errs('package p\n# METADATA\n# scope: everything\np := 1\n'), [/^2: invalid annotation scope 'everything'/])
  t.match(errs('package p\n# METADATA\n# scope: package\np := 1\n'), ['2: annotation scope \'package\' must be applied to package (rule)'])
  t.match(errs('# METADATA\n# scope: rule\npackage p\n'), ['1: annotation scope \'rule\' must be applied to rule (package)'])
  t.match(errs('package p\n# METADATA\n# title: [unclosed\np := 1\n'), [/^2: invalid METADATA block/])
  t.match(errs('package p\n# METADATA\n# entrypoint: true\n# scope: rule\np := 1\n'), [/^2: annotation entrypoint applied to non-document or package scope 'rule'/])
  // an ordinary comment is not a block; a block with nothing in it is an error, as OPA's
  // metadata parser says (it was an empty block here)
  t.same(errs('package p\n# just a comment\np := 1\n'), [])
  t.same(errs('package p\n# METADATA\n\n# title: x\np := 1\n'), ['2: expected METADATA block, found whitespace'])
  t.same(errs('package p\n# just a comment\n  # METADATA\np := 1\n'), ['3: expected METADATA block, found whitespace'])
  t.match(compileErrors('package p\nimport rego.v1\n# METADATA\n# scope: document\np := 1\n# METADATA\n# scope: document\np := 1\nx := rego.metadata.chain()\n'),
    [/^6:1: rego_type_error: document annotation redeclared: p\.rego:3/])
  // checked whether or not the policy reads its metadata, as OPA's compiler does (it was only
  // checked on the first rego.metadata.* call; OPA check_test.go TestCheckAnnotationRules)
  t.match(compileErrors('package p\n# METADATA\n# scope: document\n# title: a\np := 1\n# METADATA\n# scope: document\n# title: b\np := 1\n'),
    [/^6:1: rego_type_error: document annotation redeclared: p\.rego:2/])
})

t.test('rego.metadata in a query is an error; in v0 it works the same', async t => {
  t.throws(() => compileModules({ modules: [], entrypoints: [], query: 'x := rego.metadata.rule()' }), { name: 'CompileError', message: /can only be used in a rule/ })
  const c = compileModules({ modules: [{ file: 'p.rego', source: 'package p\n# METADATA\n# title: v0\nr = x { x := rego.metadata.rule() }\n', regoVersion: 0 }], entrypoints: ['p/r'] })
  const p = await loadWasmPolicy(c.wasm)
  t.same(p.evaluate({}, 'p/r'), [{ result: { scope: 'rule', title: 'v0' } }])
})

t.test('capabilities: OPA\'s shape, supported builtins only', async t => {
  const caps = capabilities()
  t.same(caps.future_keywords, ['and', 'contains', 'every', 'if', 'in', 'not', 'or'])
  t.ok(caps.features.includes('rego_v1'))
  t.same(caps.wasm_abi_versions.at(-1), { version: 1, minor_version: 2 })
  const byName = new Map(caps.builtins.map(b => [b.name, b]))
  t.same(byName.get('count'), {
    name: 'count',
    decl: { type: 'function', args: [{ type: 'any', of: [{ type: 'set', of: { type: 'any' } }, { type: 'array', dynamic: { type: 'any' } }, { type: 'object', dynamic: { key: { type: 'any' }, value: { type: 'any' } } }, { type: 'string' }] }], result: { type: 'number' } },
  })
  t.same(byName.get('print'), { name: 'print', decl: { type: 'function', variadic: { type: 'any' } } })
  t.same(byName.get('walk')?.relation, true)
  t.same(byName.get('gt')?.infix, '>')
  t.same(byName.get('time.now_ns')?.nondeterministic, true)
  for (const n of ['json.match_schema', 'json.verify_schema', 'rego.metadata.chain', 'rego.metadata.rule', 'internal.print', 'eq', 'assign']) t.ok(byName.has(n), n)
  for (const d of BUILTIN_TABLE.filter(x => x.impl.kind === 'none')) t.notOk(byName.has(d.name), `${d.name} is not supported`)
  const names = caps.builtins.map(b => b.name)
  t.same(names, [...names].sort(), 'sorted by name')
  t.same(JSON.parse(JSON.stringify(caps)), caps, 'plain JSON')
})

t.test('METADATA YAML is read as current OPA reads it (go-yaml v3): on is a string, true a boolean, 010 is octal', async t => {
  const src = `package m

# METADATA
# custom:
#   enforce: on
#   audit: "on"
#   strict: true
#   mode: 010
r := rego.metadata.rule()
`
  t.same(await evalQuery([src], 'x := data.m.r.custom'), [{ enforce: 'on', audit: 'on', strict: true, mode: 8 }])
})
