import t from 'tap'
import { loadPolicy } from '@open-policy-agent/opa-wasm'
import { ensureRuntime, loadPlan, Raw, echoPlan, sourcePlan, testRuntimeWasm } from './helpers.js'
import { linkPolicy, linkPlanInto } from '../../../src/compiler/wasm/link.js'
import { readRuntimeWasm } from '../../../src/compiler/wasm/runtime-files.js'

ensureRuntime()

const enc = (s: string): ArrayBuffer => {
  const b = new TextEncoder().encode(s)
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
}

t.test('loadPolicy accepts the linked module (ABI 1.2, stub entrypoint)', async (t) => {
  const p = await loadPlan()
  t.equal(p.minorVersion, 2)
  t.same(p.entrypoints, { 'stub/echo': 0, 'stub/host': 1, 'stub/pad': 2 })
})

t.test('echo round-trips inputs of every JSON type (fast path)', async (t) => {
  const p = await loadPlan()
  const inputs: unknown[] = [
    { a: 1, b: 'two', c: [true, false, null], d: { e: { f: [] } }, g: {} },
    [1, -1, 0, 1.5, -0.25, 1e-7, 1e21, 123456789, -9007199254740991, 3.141592653589793],
    'plain', 'üñíçødé and emoji 😀 and CJK 漢字', 'esc "quotes" \\ / \b\f\n\r\t \u0001 \u001f \u007f',
    '\u2028\u2029', 42, 0.1, -17, true,
    { 'key with spaces': 1, '': 2, 'ключ': 3, '😀': 4 },
    Array.from({ length: 300 }, (_, i) => ({ i, s: String(i).repeat(i % 7) })),
  ]
  inputs.forEach((input, i) => {
    t.same(p.evaluate(input), [{ result: input }], `input #${i}`)
  })
  // Falsy inputs are dropped by the SDK unless passed as JSON text.
  for (const text of ['false', '0', '""', 'null', '[]', '{}']) {
    t.same(p.evaluate(enc(text)), [{ result: JSON.parse(text) }], text)
  }
  t.same(p.evaluate(undefined), [], 'no input: echo is undefined')
  // Deep nesting within the bound.
  let deep: unknown = 'x'
  for (let i = 0; i < 200; i++) deep = i % 2 ? [deep] : { k: deep }
  t.same(p.evaluate(deep), [{ result: deep }], 'deeply nested')
})

t.test('exact number and string text through opa_eval', async (t) => {
  const p = await loadPlan()
  const raw = new Raw(p)
  const evalText = (input: string, format = 0): string => {
    const [addr, len] = raw.write(input)
    const heap = raw.ex.opa_heap_ptr_get()
    return raw.cstr(raw.ex.opa_eval(0, 0, p.dataAddr, addr, len, heap, format))
  }
  t.equal(evalText('123456789012345678901234567890'), '[{"result":123456789012345678901234567890}]', 'big int kept exactly')
  t.equal(evalText('-9223372036854775808'), '[{"result":-9223372036854775808}]', 'i64 min')
  t.equal(evalText('9223372036854775807'), '[{"result":9223372036854775807}]', 'i64 max')
  t.equal(evalText('9223372036854775808'), '[{"result":9223372036854775808}]', 'i64 max + 1 (raw)')
  t.equal(evalText('1.0'), '[{"result":1.0}]', 'a whole float keeps its text (OPA keeps json.Number text)')
  t.equal(evalText('1e2'), '[{"result":1e2}]')
  t.equal(evalText('[0.50, 1.5, 0.0000001, 1E21, 2.5e-3]'), '[{"result":[0.50,1.5,0.0000001,1E21,2.5e-3]}]', 'any text a double would print otherwise')
  // Float text is round-trip exact, though not always Go's shortest form (see STATUS.md).
  t.equal(JSON.parse(evalText('0.30000000000000004'))[0].result, 0.30000000000000004)
  t.same(JSON.parse(evalText('[5e-324, 2.4703282292062328e-324, 2.4703282292062327e-324, 1.7976931348623157e308, 1e-400, 2.2250738585072011e-308, 9007199254740993.0, 0.1e1, 1234567890123456789012345678901234567890e-30]'))[0].result,
    [5e-324, 5e-324, 0, 1.7976931348623157e+308, 0, 2.225073858507201e-308, 9007199254740992, 1, 1234567890.1234567], 'hard conversions')
  t.equal(evalText('9007199254740993'), '[{"result":9007199254740993}]', 'integers stay exact')
  t.equal(evalText('"\\ud83d\\ude00 \\u00e9 \\/"'), '[{"result":"😀 é /"}]', 'escapes and surrogate pairs decoded')
  t.equal(evalText('"\\ud800x"'), '[{"result":"\uFFFDx"}]', 'lone surrogate becomes U+FFFD')
  t.equal(evalText('"a\\u0000b"'), '[{"result":"a\\u0000b"}]', 'NUL stays escaped')
  t.equal(evalText('{"b":1,"a":2,"b":3}'), '[{"result":{"a":2,"b":3}}]', 'duplicate keys: last wins; keys sorted')
  t.equal(evalText(' [ 1 , 2 ] '), '[{"result":[1,2]}]', 'whitespace')
  // Doubles survive a text round trip.
  for (let i = 0; i < 5000; i++) {
    const f = i % 2 ? (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 40 - 20) : new Float64Array(new BigUint64Array([BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 32)) << 32n | BigInt(Math.floor(Math.random() * 2 ** 32)))]).buffer)[0]!
    if (!Number.isFinite(f)) continue
    const out = JSON.parse(evalText(JSON.stringify(f)))[0].result
    if (out !== f) { t.fail(`double ${f} came back as ${out}`); break }
  }
})

t.test('opa_json_parse rejects invalid JSON', async (t) => {
  const p = await loadPlan()
  const raw = new Raw(p)
  for (const bad of ['', ' ', '{', '[1,]', '{"a":}', '{"a" 1}', '01', '1.', '.5', '+1', '1e', 'tru', 'nul', '"abc', '"\\x"',
    '"\\u12"', '"tab\there"', '{1:2}', '[1] x', 'set()', '{1,2}', 'NaN', 'Infinity']) {
    t.equal(raw.jsonParse(bad), 0, JSON.stringify(bad))
  }
  // invalid UTF-8
  const addr: number = raw.ex.opa_malloc(4)
  new Uint8Array(raw.mem.buffer).set([0x22, 0xff, 0x22], addr)
  t.equal(raw.ex.opa_json_parse(addr, 3), 0, 'invalid UTF-8')
  t.equal(raw.jsonParse('['.repeat(5000) + ']'.repeat(5000)), 0, 'nesting deeper than the bound')
  t.not(raw.jsonParse('['.repeat(500) + ']'.repeat(500)), 0, 'nesting within the bound')
})

t.test('setData works and data survives evaluations', async (t) => {
  const p = await loadPlan()
  const raw = new Raw(p)
  p.setData({ users: { alice: ['admin'] }, n: 1 })
  t.same(p.evaluate({ x: 1 }), [{ result: { x: 1 } }])
  t.same(JSON.parse(raw.jsonDump(p.dataAddr)), { users: { alice: ['admin'] }, n: 1 })
  for (let i = 0; i < 50; i++) p.evaluate({ big: 'y'.repeat(1000) })
  t.same(JSON.parse(raw.jsonDump(p.dataAddr)), { users: { alice: ['admin'] }, n: 1 }, 'not overwritten by evaluations')
  p.setData({ other: true })
  t.same(JSON.parse(raw.jsonDump(p.dataAddr)), { other: true })
  t.same(p.evaluate([1]), [{ result: [1] }])
})

t.test('memory does not grow over 10,000 evaluations', async (t) => {
  const p = await loadPlan()
  const input = { method: 'GET', path: '/api/v1/items', headers: { authorization: 'Bearer abc', 'x-id': '123' }, list: Array.from({ length: 50 }, (_, i) => i) }
  p.evaluate(input)
  const before = p.mem.buffer.byteLength
  const raw = new Raw(p)
  for (let i = 0; i < 10000; i++) p.evaluate(input)
  t.equal(p.mem.buffer.byteLength, before)
  t.equal(raw.ex.opa_heap_ptr_get() <= p.dataHeapPtr + JSON.stringify(input).length + 65536, true, 'heap pointer stays near the data')
})

t.test('a memory grown to its 4 GiB limit keeps serving, and no block wraps past it', async (t) => {
  const p = await loadPlan()
  const raw = new Raw(p)
  const input = { a: [1, 'two'] }
  t.same(p.evaluate(input), [{ result: input }])
  // Grown from the host to the whole 32-bit space (address space, not RAM: pages are touched
  // lazily), as an evaluation that allocated past 2 GiB leaves it (the allocator doubles).
  p.mem.grow(65536 - p.mem.buffer.byteLength / 65536)
  t.equal(p.mem.buffer.byteLength, 2 ** 32)
  // In 32-bit arithmetic the full memory's size was 0: every allocation after it trapped, so one
  // such evaluation broke all the following ones (opa test's later tests, or every request).
  t.same(p.evaluate(input), [{ result: input }], 'evaluations still run')
  // A block that would end past 2^32 is out of memory; it wrapped to a low end address, and the
  // next blocks went over the module's data.
  raw.ex.opa_heap_ptr_set(2 ** 32 - 4096)
  let thrown: unknown
  try { raw.ex.opa_malloc(8192) } catch (e) { thrown = e }
  t.match(String(thrown), /^out of memory: /, 'out of memory at the top (the SDK throws opa_abort\'s text)')
  t.same(p.evaluate(input), [{ result: input }], 'and the next evaluation runs')
})

t.test('big inputs grow memory and still round-trip', async (t) => {
  const p = await loadPlan()
  const input = { items: Array.from({ length: 20000 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b'] })) }
  t.same(p.evaluate(input), [{ result: input }])
  t.ok(p.mem.buffer.byteLength > 5 * 65536)
})

t.test('ctx path (ABI < 1.2 calls) works', async (t) => {
  const p = await loadPlan()
  const raw = new Raw(p)
  const ex = raw.ex
  const run = (input: unknown): unknown => {
    ex.opa_heap_ptr_set(p.dataHeapPtr)
    const inputAddr = raw.jsonParse(JSON.stringify(input))
    const ctx = ex.opa_eval_ctx_new()
    ex.opa_eval_ctx_set_input(ctx, inputAddr)
    ex.opa_eval_ctx_set_data(ctx, p.dataAddr)
    ex.opa_eval_ctx_set_entrypoint(ctx, 0)
    t.equal(ex.eval(ctx), 0)
    return JSON.parse(raw.jsonDump(ex.opa_eval_ctx_get_result(ctx)))
  }
  t.same(run({ a: [1, 'b'] }), [{ result: { a: [1, 'b'] } }])
  t.same(run(false), [{ result: false }])
  // no input set: undefined
  ex.opa_heap_ptr_set(p.dataHeapPtr)
  const ctx = ex.opa_eval_ctx_new()
  ex.eval(ctx)
  t.same(JSON.parse(raw.jsonDump(ex.opa_eval_ctx_get_result(ctx))), [])
  // heap is reused
  const h0 = ex.opa_heap_ptr_get()
  for (let i = 0; i < 1000; i++) run({ i })
  ex.opa_heap_ptr_set(p.dataHeapPtr)
  t.ok(ex.opa_heap_ptr_get() <= h0)
})

t.test('opa_eval with format 1 writes Rego value text', async (t) => {
  const p = await loadPlan()
  const raw = new Raw(p)
  const [addr, len] = raw.write('{"a":[1,2]}')
  const out = raw.cstr(raw.ex.opa_eval(0, 0, p.dataAddr, addr, len, raw.ex.opa_heap_ptr_get(), 1))
  t.equal(out, '[{"result":{"a":[1,2]}}]')
})

t.test('opa_value_parse / opa_value_dump handle sets', async (t) => {
  const p = await loadPlan()
  const raw = new Raw(p)
  const cases: Array<[string, string, string]> = [
    // input, value dump, json dump
    ['{1, 2, 3}', '{1,2,3}', '[1,2,3]'],
    ['{3,1,2,1}', '{1,2,3}', '[1,2,3]'],
    ['set()', 'set()', '[]'],
    ['{}', '{}', '{}'],
    ['{"b", "a"}', '{"a","b"}', '["a","b"]'],
    ['{[1], {"x": set()}}', '{[1],{"x":set()}}', '[[1],{"x":[]}]'],
    ['{1: "one", [2]: "two", "s": {true}}', '{1:"one","s":{true},[2]:"two"}', '{"1":"one","[2]":"two","s":[true]}'], // keys as their JSON text, in byte order (a Go map through json.Marshal)
    ['{{1,2}: 0}', '{{1,2}:0}', '{"[1,2]":0}'],
    ['[null, true, 1.5, "x"]', '[null,true,1.5,"x"]', '[null,true,1.5,"x"]'],
  ]
  for (const [input, vdump, jdump] of cases) {
    const v = raw.valueParse(input)
    t.not(v, 0, `parses ${input}`)
    t.equal(raw.valueDump(v), vdump, `value dump of ${input}`)
    t.equal(raw.jsonDump(v), jdump, `json dump of ${input}`)
  }
  t.equal(raw.valueParse('{1, 2'), 0)
  t.equal(raw.valueParse('{1: 2, 3}'), 0)
  t.equal(raw.valueParse('{1, 2: 3}'), 0)
  t.equal(raw.valueParse('se()'), 0)
})

t.test('opa_value_add_path / opa_value_remove_path', async (t) => {
  const p = await loadPlan()
  const raw = new Raw(p)
  const ex = raw.ex
  const base = raw.jsonParse('{"a":{"b":123}}')
  t.equal(ex.opa_value_add_path(base, raw.jsonParse('["a","x","y"]'), raw.jsonParse('{"foo":"bar"}')), 0)
  t.same(JSON.parse(raw.jsonDump(base)), { a: { b: 123, x: { y: { foo: 'bar' } } } })
  t.equal(ex.opa_value_add_path(base, raw.jsonParse('["a","b"]'), raw.jsonParse('[1]')), 0, 'replace')
  t.same(JSON.parse(raw.jsonDump(base)), { a: { b: [1], x: { y: { foo: 'bar' } } } })
  t.equal(ex.opa_value_add_path(base, raw.jsonParse('["a","b","c"]'), raw.jsonParse('1')), 3, 'through a non-object: invalid path')
  t.same(JSON.parse(raw.jsonDump(base)), { a: { b: [1], x: { y: { foo: 'bar' } } } }, 'unchanged after the error')
  t.equal(ex.opa_value_add_path(base, raw.jsonParse('"a"'), raw.jsonParse('1')), 2, 'path must be an array')
  t.equal(ex.opa_value_add_path(raw.jsonParse('[1]'), raw.jsonParse('["a"]'), raw.jsonParse('1')), 2, 'base must be an object')
  t.equal(ex.opa_value_add_path(base, raw.jsonParse('[]'), raw.jsonParse('1')), 3, 'empty path')
  t.equal(ex.opa_value_remove_path(base, raw.jsonParse('["a","x","y"]')), 0)
  t.same(JSON.parse(raw.jsonDump(base)), { a: { b: [1], x: {} } })
  t.equal(ex.opa_value_remove_path(base, raw.jsonParse('["nope","deeper"]')), 0, 'absent path is fine')
  t.equal(ex.opa_value_remove_path(base, raw.jsonParse('["a","b","c"]')), 3, 'through a non-object')
  t.equal(ex.opa_value_remove_path(base, raw.jsonParse('["a"]')), 0)
  t.same(JSON.parse(raw.jsonDump(base)), {})
  // Through the SDK-managed data document:
  const data = p.dataAddr
  t.equal(ex.opa_value_add_path(data, raw.jsonParse('["k"]'), raw.jsonParse('"v"')), 0)
  t.same(JSON.parse(raw.jsonDump(data)), { k: 'v' })
})

t.test('host builtins are reachable and the plan is parsed at start', async (t) => {
  ensureRuntime()
  let thrown: unknown
  try { await loadPolicy(linkPolicy('{"not json')) } catch (err) { thrown = err }
  t.match(String(thrown), /embedded plan is not valid JSON/, 'start aborts on a broken plan')
  const p = await loadPlan(echoPlan(100000), { 'crypto.sha256': (x: unknown) => ({ got: x }) })
  const raw = new Raw(p)
  t.ok(raw.ex.opa_heap_ptr_get() > 100000, 'heap starts after the embedded plan')
  t.same(p.evaluate({ ok: 1 }), [{ result: { ok: 1 } }])
  t.same(p.evaluate({ ok: 1 }, 'stub/host'), [{ result: { got: { ok: 1 } } }], 'host builtin called through opa_builtin1')
  const q = await loadPlan(echoPlan(), { 'crypto.sha256': () => undefined })
  t.same(q.evaluate([1], 'stub/host'), [], 'undefined from the host is undefined')
  t.same(q.evaluate([1], 'stub/echo'), [{ result: [1] }])
})

t.test('invalid UTF-8 bytes cross the host hop as \\udcXX and only there', async (t) => {
  // hex.decode("ff") is the byte ff (held as U+DCFF). A host builtin must see and return that
  // byte (crypto.hmac.equal, hashes); results and input read \udcXX / write it as Go does (\ufffd).
  const plan = sourcePlan([
    'package stub',
    'back := hex.encode(crypto.sha256(hex.decode(input)))',
    'result := crypto.sha256(hex.decode(input))',
    'same := input == "\\ufffd"',
  ].join('\n'), ['stub/back', 'stub/result', 'stub/same'])
  const seen: unknown[] = []
  const p = await loadPlan(plan, { 'crypto.sha256': (x: unknown) => { seen.push(x); return x } })
  t.same(p.evaluate('ff80', 'stub/back'), [{ result: 'ff80' }], 'the bytes went to the host and came back')
  t.same(seen, ['\udcff\udc80'], 'the host saw them as lone surrogates')
  t.same(p.evaluate('ff', 'stub/result'), [{ result: '\ufffd' }], 'a result writes the byte as \\ufffd')
  const raw = new Raw(p)
  const [addr, len] = raw.write('"ff"')
  t.equal(raw.cstr(raw.ex.opa_eval(0, (p.entrypoints as Record<string, number>)['stub/result']!, p.dataAddr, addr, len, raw.ex.opa_heap_ptr_get(), 0)), '[{"result":"\\ufffd"}]', 'as the six characters \\ufffd')
  t.same(p.evaluate(enc('"\\udcff"'), 'stub/same'), [{ result: true }], 'input \\udcff is U+FFFD, as Go reads it')
  t.same(JSON.parse(raw.jsonDump(raw.jsonParse('"\\udcff"'))), '\ufffd', 'opa_json_parse outside a host call: U+FFFD')
})

t.test('linker: layout, data count, plans of any size', async (t) => {
  ensureRuntime()
  const rt = readRuntimeWasm()
  const m1 = linkPlanInto(rt, echoPlan())
  t.ok(WebAssembly.validate(m1), 'valid module')
  const mod = new WebAssembly.Module(m1)
  const imports = WebAssembly.Module.imports(mod)
  t.ok(imports.some((i) => i.module === 'env' && i.name === 'memory' && i.kind === 'memory'))
  for (const i of imports) t.ok(i.module === 'env' && /^(memory|opa_abort|opa_println|opa_builtin[0-4])$/.test(i.name), `import ${i.name}`)
  const names = WebAssembly.Module.exports(mod).map((e) => e.name)
  for (const n of ['opa_wasm_abi_version', 'opa_wasm_abi_minor_version', 'memory', 'builtins', 'entrypoints', 'opa_malloc', 'opa_free',
    'opa_heap_ptr_get', 'opa_heap_ptr_set', 'opa_json_parse', 'opa_value_parse', 'opa_json_dump', 'opa_value_dump',
    'opa_eval_ctx_new', 'opa_eval_ctx_set_input', 'opa_eval_ctx_set_data', 'opa_eval_ctx_set_entrypoint', 'opa_eval_ctx_get_result',
    'eval', 'opa_eval', 'opa_value_add_path', 'opa_value_remove_path', 'opa_value_free']) {
    t.ok(names.includes(n), `exports ${n}`)
  }
  // The builtin test hooks are the test runtime's only: a policy module does not export them.
  t.same(names.filter((n) => n.startsWith('__test')), [], 'no test hooks in a policy module')
  const testNames = WebAssembly.Module.exports(new WebAssembly.Module(linkPlanInto(testRuntimeWasm(), echoPlan()))).map((e) => e.name)
  t.same(testNames.filter((n) => n.startsWith('__test')).sort(), ['__test_builtin', '__test_set_strict'], 'the test runtime has them')
  t.same(testNames.filter((n) => !n.startsWith('__test')).sort(), [...names].sort(), 'and otherwise the same exports')
  t.ok(WebAssembly.validate(linkPlanInto(rt, '')), 'empty plan')
  // The plan is a passive segment the module copies in after growing its memory itself:
  // any size loads with the SDK's default 5 pages, and the memory import asks for no more.
  for (const size of [250 * 1024, 400 * 1024, 3 * 1024 * 1024]) {
    const m = linkPlanInto(rt, echoPlan(size))
    const mem = WebAssembly.Module.imports(new WebAssembly.Module(m)).find(i => i.name === 'memory')
    t.ok(mem !== undefined)
    const p = await loadPolicy(m)
    t.same(p.evaluate(size), [{ result: size }], `${size} byte plan loads with the SDK's defaults`)
    t.ok((p as unknown as { mem: WebAssembly.Memory }).mem.buffer.byteLength >= size, 'the module grew its memory')
  }
})
