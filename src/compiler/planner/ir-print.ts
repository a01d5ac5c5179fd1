// A readable listing of a plan (./ir.ts): one section per plan function, each rule's
// instructions one per line with nested blocks indented, operands named (%3 a local slot,
// constants as Rego/JSON values, builtins and functions by name). For reading what the
// planner made of a policy and for the golden files under test/compiler/ir/.
//
//   func 1 data.p.allow (complete, 2 locals, default false)
//     rule p.rego:4
//       input %0
//       dot %1 = %0["user"]
//       eq %1, "admin"
//       value true
import { keysText } from '../ast/index.js'
import { FuncKind, type Instr, Op, type Plan, type PlanFunc, type PlanRule, WithKind } from './ir.js'
import { RawNumber } from './index.js'

const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k.toLowerCase()]))
const KIND_NAMES: Record<number, string> = { [FuncKind.COMPLETE]: 'complete', [FuncKind.SET]: 'set', [FuncKind.OBJECT]: 'object', [FuncKind.FUNCTION]: 'function' }
const COMPR_KINDS = ['array', 'set', 'object']

export function printPlan (plan: Plan): string {
  const p = new Printer(plan)
  return p.print()
}

class Printer {
  readonly out: string[] = []
  constructor (readonly plan: Plan) {}

  print (): string {
    const { plan } = this
    if (plan.builtins.length > 0) {
      this.out.push(`builtins: ${plan.builtins.map((b, i) => (plan.host.includes(i) ? `${b} (host)` : b)).join(', ')}`)
    }
    for (const [name, f] of plan.entrypoints) this.out.push(`entrypoint ${name} -> ${this.fn(f)}`)
    plan.funcs.forEach((f, i) => this.func(f, i))
    return this.out.join('\n') + '\n'
  }

  fn (i: number): string { return `func ${i} ${this.plan.funcs[i]?.name ?? '?'}` }

  func (f: PlanFunc, i: number): void {
    const facts = [KIND_NAMES[f.kind] ?? `kind ${f.kind}`]
    if (f.nargs > 0) facts.push(`${f.nargs} arg${f.nargs === 1 ? '' : 's'}`)
    facts.push(`${f.nlocals} local${f.nlocals === 1 ? '' : 's'}`)
    if (f.default !== 0) facts.push(`default ${this.operand(f.default)}`)
    if (f.earlyExit === true) facts.push('early exit')
    this.out.push('', `func ${i} ${f.name} (${facts.join(', ')})`)
    for (const r of f.rules) this.rule(r, f, '  ', 'rule')
    if (f.defaultRule !== null) this.rule(f.defaultRule, f, '  ', 'default rule')
  }

  rule (r: PlanRule, f: PlanFunc, indent: string, what: string): void {
    this.out.push(`${indent}${what} ${r.loc}`)
    this.block(r.body, indent + '  ')
    const inner = indent + '  '
    if (f.kind === FuncKind.SET) this.out.push(`${inner}element ${r.key.map(k => this.operand(k)).join(', ')}`)
    else if (f.kind === FuncKind.OBJECT) {
      this.out.push(`${inner}key ${r.key.map(k => this.operand(k)).join(', ')}`)
      this.out.push(`${inner}${r.multi ? 'element' : 'value'} ${this.operand(r.value)}`)
    } else this.out.push(`${inner}value ${this.operand(r.value)}`)
    if (r.else !== null) this.rule(r.else, f, indent, 'else')
  }

  block (instrs: Instr[], indent: string): void {
    for (const ins of instrs) this.instr(ins, indent)
  }

  instr (ins: Instr, indent: string): void {
    const op = ins[0] as number
    const a = (i: number): number => ins[i] as number
    const o = (i: number): string => this.operand(a(i))
    const list = (i: number): string => (ins[i] as number[]).map(x => this.operand(x)).join(', ')
    const line = (s: string): void => { this.out.push(indent + s) }
    switch (op) {
      case Op.ASSIGN: return line(`assign ${this.dst(a(1))} = ${o(2)}`)
      case Op.EQ: return line(`eq ${o(1)}, ${o(2)}`)
      case Op.DOT: return line(`dot ${this.dst(a(1))} = ${o(2)}[${o(3)}]`)
      case Op.SCAN: return line(`scan ${o(1)} -> key ${this.dst(a(2))}, value ${this.dst(a(3))}`)
      case Op.INPUT: return line(`input ${this.dst(a(1))}`)
      case Op.DATA: return line(`data ${this.dst(a(1))} = data${this.path(a(2))}`)
      case Op.CALLRULE: return line(`callrule ${this.dst(a(1))} = ${this.fn(a(2))}`)
      case Op.CALLFN: return line(`callfn ${this.dst(a(1))} = ${this.fn(a(2))}(${list(3)})`)
      case Op.CALLB: return line(`call ${this.dst(a(1))} = ${this.plan.builtins[a(2)] ?? `builtin ${a(2)}`}(${list(3)})`)
      case Op.NOTFALSE: return line(`notfalse ${o(1)}`)
      case Op.NOTALL:
        line('not')
        return this.block(ins[1] as Instr[], indent + '  ')
      case Op.NOT:
        line('not (first solution)')
        return this.block(ins[1] as Instr[], indent + '  ')
      case Op.MAKEARR: return line(`array ${this.dst(a(1))} = [${list(2)}]`)
      case Op.MAKESET: return line(`set ${this.dst(a(1))} = {${list(2)}}`)
      case Op.MAKEOBJ: {
        const ks = ins[2] as number[]
        const vs = ins[3] as number[]
        return line(`object ${this.dst(a(1))} = {${ks.map((k, i) => `${this.operand(k)}: ${this.operand(vs[i])}`).join(', ')}}`)
      }
      case Op.COMPR: {
        const kind = COMPR_KINDS[a(1)] ?? String(a(1))
        const key = a(4)
        const val = a(5)
        line(`${kind} comprehension ${this.dst(a(2))} of ${kind === 'object' ? `${this.operand(key)}: ${this.operand(val)}` : this.operand(val)}`)
        return this.block(ins[3] as Instr[], indent + '  ')
      }
      case Op.WITH: {
        const overrides = (ins[1] as Array<Array<number | number[]>>).map(w => this.override(w))
        line(`with ${overrides.join(', ')}`)
        return this.block(ins[2] as Instr[], indent + '  ')
      }
      case Op.ISARR: return line(`isarray ${o(1)} (length ${a(2)})`)
      case Op.ISOBJ: return line(`isobject ${o(1)} (${a(2)} keys)`)
      case Op.DOC: return line(`doc ${this.dst(a(1))} = data${this.nodePath(a(2))}`)
      case Op.DOCKEY: return line(`doc ${this.dst(a(1))} = data${this.nodePath(a(2))}[${this.operand(a(3))}]`)
      case Op.SCANDOC: return line(`scan data${this.nodePath(a(1))} -> key ${this.dst(a(2))}, value ${this.dst(a(3))} (key by key)`)
      case Op.ISCOLL: return line(`iscollection ${o(1)}`)
      default: return line(`${OP_NAMES[op] ?? `op ${op}`} ${JSON.stringify(ins.slice(1))}`)
    }
  }

  override (w: Array<number | number[]>): string {
    const kind = w[0] as number
    const target = w[1] as number
    switch (kind) {
      case WithKind.INPUT: return `input${this.path(target)} as ${this.operand(w[2] as number)}`
      case WithKind.DATA: return `data${this.path(target)} as ${this.operand(w[2] as number)}`
      case WithKind.FUNC: return `${this.fn(target)} as ${this.replacement(w[2] as number[])}`
      case WithKind.BUILTIN: return `${this.plan.builtins[target] ?? `builtin ${target}`} as ${this.replacement(w[2] as number[])}`
      default: return JSON.stringify(w)
    }
  }

  replacement (r: number[]): string {
    if (r[0] === 0) return this.fn(r[1])
    if (r[0] === 1) return this.plan.builtins[r[1]] ?? `builtin ${r[1]}`
    return this.operand(r[1])
  }

  /** a constant array of keys as .a.b["c d"] */
  path (c: number): string {
    const keys = this.constant(c)
    if (!Array.isArray(keys)) return `[${this.operand(c)}]`
    return keysText(keys)
  }

  nodePath (n: number): string {
    const node = this.plan.nodes[n]
    return node === undefined ? `[node ${n}]` : keysText(node.path)
  }

  dst (n: number): string { return n === -1 ? '_' : this.operand(n) }

  constant (n: number): unknown { return this.plan.consts[-1 - n] }

  operand (n: number): string {
    if (n >= 0) return `%${n}`
    // numbers kept as source text (big integers, exact decimals) print as written
    const raws: string[] = []
    const text = JSON.stringify(this.constant(n), (_k, x) => {
      if (!(x instanceof RawNumber)) return x
      raws.push(x.raw)
      return `\u0000${raws.length - 1}\u0000`
    }) ?? 'undefined'
    return raws.length === 0 ? text : text.replace(/"\\u0000(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)])
  }
}
