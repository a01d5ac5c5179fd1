// The plan's opcodes, `with` kinds and function kinds are declared once
// (src/compiler/planner/opcodes.ts): the planner imports the table and the runtime's
// AssemblyScript constants are generated from it by scripts/build-runtime.mjs. These tests fail
// when the built runtime was generated from another table, when a number is written by hand
// again in the runtime's sources, or when the runtime's plan decoder stops knowing an opcode.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { FuncKind, Op, PLAN_CODES, WithKind } from '../../src/compiler/planner/opcodes.js'
import * as ir from '../../src/compiler/planner/ir.js'
import { linkPolicy } from '../../src/compiler/wasm/link.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'
import { isBouncerError } from '../../src/errors.js'
// @ts-expect-error: plain ESM script without type declarations
import { generatePlanCodes, loadPlanCodes } from '../../scripts/build-runtime.mjs'
import { ensureRuntime } from './runtime/helpers.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const RUNTIME_DIR = path.join(ROOT, 'src/compiler/runtime/assembly')

t.test('the planner uses the table', async t => {
  t.equal(ir.Op, Op)
  t.equal(ir.WithKind, WithKind)
  t.equal(ir.FuncKind, FuncKind)
  t.same(PLAN_CODES, { OP: Op, WITH: WithKind, FUNC: FuncKind })
})

t.test('the built runtime was generated from the table', async t => {
  ensureRuntime()
  const meta = JSON.parse(readFileSync(path.join(ROOT, 'build/runtime.json'), 'utf8')) as { planCodes: unknown }
  t.same(meta.planCodes, PLAN_CODES, 'build/runtime.json records the table the runtime was built with')
  const codes = await loadPlanCodes()
  t.same(codes, PLAN_CODES)
  const source = generatePlanCodes(codes) as string
  t.equal(readFileSync(path.join(ROOT, 'build/runtime-opcodes.generated.ts'), 'utf8'), source, 'the built runtime used these constants')
  for (const [group, entries] of Object.entries(PLAN_CODES)) {
    for (const [name, value] of Object.entries(entries)) t.ok(source.includes(`export const ${group}_${name}: i32 = ${value};`), `${group}_${name} = ${value}`)
  }
  t.throws(() => generatePlanCodes({ OP: { A: 1, B: 1 } }), /both 1/, 'two names for one number are refused')
})

function * runtimeSources (dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) yield * runtimeSources(p)
    else if (e.name.endsWith('.ts')) yield p
  }
}

t.test('the runtime defines no plan code of its own', async t => {
  const names = new Set<string>()
  for (const [group, entries] of Object.entries(PLAN_CODES)) {
    // bare, prefixed, and the interpreter's local aliases (K_SET, W_INPUT)
    for (const name of Object.keys(entries)) { names.add(name); names.add(`${group}_${name}`); names.add(`${group[0]}_${name}`); names.add(`K_${name}`) }
  }
  let files = 0
  for (const file of runtimeSources(RUNTIME_DIR)) {
    files++
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/\bconst\s+([A-Z][A-Z0-9_]*)\s*(?::\s*i32\s*)?=\s*\d/g)) {
      t.notOk(names.has(m[1]!), `${path.relative(ROOT, file)} defines ${m[1]} by hand`)
    }
  }
  t.ok(files > 10)
  const evalSource = readFileSync(path.join(RUNTIME_DIR, 'eval/index.ts'), 'utf8')
  t.match(evalSource, /from "\.\/opcodes\.generated"/, 'the interpreter imports the generated constants')
  for (const name of Object.keys(Op)) t.match(evalSource, new RegExp(`\\bOP_${name} as ${name}\\b`), `the interpreter imports OP_${name}`)
})

/** A plan whose only rule body is `instr` (decoded when the module starts, never evaluated). */
function planWith (instr: unknown[]): string {
  return JSON.stringify({
    version: 1,
    strict: false,
    consts: [null],
    funcs: [{ name: 'f', kind: FuncKind.COMPLETE, nargs: 0, nlocals: 4, rules: [{ body: [instr], key: [], value: -1, multi: false, else: null, loc: 'p.rego:1' }], default: 0, defaultRule: null }],
    nodes: [],
    entrypoints: [],
    builtins: [],
    host: [],
  })
}

/** An instruction of each opcode with operands of the right shapes. */
function sample (op: number): unknown[] {
  switch (op) {
    case Op.CALLFN: case Op.CALLB: return [op, 0, 0, []]
    case Op.NOT: case Op.NOTALL: return [op, []]
    case Op.MAKEARR: case Op.MAKESET: return [op, 0, []]
    case Op.MAKEOBJ: return [op, 0, [], []]
    case Op.COMPR: return [op, 0, 0, [], 0, 0]
    case Op.WITH: return [op, [[WithKind.INPUT, -1, 0]], []]
    default: return [op, 0, 0, 0]
  }
}

t.test('the runtime decodes every opcode of the table, and no other', async t => {
  ensureRuntime()
  for (const [name, op] of Object.entries(Op)) {
    await t.resolves(loadWasmPolicy(linkPolicy(planWith(sample(op)))), `${name} (${op}) is known to the runtime`)
  }
  const used = new Set<number>(Object.values(Op))
  for (const op of [9, 19, 21, 24, 99]) {
    t.notOk(used.has(op))
    try {
      await loadWasmPolicy(linkPolicy(planWith([op, 0, 0, 0])))
      t.fail(`opcode ${op} loaded`)
    } catch (e) {
      t.ok(isBouncerError(e, 'BOUNCER_ERR_POLICY_LOAD'), `opcode ${op} is refused`)
      t.match((e as Error).message, new RegExp(`unknown opcode ${op}`))
    }
  }
})

t.test('a plan that writes a local slot outside its frame is refused at load', async t => {
  ensureRuntime()
  // planWith's function has 4 locals: slots 0..3
  await t.resolves(loadWasmPolicy(linkPolicy(planWith([Op.ASSIGN, 3, -1]))))
  const bad: unknown[][] = [
    [Op.ASSIGN, 4, -1], [Op.DOT, 7, 0, -1], [Op.INPUT, -1], [Op.CALLB, 9, 0, []], [Op.MAKEOBJ, 4, [], []],
    [Op.COMPR, 0, 4, [], 0, 0], [Op.SCAN, 0, -1, 5], [Op.NOT, [[Op.ASSIGN, 4, -1]]],
  ]
  for (const instr of bad) {
    try {
      await loadWasmPolicy(linkPolicy(planWith(instr)))
      t.fail(`${JSON.stringify(instr)} loaded`)
    } catch (e) {
      t.ok(isBouncerError(e, 'BOUNCER_ERR_POLICY_LOAD'), JSON.stringify(instr))
      t.match((e as Error).message, /local slot -?\d+ out of range \(4 locals\)/)
    }
  }
})
