// strings.render_template: Go's text/template as OPA runs it (Go's default for a missing map
// key since OPA PR #8128: no error, the missing value renders "<undefined>"; the variables
// converted with ast.JSON, so numbers are json.Number — a string type to the template: printed
// with their digits, compared as strings, and true in `if` even when 0).
//
// The subset here: text, {{/* comments */}}, trim markers {{- -}}, pipelines with `|`, fields
// (.a.b, $x.a), $ and variables ($x := …, $x = …), string/raw/number/bool/nil literals,
// parenthesised pipelines, {{if}}/{{else if}}/{{else}}, {{range}} (with $i, $v := or $v :=, and
// {{else}}), {{with}}, {{end}}, {{break}}/{{continue}}, and the functions and, or, not, len,
// index, eq, ne, lt, le, gt, ge, print. Anything else (printf, define/template/block, html, js,
// call, slice, urlquery) is an error: the call fails rather than render something Go would not.
// Before this, {{range}} and {{if}} were refused, so a deny rule building its message with
// them produced nothing where OPA denied.
import { isRawJson } from '../../exact-json.js'
import { stringBytes } from './bytes.js'

export class TemplateError extends Error {}
const fail = (msg: string): never => { throw new TemplateError(msg) }

// ---- values: JSON values from the variables, plus the template's own literals ----

/** A number from the variables (json.Number: a string type in Go) or a literal int/float. */
class GoNumber { constructor (readonly text: string) {} }
class GoInt { constructor (readonly v: bigint) {} }
class GoFloat { constructor (readonly v: number) {} }
type Val = unknown
/** A missing map key (Go's invalid reflect.Value): false in `if`, "<undefined>" when printed
 * (OPA's rendering of Go's "<no value>"), and a field of it is missing too. */
const NO_VALUE = Symbol('no value')

function fromJson (v: unknown): Val {
  if (typeof v === 'number') return new GoNumber(String(v))
  if (isRawJson(v)) return new GoNumber(v.rawJSON)
  if (Array.isArray(v)) return v.map(fromJson)
  if (v !== null && typeof v === 'object') {
    const out = new Map<string, Val>()
    for (const k of Object.keys(v).sort()) out.set(k, fromJson((v as Record<string, unknown>)[k]))
    return out
  }
  return v
}

function kindOf (v: Val): string {
  if (v === null || v === undefined) return 'nil'
  if (typeof v === 'string' || v instanceof GoNumber) return 'string'
  if (typeof v === 'boolean') return 'bool'
  if (v instanceof GoInt) return 'int'
  if (v instanceof GoFloat) return 'float64'
  if (Array.isArray(v)) return 'slice'
  if (v instanceof Map) return 'map'
  return 'unknown'
}

function truth (v: Val): boolean {
  if (v === null || v === undefined || v === NO_VALUE) return false
  if (typeof v === 'boolean') return v
  if (typeof v === 'string') return v.length > 0
  if (v instanceof GoNumber) return v.text.length > 0
  if (v instanceof GoInt) return v.v !== 0n
  if (v instanceof GoFloat) return v.v !== 0
  if (Array.isArray(v)) return v.length > 0
  if (v instanceof Map) return v.size > 0
  return true
}

/** fmt's %v of a value. */
function show (v: Val): string {
  if (v === NO_VALUE) return '<undefined>'
  if (v === null || v === undefined) return '<nil>'
  if (typeof v === 'string') return v
  if (v instanceof GoNumber) return v.text
  if (v instanceof GoInt) return v.v.toString()
  if (v instanceof GoFloat) return goFloat(v.v)
  if (typeof v === 'boolean') return String(v)
  if (Array.isArray(v)) return '[' + v.map(show).join(' ') + ']'
  if (v instanceof Map) return 'map[' + [...v].map(([k, x]) => `${k}:${show(x)}`).join(' ') + ']'
  return String(v)
}

/** Go's %v of a float64 (strconv 'g' with the shortest digits, exponent past 21 digits). */
function goFloat (f: number): string {
  if (Number.isInteger(f) && Math.abs(f) < 1e21) return String(f)
  const s = String(f)
  return s.replace(/e([+-])(\d)$/, 'e$10$2')
}

// ---- lexing: text and actions ----

type Tok = { kind: 'text'; text: string } | { kind: 'action'; src: string; pos: number }

function split (t: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  let trimNext = false
  while (i <= t.length) {
    const open = t.indexOf('{{', i)
    let text = open < 0 ? t.slice(i) : t.slice(i, open)
    if (trimNext) text = text.replace(/^\s+/, '')
    trimNext = false
    if (open < 0) { if (text !== '') out.push({ kind: 'text', text }); break }
    let a = open + 2
    if (/^-[ \t\r\n]/.test(t.slice(a, a + 2))) { text = text.replace(/\s+$/, ''); a += 1 }
    if (text !== '') out.push({ kind: 'text', text })
    // the action ends at the first "}}" outside a string literal
    let j = a
    let q = ''
    for (; j < t.length; j++) {
      const c = t[j]!
      if (q !== '') {
        if (c === '\\' && q === '"') { j++; continue }
        if (c === q) q = ''
        continue
      }
      if (c === '"' || c === '`' || c === '\'') { q = c; continue }
      if (c === '}' && t[j + 1] === '}') break
    }
    if (j >= t.length) fail('unclosed action')
    let src = t.slice(a, j)
    if (/[ \t\r\n]-$/.test(src)) { src = src.slice(0, -1); trimNext = true }
    const s = src.trim()
    if (!(s.startsWith('/*') && s.endsWith('*/'))) out.push({ kind: 'action', src: s, pos: open })
    i = j + 2
  }
  return out
}

// ---- parsing an action's pipeline ----

type Expr =
  | { t: 'field'; names: string[] } // of dot
  | { t: 'var'; name: string; names: string[] }
  | { t: 'lit'; v: Val }
  | { t: 'call'; fn: string; args: Expr[] }
  | { t: 'pipe'; pipe: Pipe; names: string[] }
interface Pipe { decl: string[]; assign: boolean; cmds: Expr[][] }

// text/template's own functions (not Rego builtins, though some share names)
const TEMPLATE_FUNC = /^(?:and|or|not|len|index|eq|ne|lt|le|gt|ge|print)$/

function tokens (src: string): string[] {
  const out: string[] = []
  const re = /\s+|"(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)*'|:=|=|\||\(|\)(?:\.[A-Za-z_][A-Za-z0-9_]*)*|,|[^\s|(),=]+/gy
  let m: RegExpExecArray | null
  re.lastIndex = 0
  while (re.lastIndex < src.length && (m = re.exec(src)) !== null) if (!/^\s+$/.test(m[0])) out.push(m[0])
  if (re.lastIndex < src.length) fail(`unexpected "${src.slice(re.lastIndex, re.lastIndex + 10)}"`)
  return out
}

const FIELDS = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/
const VAR = /^\$[A-Za-z0-9_]*((?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/

function unquote (s: string): string {
  if (s.startsWith('`')) return s.slice(1, -1)
  try { return JSON.parse(s.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b')) as string } catch { return fail(`bad string literal ${s}`) }
}

function parsePipe (toks: string[], pos: { i: number }, inParen: boolean): Pipe {
  const decl: string[] = []
  let assign = false
  // $x := / $x, $y := / $x =
  const save = pos.i
  const vars: string[] = []
  while (pos.i < toks.length && /^\$[A-Za-z0-9_]*$/.test(toks[pos.i]!)) {
    vars.push(toks[pos.i]!)
    pos.i++
    if (toks[pos.i] === ',') { pos.i++; continue }
    break
  }
  if (vars.length > 0 && (toks[pos.i] === ':=' || toks[pos.i] === '=')) {
    assign = toks[pos.i] === '='
    decl.push(...vars)
    pos.i++
  } else pos.i = save
  const cmds: Expr[][] = []
  let cmd: Expr[] = []
  while (pos.i < toks.length) {
    const tk = toks[pos.i]!
    if (tk === ')' || tk.startsWith(')')) { if (!inParen) fail('unexpected )'); break }
    pos.i++
    if (tk === '|') { if (cmd.length === 0) fail('missing command'); cmds.push(cmd); cmd = []; continue }
    if (tk === '(') {
      const inner = parsePipe(toks, pos, true)
      const close = toks[pos.i]
      if (close === undefined || !close.startsWith(')')) fail('unclosed (')
      pos.i++
      cmd.push({ t: 'pipe', pipe: inner, names: close!.slice(1).split('.').filter(Boolean) })
      continue
    }
    cmd.push(operand(tk))
  }
  if (cmd.length > 0) cmds.push(cmd)
  if (cmds.length === 0) fail('missing value for command')
  return { decl, assign, cmds }
}

function operand (tk: string): Expr {
  if (tk === '.') return { t: 'field', names: [] }
  if (FIELDS.test(tk)) return { t: 'field', names: tk.slice(1).split('.') }
  const v = VAR.exec(tk)
  if (v !== null) return { t: 'var', name: tk.slice(0, tk.length - v[1]!.length), names: v[1]!.split('.').filter(Boolean) }
  if (tk.startsWith('"') || tk.startsWith('`')) return { t: 'lit', v: unquote(tk) }
  if (tk === 'true' || tk === 'false') return { t: 'lit', v: tk === 'true' }
  if (tk === 'nil') return { t: 'lit', v: null }
  const int = /^([-+]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(tk)
  if (int !== null) {
    const digits = int[2]!.replace(/_/g, '').replace(/^0([0-7]+)$/, '0o$1')
    const n = BigInt(digits)
    return { t: 'lit', v: new GoInt(int[1] === '-' ? -n : n) }
  }
  if (/^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(tk)) return { t: 'lit', v: new GoFloat(Number(tk)) }
  if (TEMPLATE_FUNC.test(tk)) return { t: 'call', fn: tk, args: [] }
  return fail(`function "${tk}" not defined`)
}

// ---- the tree ----

type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe }
  | { t: 'if' | 'with'; pipe: Pipe; then: Node[]; else: Node[] }
  | { t: 'range'; pipe: Pipe; body: Node[]; else: Node[] }
  | { t: 'break' | 'continue' }

function parseTree (toks: Tok[]): Node[] {
  let i = 0
  const block = (inRange: boolean): { nodes: Node[]; end: 'end' | 'else' | 'eof'; elseRest?: string } => {
    const nodes: Node[] = []
    while (i < toks.length) {
      const tk = toks[i++]!
      if (tk.kind === 'text') { nodes.push({ t: 'text', text: tk.text }); continue }
      const word = tk.src.split(/\s+/)[0]!
      const rest = tk.src.slice(word.length).trim()
      if (word === 'end') return { nodes, end: 'end' }
      if (word === 'else') return { nodes, end: 'else', elseRest: rest }
      if (word === 'break' || word === 'continue') {
        if (!inRange) fail(`{{${word}}} outside {{range}}`)
        nodes.push({ t: word })
        continue
      }
      if (word === 'if' || word === 'with') { nodes.push(conditional(word, rest, inRange)); continue }
      if (word === 'range') {
        const pipe = pipeOf(rest)
        const body = block(true)
        let els: Node[] = []
        if (body.end === 'else') {
          if (body.elseRest !== '') fail('unexpected tokens after {{else}} in {{range}}')
          const e = block(inRange)
          if (e.end !== 'end') fail('missing {{end}} for {{range}}')
          els = e.nodes
        } else if (body.end !== 'end') fail('missing {{end}} for {{range}}')
        nodes.push({ t: 'range', pipe, body: body.nodes, else: els })
        continue
      }
      if (['define', 'template', 'block'].includes(word)) fail(`{{${word}}} is not supported`)
      nodes.push({ t: 'action', pipe: pipeOf(tk.src) })
    }
    return { nodes, end: 'eof' }
  }
  const conditional = (word: 'if' | 'with', rest: string, inRange: boolean): Node => {
    const pipe = pipeOf(rest)
    const then = block(inRange)
    let els: Node[] = []
    if (then.end === 'else') {
      const r = then.elseRest!
      if (r.startsWith('if ') && word === 'if') els = [conditional('if', r.slice(3), inRange)]
      else if (r.startsWith('with ') && word === 'with') els = [conditional('with', r.slice(5), inRange)]
      else if (r !== '') fail(`unexpected "${r}" in {{else}}`)
      else {
        const e = block(inRange)
        if (e.end !== 'end') fail(`missing {{end}} for {{${word}}}`)
        els = e.nodes
      }
    } else if (then.end !== 'end') fail(`missing {{end}} for {{${word}}}`)
    return { t: word, pipe, then: then.nodes, else: els }
  }
  const top = block(false)
  if (top.end !== 'eof') fail(`unexpected {{${top.end}}}`)
  return top.nodes
}

function pipeOf (src: string): Pipe {
  if (src === '') fail('missing value for command')
  const toks = tokens(src)
  const pos = { i: 0 }
  const p = parsePipe(toks, pos, false)
  if (pos.i < toks.length) fail(`unexpected "${toks[pos.i]}"`)
  return p
}

// ---- execution ----

class Scope {
  private readonly vars: Array<[string, Val]> = []
  constructor (root: Val) { this.vars.push(['$', root]) }
  mark (): number { return this.vars.length }
  pop (m: number): void { this.vars.length = m }
  push (name: string, v: Val): void { this.vars.push([name, v]) }
  set (name: string, v: Val): void {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]![0] === name) { this.vars[i]![1] = v; return }
    fail(`undefined variable: ${name}`)
  }
  get (name: string): Val {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]![0] === name) return this.vars[i]![1]
    return fail(`undefined variable: ${name}`)
  }
}

class Break {}
class Continue {}

function fieldOf (v: Val, names: string[], what: string): Val {
  let cur = v
  for (const n of names) {
    if (cur === NO_VALUE) continue
    if (cur instanceof Map) {
      cur = cur.has(n) ? cur.get(n) : NO_VALUE
    } else if (cur === null || cur === undefined) fail(`executing at <${what}>: nil pointer evaluating interface {}.${n}`)
    else fail(`executing at <${what}>: can't evaluate field ${n} in type ${kindOf(cur)}`)
  }
  return cur
}

function evalPipe (p: Pipe, dot: Val, sc: Scope): Val {
  let v: Val
  let first = true
  for (const cmd of p.cmds) {
    v = evalCmd(cmd, dot, sc, first ? undefined : { v })
    first = false
  }
  if (p.decl.length > 0) {
    if (p.assign) sc.set(p.decl[0]!, v)
    else sc.push(p.decl[p.decl.length - 1]!, v)
  }
  return v
}

function evalArg (e: Expr, dot: Val, sc: Scope): Val {
  switch (e.t) {
    case 'field': return fieldOf(dot, e.names, '.' + e.names.join('.'))
    case 'var': return fieldOf(sc.get(e.name), e.names, e.name + (e.names.length ? '.' + e.names.join('.') : ''))
    case 'lit': return e.v
    case 'pipe': return fieldOf(evalPipe(e.pipe, dot, sc), e.names, '(…)')
    case 'call': return call(e.fn, [], dot, sc)
  }
}

function evalCmd (cmd: Expr[], dot: Val, sc: Scope, piped: { v: Val } | undefined): Val {
  const head = cmd[0]!
  if (head.t === 'call') {
    const args = cmd.slice(1)
    return call(head.fn, args, dot, sc, piped)
  }
  if (cmd.length > 1 || piped !== undefined) fail(`can't give argument to non-function ${show(evalArg(head, dot, sc))}`)
  return evalArg(head, dot, sc)
}

function compare (a: Val, b: Val, fn: string): number {
  const ka = kindOf(a), kb = kindOf(b)
  const num = (x: Val): bigint | number => x instanceof GoInt ? x.v : (x as GoFloat).v
  if (ka === 'string' && kb === 'string') {
    const sa = a instanceof GoNumber ? a.text : a as string
    const sb = b instanceof GoNumber ? b.text : b as string
    return sa < sb ? -1 : sa > sb ? 1 : 0
  }
  if ((ka === 'int' && kb === 'int') || (ka === 'float64' && kb === 'float64')) {
    const x = num(a), y = num(b)
    return x < y ? -1 : x > y ? 1 : 0
  }
  if (ka === 'bool' && kb === 'bool' && (fn === 'eq' || fn === 'ne')) return a === b ? 0 : 1
  if (ka !== kb) return fail(`error calling ${fn}: incompatible types for comparison`)
  return fail(`error calling ${fn}: invalid type for comparison`)
}

function call (fn: string, argExprs: Expr[], dot: Val, sc: Scope, piped?: { v: Val }): Val {
  // and/or evaluate their arguments lazily, as Go's do
  if (fn === 'and' || fn === 'or') {
    const n = argExprs.length + (piped ? 1 : 0)
    if (n < 1) fail(`wrong number of args for ${fn}: want at least 1 got 0`)
    let v: Val = null
    for (let i = 0; i < n; i++) {
      v = i < argExprs.length ? evalArg(argExprs[i]!, dot, sc) : piped!.v
      if (fn === 'and' ? !truth(v) : truth(v)) return v
    }
    return v
  }
  const args = argExprs.map((e) => evalArg(e, dot, sc))
  if (piped) args.push(piped.v)
  const want = (n: number): void => { if (args.length !== n) fail(`wrong number of args for ${fn}: want ${n} got ${args.length}`) }
  switch (fn) {
    case 'not': want(1); return !truth(args[0])
    case 'len': {
      want(1)
      const x = args[0]
      if (typeof x === 'string') return new GoInt(BigInt(stringBytes(x).length)) // bytes, invalid UTF-8 too (./bytes.ts)
      if (x instanceof GoNumber) return new GoInt(BigInt(x.text.length))
      if (Array.isArray(x)) return new GoInt(BigInt(x.length))
      if (x instanceof Map) return new GoInt(BigInt(x.size))
      return fail(`error calling len: len of type ${kindOf(x)}`)
    }
    case 'index': {
      if (args.length < 1) fail('wrong number of args for index: want at least 1 got 0')
      let cur = args[0]
      for (const k of args.slice(1)) {
        if (Array.isArray(cur)) {
          if (!(k instanceof GoInt)) fail(`error calling index: cannot index slice/array with type ${kindOf(k)}`)
          const i = Number((k as GoInt).v)
          if (i < 0 || i >= cur.length) fail(`error calling index: index out of range: ${i}`)
          cur = cur[i]
        } else if (cur instanceof Map) {
          if (typeof k !== 'string' && !(k instanceof GoNumber)) fail(`error calling index: value has type ${kindOf(k)}; should be string`)
          const key = typeof k === 'string' ? k : (k as GoNumber).text
          cur = cur.has(key) ? cur.get(key) : null // index ignores missingkey: the zero value
        } else fail(`error calling index: can't index item of type ${kindOf(cur)}`)
      }
      return cur
    }
    case 'eq': {
      if (args.length < 2) fail('missing argument for comparison')
      for (const b of args.slice(1)) if (compare(args[0], b, fn) === 0) return true
      return false
    }
    case 'ne': want(2); return compare(args[0], args[1], fn) !== 0
    case 'lt': want(2); return compare(args[0], args[1], fn) < 0
    case 'le': want(2); return compare(args[0], args[1], fn) <= 0
    case 'gt': want(2); return compare(args[0], args[1], fn) > 0
    case 'ge': want(2); return compare(args[0], args[1], fn) >= 0
    case 'print': {
      // fmt.Sprint: a space between operands when neither is a string
      let out = ''
      args.forEach((a, i) => {
        if (i > 0 && kindOf(a) !== 'string' && kindOf(args[i - 1]) !== 'string') out += ' '
        out += show(a)
      })
      return out
    }
  }
  return fail(`function "${fn}" not defined`)
}

function exec (nodes: Node[], dot: Val, sc: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.t) {
      case 'text': out.push(n.text); break
      case 'action': {
        const v = evalPipe(n.pipe, dot, sc)
        if (n.pipe.decl.length === 0) out.push(show(v))
        break
      }
      case 'if': case 'with': {
        const m = sc.mark()
        const v = evalPipe(n.pipe, dot, sc)
        if (truth(v)) exec(n.then, n.t === 'with' ? v : dot, sc, out)
        else { sc.pop(m); exec(n.else, dot, sc, out) }
        sc.pop(m)
        break
      }
      case 'range': {
        const m = sc.mark()
        const decl = n.pipe.decl
        const v = evalPipe({ ...n.pipe, decl: [] }, dot, sc)
        const items: Array<[Val, Val]> = Array.isArray(v) ? v.map((x, i) => [new GoInt(BigInt(i)), x])
          : v instanceof Map ? [...v].map(([k, x]) => [k, x]) : fail(`range can't iterate over ${show(v)}`)
        if (items.length === 0) { exec(n.else, dot, sc, out); sc.pop(m); break }
        for (const [k, x] of items) {
          const mm = sc.mark()
          if (decl.length === 1) sc.push(decl[0]!, x)
          else if (decl.length === 2) { sc.push(decl[0]!, k); sc.push(decl[1]!, x) }
          try { exec(n.body, x, sc, out) } catch (e) {
            if (e instanceof Break) { sc.pop(mm); break }
            if (!(e instanceof Continue)) throw e
          }
          sc.pop(mm)
        }
        sc.pop(m)
        break
      }
      case 'break': throw new Break()
      case 'continue': throw new Continue()
    }
  }
}

/** Renders `template` with `vars` (a JSON object) as OPA's strings.render_template does; throws TemplateError. */
export function renderGoTemplate (template: string, vars: Record<string, unknown>): string {
  const tree = parseTree(split(template))
  const root = fromJson(vars)
  const out: string[] = []
  exec(tree, root, new Scope(root), out)
  return out.join('')
}
