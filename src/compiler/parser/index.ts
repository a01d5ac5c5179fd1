// Rego recursive-descent parser: tokens (../lexer) → AST (../ast). Rego v1 by default; v0
// (ParseModuleOptions.regoVersion = 0, OPA 1.x's --v0-compatible) differs only where OPA's
// does: `in`/`every`/`contains`/`if` are names until imported from `future.keywords`, a rule
// body may follow the head without `if`, `p[x] { ... }` / a bare `p[x]` is a partial set
// (`p contains x`), bodies may be chained (`p { a } { b }`), and `import rego.v1` switches
// the rest of the module to v1 syntax. Everything after parsing is the same for both.
//
// Grammar notes (following OPA 1.x behaviour):
// - Operator precedence, lowest first: `=`/`:=` (expression level only), `in`, relational
//   (== != < <= > >=), `|`, `&`, `+ -`, `* / %`, unary minus, postfix (refs, calls). All
//   binary operators are left-associative and become calls with OPA's builtin names.
// - `k, v in xs` (internal.member_3) is only recognised at expression-statement level, inside
//   parentheses and after `some`; in array items / call arguments / object entries a comma
//   always separates elements.
// - Ref and call continuations (`.x`, `[t]`, `(args)`) must follow the previous token without
//   whitespace, so `[1] [2]` on separate lines never glues into a ref.
// - Inside a body (rule body, comprehension body, `every` body, query) a newline separates
//   expressions; inside ( ) [ ] { } of a term newlines are insignificant. A binary operator at
//   the end of a line continues the expression onto the next one. A binary operator at the
//   start of a line also continues it (it cannot start an expression), except `-`, which there
//   starts a new expression (unary minus).
// - Errors are collected as `rego_parse_error` diagnostics, never thrown to the caller.
//   Recovery: inside a rule body / query at the next expression (newline or `;`), otherwise at
//   the next rule (a line starting at column 1 with an identifier).
import type { Body, Expr, Import, Loc, Module, Rule, Term, With } from '../ast/index.js'
import type { Diagnostic } from '../diagnostics.js'
import { attachAnnotations } from './annotations.js'
import { FUTURE_KEYWORDS, KEYWORDS, lex, V0_KEYWORDS, type Comment, type Token } from '../lexer/index.js'

export interface ParseModuleResult { module: Module | null; diagnostics: Diagnostic[] }
export interface ParseQueryResult { body: Body | null; diagnostics: Diagnostic[] }
export interface ParseTermResult { term: Term | null; diagnostics: Diagnostic[] }

type VarTerm = Extract<Term, { type: 'var' }>

const RELATION_OPS: Record<string, string> = {
  '==': 'equal', '!=': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte',
}
const ARITH_OPS: Record<string, string> = { '+': 'plus', '-': 'minus' }
const FACTOR_OPS: Record<string, string> = { '*': 'mul', '/': 'div', '%': 'rem' }

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/

class ParseError extends Error {
  constructor (readonly diagnostic: Diagnostic) {
    super(diagnostic.message)
  }
}

interface Ctx {
  /** newlines separate expressions here (a body), rather than being insignificant (a term) */
  nl: boolean
  /** `|` ends the current term (comprehension head) instead of being set union */
  noOr: boolean
}

interface SavePoint { pos: number; diags: number; ctx: number }

type BodyEnd = '}' | ']' | 'eof'

/** An `and` / `or` literal before it becomes an expression (Parser.parseLogicalLiteral). */
type Logical =
  | { kind: 'plain'; expr: Expr; loc: Loc }
  | { kind: 'body'; body: Body; loc: Loc }
  | { kind: 'not'; item: Logical; loc: Loc }
  | { kind: 'and' | 'or'; items: Logical[] }

/** `n` with the modifiers `ws` added to every expression it evaluates. */
function withAll (n: Logical, ws: With[]): Logical {
  if (ws.length === 0) return n
  switch (n.kind) {
    case 'plain': return { ...n, expr: { ...n.expr, with: [...ws, ...n.expr.with] } }
    case 'body': return { ...n, body: n.body.map(e => ({ ...e, with: [...ws, ...e.with] })) }
    case 'not': return { ...n, item: withAll(n.item, ws) }
    default: return { ...n, items: n.items.map(i => withAll(i, ws)) }
  }
}

class Parser {
  private pos = 0
  /** numbers the variables of template-string parts ($tmplN: no Rego name starts with $) */
  templateVars = 0
  /** `import future.keywords.not` / `import rego.v2`: OPA 1.17's negation (parseLogicalLiteral) */
  notBodies = false
  /** `and` / `or` are keywords here (parseLogicalLiteral) */
  logical = false
  private readonly ctx: Ctx[] = [{ nl: true, noOr: false }]
  /** the syntax in force: 0 until a v0 module imports rego.v1 */
  version: 0 | 1
  /** words that are keywords here (v0: the base set plus future.keywords imports) */
  keywords: Set<string>

  constructor (
    private readonly toks: Token[],
    private readonly file: string,
    readonly diags: Diagnostic[],
    version: 0 | 1 = 1,
  ) {
    this.version = version
    this.keywords = new Set(version === 1 ? KEYWORDS : V0_KEYWORDS)
  }

  isKeyword (word: string): boolean { return this.keywords.has(word) }
  /** the rule just parsed had an `if { ... }` block body (further bodies may be chained to it) */
  ifBlock = false

  // ---------------------------------------------------------------- token helpers

  get tok (): Token { return this.toks[this.pos] }
  peek (k = 1): Token { return this.toks[Math.min(this.pos + k, this.toks.length - 1)] }
  advance (): Token {
    const t = this.toks[this.pos]
    if (this.pos < this.toks.length - 1) this.pos++
    return t
  }

  isOp (text: string, t: Token = this.tok): boolean { return t.kind === 'op' && t.text === text }
  isKw (word: string, t: Token = this.tok): boolean { return t.kind === 'ident' && t.text === word && this.keywords.has(word) }
  atEof (): boolean { return this.tok.kind === 'eof' }

  loc (t: Token): Loc { return { file: this.file, line: t.line, col: t.col } }

  describe (t: Token): string {
    switch (t.kind) {
      case 'eof': return 'end of file'
      case 'op': return `${t.text} token`
      case 'number': return `number ${t.text}`
      case 'string': return 'string token'
      case 'template': return 'template string token'
      case 'ident': return this.isKeyword(t.text) ? `${t.text} keyword` : `identifier ${t.text}`
    }
  }

  fail (message: string, t: Token = this.tok): never {
    throw new ParseError({ code: 'rego_parse_error', message, loc: this.loc(t) })
  }

  /** A number token's text; OPA refuses a leading zero but in 0, 0.x and 0e... */
  numberText (t: Token): string {
    const x = t.text
    if (x.length > 1 && x[0] === '0' && x[1] !== '.' && x[1] !== 'e' && x[1] !== 'E') this.unexpected('number without leading zero', t)
    if (numberTooBig(x)) this.fail('number too big', t)
    return x
  }

  /** The digits after `.` in `.5` (the current token, a number of digits only), consumed. */
  fractionText (): string {
    const t = this.advance()
    if (!/^[0-9]+([eE][+-]?[0-9]+)?$/.test(t.text)) this.unexpected('digits after the decimal point', t)
    if (numberTooBig('0.' + t.text)) this.fail('number too big', t)
    return t.text
  }

  unexpected (expected?: string, t: Token = this.tok): never {
    this.fail(`unexpected ${this.describe(t)}${expected !== undefined ? `: expected ${expected}` : ''}`, t)
  }

  expectOp (text: string, expected: string = text): Token {
    if (!this.isOp(text)) this.unexpected(expected)
    return this.advance()
  }

  report (e: unknown): void {
    if (e instanceof ParseError) this.diags.push(e.diagnostic)
    else throw e
  }

  save (): SavePoint { return { pos: this.pos, diags: this.diags.length, ctx: this.ctx.length } }
  restore (s: SavePoint): void {
    this.pos = s.pos
    this.diags.length = s.diags
    this.ctx.length = s.ctx
  }

  get top (): Ctx { return this.ctx[this.ctx.length - 1] }

  withCtx<T> (c: Ctx, f: () => T): T {
    this.ctx.push(c)
    const n = this.ctx.length
    const r = f()
    this.ctx.length = n - 1
    return r
  }

  /**
   * Can `t` continue the current expression as a binary operator? Any operator does, after a
   * newline too, as in OPA's parser (its arithmetic takes a `-` on the next line as minus:
   * `x := input.a` then `-1 < input.b` on the next line is `x := input.a - 1 < input.b`).
   */
  continues (t: Token): boolean {
    return t.kind === 'op'
  }

  // ---------------------------------------------------------------- module

  parseModule (): Module | null {
    let pkg: Module['package'] | null = null
    const imports: Import[] = []
    const rules: Rule[] = []

    if (this.isKw('package')) {
      try {
        pkg = this.parsePackage()
        this.endOfStatement()
      } catch (e) {
        this.report(e)
        this.skipToNextRule(0)
      }
    } else {
      this.diags.push({
        code: 'rego_parse_error',
        message: this.atEof() ? 'empty module' : `unexpected ${this.describe(this.tok)}: expected package`,
        loc: this.loc(this.tok),
      })
    }

    let sawRule = false
    while (!this.atEof()) {
      const s = this.save()
      try {
        if (this.isKw('import')) {
          const t = this.tok
          const imp = this.parseImport()
          // OPA reads an import anywhere in the module; a language import (future.*, rego.*) after
          // a rule would change how the rules above it were read, so it is refused
          const h = imp.path.type === 'ref' ? imp.path.head : imp.path
          if (sawRule && h.type === 'var' && (h.name === 'future' || h.name === 'rego')) {
            this.diags.push({ code: 'rego_parse_error', message: 'imports must appear before rules', loc: this.loc(t) })
          }
          this.languageImport(imp)
          imports.push(imp)
        } else if (this.isKw('package')) {
          this.fail('unexpected package keyword: only one package declaration is allowed')
        } else {
          sawRule = true
          rules.push(...this.parseRules())
        }
        this.endOfStatement()
      } catch (e) {
        this.report(e)
        this.ctx.length = s.ctx
        this.skipToNextRule(s.pos)
      }
    }

    if (this.diags.length > 0 || pkg === null) return null
    return { file: this.file, package: pkg, imports, rules, regoVersion: this.version }
  }

  /** `import future.keywords[.kw]` and `import rego.v1`: keywords and syntax for the rest of a
   *  v0 module (no-ops in v1, which has them all). Malformed ones are errors in both. */
  languageImport (imp: Import): void {
    const p = imp.path
    const head = p.type === 'ref' ? p.head : p
    if (head.type !== 'var' || (head.name !== 'future' && head.name !== 'rego')) return
    const rest = p.type === 'ref' ? p.path.map(t => t.type === 'string' ? t.value : null) : []
    const error = (message: string): void => { this.diags.push({ code: 'rego_parse_error', message, loc: imp.loc }) }
    if (head.name === 'rego') {
      if (rest.length !== 1 || (rest[0] !== 'v1' && rest[0] !== 'v2')) { error('invalid import, must be `rego.v1` or `rego.v2`'); return }
      if (imp.alias !== undefined) { error('`rego` imports cannot be aliased'); return }
      this.version = 1
      for (const k of KEYWORDS) this.keywords.add(k)
      // rego.v2 (OPA 1.22) is rego.v1 plus the future keywords not, and and or
      if (rest[0] === 'v2') { this.notBodies = true; this.logical = true; this.keywords.add('and'); this.keywords.add('or') }
      return
    }
    if (rest[0] !== 'keywords' || rest.length > 2) { error('invalid import, must be `future.keywords`'); return }
    if (imp.alias !== undefined) { error('`future` imports cannot be aliased'); return }
    if (rest.length === 1) {
      // every future keyword, not, and and or included (OPA PR #9093): a module importing the
      // catch-all gets OPA 1.17's negation and the and/or keywords, as in current OPA
      for (const k of FUTURE_KEYWORDS) this.keywords.add(k)
      this.notBodies = true
      this.logical = true
      this.keywords.add('and')
      this.keywords.add('or')
      return
    }
    const kw = rest[1]
    // `not` is a keyword already; importing it changes what a negation covers (parseLogicalLiteral)
    if (kw === 'not') { this.notBodies = true; return }
    if (kw === 'and' || kw === 'or') { this.logical = true; this.keywords.add(kw); return }
    if (kw === null || !FUTURE_KEYWORDS.includes(kw)) {
      error(`unexpected keyword, must be one of [${[...FUTURE_KEYWORDS, 'and', 'not', 'or'].sort().join(' ')}]`)
      return
    }
    this.keywords.add(kw)
  }

  /** After a package/import/rule the next statement may follow on the same line, as OPA's
   *  parser reads statements one after the other (`package p q := 1` is two statements): a
   *  token that starts no statement is reported where the next statement is parsed. */
  endOfStatement (): void {}

  /** Skips to the next line that starts (column 1) with a rule name, `default` or `import`,
   *  past the token at index `start`. */
  skipToNextRule (start: number): void {
    while (!this.atEof()) {
      const t = this.tok
      if (this.pos > start && t.nlBefore && t.col === 1 && t.kind === 'ident' &&
          (!this.isKeyword(t.text) || t.text === 'default' || t.text === 'import' || t.text === 'package')) {
        return
      }
      this.advance()
    }
  }

  parsePackage (): Module['package'] {
    const kw = this.advance()
    const ref = this.parsePathRef('package path')
    const path: Term[] = ref.path.slice()
    path.unshift({ type: 'string', value: (ref.head as VarTerm).name, loc: ref.head.loc })
    return { path, loc: this.loc(kw) }
  }

  parseImport (): Import {
    const kw = this.advance()
    const path = this.parsePathRef('import path')
    let alias: string | undefined
    if (this.isKw('as')) {
      this.advance()
      const t = this.tok
      if (t.kind !== 'ident' || this.isKeyword(t.text)) this.unexpected('import alias (a variable name)')
      alias = this.advance().text
    }
    // OPA: "unexpected import path, must not end with a keyword" unless aliased (`import data.foo.in`)
    const last = path.path.length > 0 ? path.path[path.path.length - 1] : undefined
    const language = path.head.type === 'var' && (path.head.name === 'future' || path.head.name === 'rego')
    if (alias === undefined && !language && last?.type === 'string' && KEYWORDS.has(last.value)) {
      this.fail('unexpected import path, must not end with a keyword', kw)
    }
    return { path, alias, loc: this.loc(kw) }
  }

  /** `a.b["c"]` — identifiers and string brackets only (package and import paths). */
  parsePathRef (what: string): Extract<Term, { type: 'ref' }> {
    const h = this.tok
    if (h.kind !== 'ident' || this.isKeyword(h.text)) this.unexpected(what)
    this.advance()
    const head: Term = { type: 'var', name: h.text, loc: this.loc(h) }
    const path: Term[] = []
    for (;;) {
      const t = this.tok
      if (this.isOp('.') && !t.wsBefore) {
        this.advance()
        const n = this.tok
        if (n.kind !== 'ident' || n.wsBefore) this.unexpected(`identifier after . in ${what}`)
        this.advance()
        path.push({ type: 'string', value: n.text, loc: this.loc(n) })
      } else if (this.isOp('[') && !t.wsBefore) {
        this.advance()
        const s = this.tok
        if (s.kind !== 'string') this.unexpected(`string in ${what}`)
        this.advance()
        path.push({ type: 'string', value: s.value ?? '', loc: this.loc(s) })
        this.expectOp(']')
      } else break
    }
    return { type: 'ref', head, path, loc: head.loc }
  }

  // ---------------------------------------------------------------- rules

  /** A rule, plus the further bodies chained to it (`p { a } { b }` in v0, `p if { a } { b }`:
   *  one rule per body, as OPA's parser reads them). */
  parseRules (): Rule[] {
    this.ifBlock = false
    const rule = this.parseRule()
    const rules = [rule]
    if (this.version === 0 || this.ifBlock) {
      while (this.isOp('{') && rule.else === undefined && !rule.default) {
        const open = this.advance()
        const body = this.parseBody('}', false, open)
        this.expectOp('}')
        rules.push({ ...rule, loc: this.loc(open), body })
        this.checkRuleEnd()
      }
    }
    return rules
  }

  parseRule (): Rule {
    const first = this.tok
    let isDefault = false
    if (this.isKw('default')) {
      isDefault = true
      this.advance()
    }
    const nameTok = this.tok
    if (nameTok.kind !== 'ident') this.unexpected(isDefault ? 'rule name' : 'rule')
    if (this.isKeyword(nameTok.text)) this.unexpected(isDefault ? 'rule name' : 'rule')
    this.advance()
    const ref: Term[] = [{ type: 'var', name: nameTok.text, loc: this.loc(nameTok) }]
    // As OPA's parseHeadFinish, whitespace may separate the name from what continues it
    // (`deny [msg] { ... }`, `f (x) = y`); further segments follow without.
    for (;;) {
      const t = this.tok
      const joined = !t.wsBefore || ref.length === 1
      if (this.isOp('.') && joined) {
        this.advance()
        const n = this.tok
        if (n.kind !== 'ident' || n.wsBefore) this.unexpected('identifier after .')
        this.advance()
        ref.push({ type: 'string', value: n.text, loc: this.loc(n) })
      } else if (this.isOp('[') && joined) {
        this.advance()
        ref.push(this.withCtx({ nl: false, noOr: false }, () => {
          const k = this.parseIn(true)
          this.expectOp(']', ']')
          return k
        }))
      } else break
    }

    const rule: Rule = { loc: this.loc(first), default: isDefault, ref, assign: false, body: [] }

    // `p() contains x` is refused like `p(a) contains x`, though `p() := 1` is `p := 1`
    const hadArgs = this.isOp('(') && (!this.tok.wsBefore || ref.length === 1)
    if (hadArgs) {
      const args = this.parseArgs()
      // `f() := 1` is the rule `f := 1` in OPA (no semantic difference: OPA issue #6315)
      if (args.length > 0) rule.args = args
    }

    if (this.isKw('contains')) {
      const c = this.advance()
      if (isDefault) this.fail('default rules cannot use contains', c)
      if (hadArgs) this.fail('functions cannot use contains', c)
      rule.key = this.parseIn(false)
    } else if (this.isOp(':=') || this.isOp('=')) {
      rule.assign = this.advance().text === ':='
      rule.value = this.parseIn(false)
    }

    if (isDefault) {
      if (rule.value === undefined) this.fail(`default rule ${this.refText(ref)} must have a value (:= or =)`, nameTok)
      if (this.isKw('if') || this.isOp('{')) this.fail('default rules must not have a body')
      if (ref.slice(1).some(t => t.type !== 'string')) {
        this.fail(`default rule ${this.refText(ref)} must not have variables in its reference`, nameTok)
      }
      // OPA's parser: the value is a constant (comprehensions aside), and a default function's
      // arguments are distinct variables
      const kind = rule.value === undefined ? undefined : nonConstant(rule.value)
      if (kind !== undefined) this.fail(`illegal default rule (value cannot contain ${kind})`, first)
      const seen = new Set<string>()
      for (const a of rule.args ?? []) {
        if (a.type !== 'var') this.fail(`illegal default rule (arguments cannot contain ${a.type})`, first)
        else if (a.name !== '_' && seen.has(a.name)) this.fail(`illegal default rule (arguments cannot be repeated ${a.name})`, first)
        else seen.add(a.name)
      }
      return rule
    }

    const hasIf = this.isKw('if')
    const body = this.parseRuleBody()
    if (body !== null) rule.body = body
    else if (rule.value === undefined && rule.key === undefined && ref.length === 1 && rule.args !== undefined) {
      // a bare function head `f("a", _)` is f("a", _) = true (OPA's ParseRuleFromCallExpr, in
      // v0 and v1: Regal's own v1 library declares parse_bool("1") that way)
    } else if (rule.value === undefined && rule.key === undefined && ref.length === 1) {
      this.fail(`rule ${this.refText(ref)} must have a value, a contains term or an if body`, nameTok)
    } else if (this.version === 1 && rule.value === undefined && rule.key === undefined && rule.args === undefined) {
      // `p.q` or `p[x]` alone: v0's partial set rule, which Rego v1 spells `p contains "q"`
      this.fail(ref.length === 2 ? '`contains` keyword is required for partial set rules' : 'rule must have value assignment and/or body declaration', nameTok)
    }
    if (this.version === 0 && !hasIf && rule.key === undefined && rule.value === undefined &&
        rule.args === undefined && ref.length === 2) {
      // v0: `p[x] { ... }` and a bare `p[x]` are partial set rules (`p contains x`)
      rule.key = ref[1]
      rule.ref = [ref[0]]
    }

    let cur: Rule = rule
    while (this.isKw('else')) {
      const e = this.advance()
      if (rule.key !== undefined) this.fail('else keyword cannot be used on multi-value rules', e)
      const alt: Rule = { loc: this.loc(e), default: false, ref: rule.ref, assign: false, body: [] }
      if (rule.args !== undefined) alt.args = rule.args
      if (this.isOp(':=') || this.isOp('=')) {
        alt.assign = this.advance().text === ':='
        alt.value = this.parseIn(false)
      }
      const b = this.parseRuleBody()
      if (b !== null) alt.body = b
      else if (alt.value === undefined) this.fail('else keyword must be followed by a value or an if body', e)
      cur.else = alt
      cur = alt
    }
    return rule
  }

  refText (ref: Term[]): string {
    let s = ref[0].type === 'var' ? ref[0].name : '?'
    for (const t of ref.slice(1)) {
      if (t.type === 'string' && IDENT_RE.test(t.value)) s += '.' + t.value
      else if (t.type === 'string') s += `[${JSON.stringify(t.value)}]`
      else if (t.type === 'var') s += `[${t.name}]`
      else s += '[...]'
    }
    return s
  }

  /** `if { ... }` / `if expr` / nothing (null). A bare `{` is a v0 body: an error in v1. */
  parseRuleBody (): Body | null {
    if (this.isKw('if')) {
      this.advance()
      if (this.isOp('{')) {
        // `if { ... }` is a block body, except that a single expression may itself start
        // with an object/set (comprehension): `f(x) := y if {k: v | ...}[x]`. Try the block
        // first; if it does not parse, try one expression; if neither does, re-parse the
        // block with error recovery so its diagnostics are the ones reported.
        if (this.isOp('}', this.peek())) this.fail('found empty body')
        const s = this.save()
        try {
          const open = this.advance()
          const body = this.parseBody('}', false, open)
          this.expectOp('}')
          this.checkRuleEnd(true)
          this.ifBlock = true
          return body
        } catch (e) {
          if (!(e instanceof ParseError)) throw e
          this.restore(s)
        }
        try {
          const lit = this.withCtx({ nl: true, noOr: false }, () => this.parseLiteral())
          this.checkRuleEnd()
          return [lit]
        } catch (e) {
          if (!(e instanceof ParseError)) throw e
          this.restore(s)
        }
        const open = this.advance()
        const body = this.parseBody('}', true, open)
        this.expectOp('}')
        return body
      }
      return this.withCtx({ nl: true, noOr: false }, () => [this.parseLiteral()])
    }
    if (this.isOp('{')) {
      if (this.version === 1) this.fail('`if` keyword is required before rule body')
      // v0: a body follows the head directly
      const open = this.advance()
      const body = this.parseBody('}', true, open)
      this.expectOp('}')
      return body
    }
    return null
  }

  /** A rule (or else branch) ends at end of line / file or continues with `else` (in v0 also
   *  with another body). */
  /** `chained`: after an `if { ... }` block, which further bodies may follow */
  checkRuleEnd (chained = false): void {
    if (this.isKw('else')) return
    if ((this.version === 0 || chained) && this.isOp('{')) return
    this.endOfStatement()
  }

  parseArgs (): Term[] {
    this.advance() // (
    return this.withCtx({ nl: false, noOr: false }, () => {
      const args: Term[] = []
      while (!this.isOp(')')) {
        args.push(this.parseIn(false))
        if (this.isOp(',')) this.advance()
        else if (!this.isOp(')')) this.unexpected(', or )')
      }
      this.advance()
      return args
    })
  }

  // ---------------------------------------------------------------- bodies

  atBodyEnd (end: BodyEnd): boolean {
    return end === 'eof' ? this.atEof() : this.isOp(end)
  }

  /**
   * A query: literals separated by `;` or newlines, up to (not including) `end`.
   * With `recover`, an erroneous literal is reported and parsing resumes at the next one.
   */
  parseBody (end: BodyEnd, recover: boolean, open?: Token): Body {
    return this.withCtx({ nl: true, noOr: false }, () => {
      const body: Body = []
      if (this.atBodyEnd(end)) {
        this.fail(end === 'eof' ? 'empty query' : 'found empty body', open ?? this.tok)
      }
      while (!this.atBodyEnd(end) && !this.atEof()) {
        if (!recover) {
          body.push(this.parseLiteral())
          if (this.separator(end)) break
          continue
        }
        const s = this.save()
        try {
          body.push(this.parseLiteral())
          if (this.separator(end)) break
        } catch (e) {
          this.report(e)
          this.ctx.length = s.ctx
          this.skipToNextLiteral(end, s.pos)
          // always make progress
          if (this.pos === s.pos && !this.atBodyEnd(end) && !this.atEof()) this.advance()
        }
      }
      return body
    })
  }

  /** Consumes the separator after a literal; true when the body ends here. */
  separator (end: BodyEnd): boolean {
    if (this.isOp(';')) {
      this.advance()
      // `p if { true; }`: a `;` separates two expressions, as OPA's parser reads it (a query
      // may still end with one)
      if (this.atBodyEnd(end)) {
        if (end !== 'eof') this.unexpected('expression')
        return true
      }
      return false
    }
    if (this.atBodyEnd(end)) return true
    if (this.tok.nlBefore) return false
    if (this.atEof()) this.unexpected(end === 'eof' ? undefined : end)
    this.unexpected(`newline or ;${end === 'eof' ? '' : ` or ${end}`}`)
  }

  skipToNextLiteral (end: BodyEnd, start: number): void {
    let depth = 0
    let moved = this.pos > start
    while (!this.atEof()) {
      const t = this.tok
      if (depth === 0) {
        if (this.atBodyEnd(end)) return
        if (this.isOp(';')) { this.advance(); return }
        if (moved && t.nlBefore) return
      }
      if (t.kind === 'op') {
        if (t.text === '(' || t.text === '[' || t.text === '{') depth++
        else if (t.text === ')' || t.text === ']' || t.text === '}') {
          if (depth === 0) {
            // a closer that belongs to an enclosing construct: leave it there
            if (end !== 'eof') return
          } else depth--
        }
      }
      this.advance()
      moved = true
    }
  }

  parseLiteral (): Expr {
    const first = this.tok
    let expr: Expr
    if ((this.logical || this.notBodies) && !this.isKw('some') && !this.isKw('every')) return this.parseLogicalLiteral()
    if (this.isKw('some')) expr = this.parseSome()
    else if (this.isKw('every')) expr = this.parseEvery()
    else if (this.isKw('not')) {
      this.advance()
      if (this.isKw('not') || this.isKw('some') || this.isKw('every')) this.unexpected('expression after not')
      expr = this.parseExpr(first)
      expr.negated = true
    } else expr = this.parseExpr(first)
    this.parseWiths(expr)
    return expr
  }

  // ---- `not` (OPA 1.17: import future.keywords.not), `and` / `or` (OPA 1.20: import
  // future.keywords.and / .or); all three with rego.v2 or the catch-all future.keywords ----
  //
  // With the `not` import the negation covers the whole expression, including what OPA
  // otherwise evaluates in front of it (`not f(input.x)` succeeds when input.x is undefined),
  // and `not { a; b }` negates a body. `and` and `or` go between body expressions, binding
  // looser than `not`: `not a and b or c` is ((not a) and b) or c. An operand is an expression,
  // a parenthesised group, or an explicit body `{ ... }`; the whole succeeds or fails and binds
  // nothing (variables bound in a body stay in it). Each becomes an expression over set
  // comprehensions:
  //   not a    →  {true | a} == set()
  //   a and b  →  {true | a; b} != set()
  //   a or b   →  {true | {true | a} == set(); {true | b} == set()} == set()
  // evaluated left to right and stopping as OPA's do (b is not evaluated once a decides).
  // A `with` after the whole applies to every expression in it. A literal without these is
  // parsed as before, so `x := 1` still binds x.

  parseLogicalLiteral (): Expr {
    const first = this.tok
    const node = this.parseOrChain()
    if (node.kind === 'plain') {
      const e = node.expr
      this.parseWiths(e)
      return e
    }
    const holder: Expr = { loc: this.loc(first), negated: false, with: [], kind: { type: 'term', term: { type: 'null', loc: this.loc(first) } } }
    this.parseWiths(holder)
    if (this.isKw('and') || this.isKw('or')) this.unexpected(undefined)
    return this.logicalExpr(withAll(node, holder.with), this.loc(first))
  }

  parseOrChain (): Logical {
    const items = [this.parseAndChain()]
    while (this.isKw('or')) { this.advance(); items.push(this.parseAndChain()) }
    return items.length === 1 ? items[0]! : { kind: 'or', items }
  }

  parseAndChain (): Logical {
    const items = [this.parseNotOperand()]
    while (this.isKw('and')) { this.advance(); items.push(this.parseNotOperand()) }
    return items.length === 1 ? items[0]! : { kind: 'and', items }
  }

  parseNotOperand (): Logical {
    if (!this.isKw('not')) return this.parseOperand()
    const kw = this.advance()
    if (this.isKw('some') || this.isKw('every')) this.fail(`illegal negation of '${this.tok.text}'`)
    if (this.notBodies && this.isOp('{')) {
      // not { ... } always negates a body (OPA: a set needs not ({...}))
      const open = this.advance()
      const body = this.parseBody('}', false, open)
      this.expectOp('}')
      return { kind: 'not', item: { kind: 'body', body, loc: this.loc(open) }, loc: this.loc(kw) }
    }
    const item = this.parseNotOperand()
    if (!this.notBodies) {
      // the classic negation of one expression (its operands are evaluated in front of it)
      if (item.kind !== 'plain' || item.expr.negated) this.fail('negating a group or a body needs import future.keywords.not', kw)
      item.expr.negated = true
      return { kind: 'plain', expr: item.expr, loc: this.loc(kw) }
    }
    return { kind: 'not', item, loc: this.loc(kw) }
  }

  parseOperand (): Logical {
    const first = this.tok
    if (this.isOp('(')) {
      // (a + b) == c is an expression; (a or b) is a group
      const s = this.save()
      try {
        const e = this.parseExpr(first)
        if (this.operandEnds()) return { kind: 'plain', expr: e, loc: e.loc }
      } catch (err) {
        if (!(err instanceof ParseError)) throw err
      }
      this.restore(s)
      this.advance()
      if (this.isOp(')')) this.fail('empty parenthesized group')
      const inner = this.withCtx({ nl: false, noOr: false }, () => {
        const n = this.parseOrChain()
        const holder: Expr = { loc: this.loc(first), negated: false, with: [], kind: { type: 'term', term: { type: 'null', loc: this.loc(first) } } }
        this.parseWiths(holder)
        return withAll(n, holder.with)
      })
      if (!this.isOp(')')) this.fail('expected ) to close parenthesized group')
      this.advance()
      return inner
    }
    if (this.isOp('{')) {
      // { ... } next to and/or holds a body; {1, 2} == x is an expression
      const s = this.save()
      try {
        const open = this.advance()
        const body = this.parseBody('}', false, open)
        this.expectOp('}')
        if (this.isKw('and') || this.isKw('or')) return { kind: 'body', body, loc: this.loc(first) }
      } catch (err) {
        if (!(err instanceof ParseError)) throw err
      }
      this.restore(s)
    }
    const e = this.parseExpr(first)
    return { kind: 'plain', expr: e, loc: e.loc }
  }

  /** After an operand parsed as an expression: does the literal or group go on correctly? */
  operandEnds (): boolean {
    return this.isKw('and') || this.isKw('or') || this.isKw('with') || this.isOp(')') || this.isOp(';') || this.isOp('}') ||
      this.isOp(']') || this.atEof() || this.tok.nlBefore
  }

  /** The expression that succeeds when `n` does (see parseLogicalLiteral). */
  logicalExpr (n: Logical, loc: Loc): Expr {
    const t = (term: Term): Expr => ({ loc, negated: false, with: [], kind: { type: 'term', term } })
    const none = (body: Body): Term => this.call('equal', [{ type: 'setcompr', term: { type: 'boolean', value: true, loc }, body, loc }, { type: 'set', items: [], loc }], loc)
    const some = (body: Body): Term => this.call('neq', [{ type: 'setcompr', term: { type: 'boolean', value: true, loc }, body, loc }, { type: 'set', items: [], loc }], loc)
    switch (n.kind) {
      case 'plain': {
        const k = n.expr.kind.type
        if (k === 'assign') this.failAt('cannot assign vars inside implicit and/or operand', n.loc)
        return n.expr
      }
      case 'body': return t(some(n.body))
      case 'not': {
        const item = n.item
        if (item.kind === 'body') return t(none(item.body))
        if (item.kind === 'plain' && item.expr.kind.type === 'assign') this.failAt('cannot assign vars inside negated expression', n.loc)
        return t(none([item.kind === 'plain' ? item.expr : this.logicalExpr(item, n.loc)]))
      }
      case 'and': return t(some(n.items.map(i => this.logicalExpr(i, loc))))
      case 'or': return t(none(n.items.map(i => t(none([this.logicalExpr(i, loc)])))))
    }
  }

  failAt (message: string, loc: Loc): never {
    throw new ParseError({ code: 'rego_parse_error', message, loc })
  }

  /** `with target as value` modifiers after an expression, added to `expr.with`. */
  parseWiths (expr: Expr): void {
    while (this.isKw('with')) {
      const w = this.advance()
      const target = this.parsePostfix(this.parsePrimary())
      if (target.type !== 'ref' && target.type !== 'var') {
        this.fail('with target must be a reference or a function name', w)
      }
      if (!this.isKw('as')) this.unexpected('as')
      this.advance()
      const value = this.parseIn(false)
      expr.with.push({ target, value, loc: this.loc(w) } satisfies With)
    }
  }

  /**
   * A template string, $"text {expr} text" (OPA 1.12), as OPA's compiler rewrites it:
   * internal.template_string([parts]), where text and scalar literals are themselves and every
   * other expression is the set of its values, {v | v = expr} (so an undefined one is the empty
   * set, rendered "<undefined>", and never fails the body). An expression is a term or call,
   * with optional `with` modifiers; not, some, every, := and = are refused, as in OPA.
   */
  parseTemplate (): Term {
    const open = this.tok
    const loc = this.loc(open)
    const parts: Term[] = []
    let piece = this.advance()
    for (;;) {
      if (piece.value !== undefined && piece.value !== '') parts.push({ type: 'string', value: piece.value, loc: this.loc(piece) })
      if (piece.tmplMore !== true) break
      if (this.tok.kind === 'template' && this.tok.tmplStart !== true) this.fail('invalid template-string expression: empty {}')
      for (const [kw, what] of [['not', "negation ('not')"], ['some', "'some'"], ['every', "'every'"]] as const) {
        if (this.isKw(kw)) this.fail(`unexpected ${what} in template-string expression`)
      }
      const first = this.tok
      const expr = this.withCtx({ nl: false, noOr: false }, () => {
        const e = this.parseExpr(first)
        this.parseWiths(e)
        return e
      })
      if (expr.kind.type === 'assign') this.fail("unexpected assignment (':=') in template-string expression", first)
      if (expr.kind.type === 'unify') this.fail("unexpected unification ('=') in template-string expression", first)
      const term = (expr.kind as { type: 'term'; term: Term }).term
      if (expr.with.length === 0 && (term.type === 'string' || term.type === 'number' || term.type === 'boolean' || term.type === 'null')) {
        parts.push(term)
      } else {
        const v: Term = { type: 'var', name: `$tmpl${this.templateVars++}`, loc: term.loc }
        parts.push({
          type: 'setcompr',
          term: v,
          body: [{ loc: expr.loc, negated: false, with: expr.with, kind: { type: 'unify', left: v, right: term } }],
          loc: term.loc,
        })
      }
      if (this.tok.kind !== 'template' || this.tok.tmplStart === true) this.fail('expected } to end template string expression')
      piece = this.advance()
    }
    if (parts.length === 0) parts.push({ type: 'string', value: '', loc })
    return this.call('internal.template_string', [{ type: 'array', items: parts, loc }], loc)
  }

  parseExpr (first: Token): Expr {
    const left = this.parseIn(true)
    const loc = this.loc(first)
    if (this.isOp(':=') || this.isOp('=')) {
      const op = this.advance().text
      const right = this.parseIn(true)
      return {
        loc,
        negated: false,
        with: [],
        kind: op === ':=' ? { type: 'assign', left, right } : { type: 'unify', left, right },
      }
    }
    return { loc, negated: false, with: [], kind: { type: 'term', term: left } }
  }

  parseSome (): Expr {
    const kw = this.advance()
    const loc = this.loc(kw)
    const s = this.save()
    let t: Term | null = null
    try {
      t = this.parseIn(true)
    } catch (e) {
      if (!(e instanceof ParseError)) throw e
    }
    // `some internal.member_2()` written out: not a domain (it crashed the checker)
    if (t !== null && t.type === 'call' && ((t.name === 'internal.member_2' && t.args.length !== 2) || (t.name === 'internal.member_3' && t.args.length !== 3))) {
      this.fail('illegal domain', kw)
    }
    if (t !== null && t.type === 'call' && t.name === 'internal.member_2') {
      return { loc, negated: false, with: [], kind: { type: 'somein', value: t.args[0], collection: t.args[1] } }
    }
    if (t !== null && t.type === 'call' && t.name === 'internal.member_3') {
      return {
        loc,
        negated: false,
        with: [],
        kind: { type: 'somein', key: t.args[0], value: t.args[1], collection: t.args[2] },
      }
    }
    this.restore(s)
    const vars: VarTerm[] = []
    for (;;) {
      const v = this.tok
      if (v.kind !== 'ident' || this.isKeyword(v.text)) this.unexpected('variable name after some')
      this.advance()
      vars.push({ type: 'var', name: v.text, loc: this.loc(v) })
      if (!this.isOp(',')) break
      this.advance()
    }
    return { loc, negated: false, with: [], kind: { type: 'some', vars } }
  }

  parseEvery (): Expr {
    const kw = this.advance()
    const first = this.parsePostfix(this.parsePrimary())
    let key: Term | undefined
    let value = first
    if (this.isOp(',')) {
      this.advance()
      key = first
      value = this.parsePostfix(this.parsePrimary())
    }
    // `in` here even where it is not a keyword (a v0 module importing only future.keywords.every)
    if (!(this.tok.kind === 'ident' && this.tok.text === 'in')) this.unexpected('in')
    // OPA's parser: `every 10 in xs`, `every "k", x in xs` are no iteration
    if (key !== undefined && key.type !== 'var') this.fail('expected key to be a variable', kw)
    if (value.type !== 'var') this.fail('expected value to be a variable', kw)
    this.advance()
    const collection = this.parseRelation()
    if (!this.isOp('{')) this.unexpected('{')
    const open = this.advance()
    const body = this.parseBody('}', false, open)
    this.expectOp('}')
    const kind: Expr['kind'] = key === undefined
      ? { type: 'every', value, collection, body }
      : { type: 'every', key, value, collection, body }
    return { loc: this.loc(kw), negated: false, with: [], kind }
  }

  // ---------------------------------------------------------------- terms / operators

  call (name: string, args: Term[], loc: Loc): Term {
    return { type: 'call', name, args, loc }
  }

  /** `a in b`, and with keyVal also `k, v in b`. */
  parseIn (keyVal: boolean): Term {
    let lhs = this.parseRelation()
    if (keyVal && this.isOp(',')) {
      const s = this.save()
      let ok = false
      try {
        this.advance()
        const mhs = this.parseRelation()
        if (this.isKw('in')) {
          this.advance()
          const rhs = this.parseRelation()
          lhs = this.call('internal.member_3', [lhs, mhs, rhs], lhs.loc)
          ok = true
        }
      } catch (e) {
        if (!(e instanceof ParseError)) throw e
      }
      if (!ok) this.restore(s)
    }
    while (this.isKw('in')) {
      this.advance()
      const rhs = this.parseRelation()
      lhs = this.call('internal.member_2', [lhs, rhs], lhs.loc)
    }
    return lhs
  }

  parseRelation (): Term {
    let lhs = this.parseOr()
    while (this.continues(this.tok) && RELATION_OPS[this.tok.text] !== undefined) {
      const op = RELATION_OPS[this.advance().text]
      const rhs = this.parseOr()
      lhs = this.call(op, [lhs, rhs], lhs.loc)
    }
    return lhs
  }

  parseOr (): Term {
    let lhs = this.parseAnd()
    while (this.isOp('|') && !this.top.noOr) {
      this.advance()
      const rhs = this.parseAnd()
      lhs = this.call('or', [lhs, rhs], lhs.loc)
    }
    return lhs
  }

  parseAnd (): Term {
    let lhs = this.parseArith()
    while (this.isOp('&')) {
      this.advance()
      const rhs = this.parseArith()
      lhs = this.call('and', [lhs, rhs], lhs.loc)
    }
    return lhs
  }

  parseArith (): Term {
    let lhs = this.parseFactor()
    while (this.continues(this.tok) && ARITH_OPS[this.tok.text] !== undefined) {
      const op = ARITH_OPS[this.advance().text]
      const rhs = this.parseFactor()
      lhs = this.call(op, [lhs, rhs], lhs.loc)
    }
    return lhs
  }

  parseFactor (): Term {
    let lhs = this.parseUnary()
    while (this.tok.kind === 'op' && FACTOR_OPS[this.tok.text] !== undefined) {
      const op = FACTOR_OPS[this.advance().text]
      const rhs = this.parseUnary()
      lhs = this.call(op, [lhs, rhs], lhs.loc)
    }
    return lhs
  }

  parseUnary (): Term {
    if (this.isOp('-')) {
      const minus = this.advance()
      const n = this.tok
      if (n.kind === 'number' && !n.wsBefore) {
        this.advance()
        return { type: 'number', raw: '-' + this.numberText(n), loc: this.loc(minus) }
      }
      if (this.isOp('.') && !n.wsBefore && this.peek().kind === 'number' && !this.peek().wsBefore) {
        this.advance()
        return { type: 'number', raw: '-0.' + this.fractionText(), loc: this.loc(minus) }
      }
      const operand = this.parseUnary()
      const loc = this.loc(minus)
      return this.call('minus', [{ type: 'number', raw: '0', loc }, operand], loc)
    }
    return this.parsePostfix(this.parsePrimary())
  }

  parsePrimary (): Term {
    const t = this.tok
    const loc = this.loc(t)
    // `.5` is the number 0.5, as OPA reads it (a decimal point before the digits)
    if (this.isOp('.') && this.peek().kind === 'number' && !this.peek().wsBefore) {
      this.advance()
      return { type: 'number', raw: '0.' + this.fractionText(), loc }
    }
    switch (t.kind) {
      case 'number':
        this.advance()
        return { type: 'number', raw: this.numberText(t), loc }
      case 'string':
        this.advance()
        return { type: 'string', value: t.value ?? '', loc }
      case 'template':
        if (t.tmplStart !== true) this.unexpected('term', t)
        return this.parseTemplate()
      case 'ident': {
        if (t.text === 'null') { this.advance(); return { type: 'null', loc } }
        if (t.text === 'true') { this.advance(); return { type: 'boolean', value: true, loc } }
        if (t.text === 'false') { this.advance(); return { type: 'boolean', value: false, loc } }
        this.advance()
        if (this.isKeyword(t.text)) {
          // `contains` is a keyword in rule heads but also a builtin: `contains(s, "x")`
          if ((t.text === 'contains' || t.text === 'and' || t.text === 'or') && this.isOp('(') && !this.tok.wsBefore) {
            return { type: 'var', name: t.text, loc }
          }
          this.unexpected('term', t)
        }
        if (t.text === 'set' && this.isOp('(') && !this.tok.wsBefore && this.isOp(')', this.peek())) {
          this.advance(); this.advance()
          return { type: 'set', items: [], loc }
        }
        return { type: 'var', name: t.text, loc }
      }
      case 'op':
        if (t.text === '[') return this.parseArray()
        if (t.text === '{') return this.parseBrace()
        if (t.text === '(') {
          this.advance()
          return this.withCtx({ nl: false, noOr: false }, () => {
            const inner = this.parseIn(true)
            this.expectOp(')')
            return inner
          })
        }
        return this.unexpected('term')
      case 'eof':
        return this.unexpected('term')
    }
  }

  /** `.name`, `[t]` and `(args)` directly after a term. */
  parsePostfix (term: Term): Term {
    let t = term
    for (;;) {
      const tok = this.tok
      if (tok.wsBefore || tok.kind !== 'op') return t
      if (tok.text === '.') {
        this.advance()
        const n = this.tok
        if (n.kind !== 'ident' || n.wsBefore) this.unexpected('identifier after .')
        this.advance()
        t = this.extendRef(t, { type: 'string', value: n.text, loc: this.loc(n) })
      } else if (tok.text === '[') {
        this.advance()
        const idx = this.withCtx({ nl: false, noOr: false }, () => {
          const k = this.parseIn(false)
          this.expectOp(']')
          return k
        })
        t = this.extendRef(t, idx)
      } else if (tok.text === '(') {
        const name = this.callName(t)
        if (name === null) this.fail('invalid function name: calls need a name like f or a.b.f', tok)
        const args = this.parseArgs()
        t = { type: 'call', name, args, loc: t.loc }
      } else return t
    }
  }

  extendRef (t: Term, seg: Term): Term {
    if (t.type === 'ref') return { type: 'ref', head: t.head, path: [...t.path, seg], loc: t.loc }
    // As OPA's parser: a scalar cannot be indexed ("abc"[0] is an error, not undefined)
    if (t.type === 'string' || t.type === 'number' || t.type === 'boolean' || t.type === 'null') {
      throw new ParseError({ code: 'rego_parse_error', message: `illegal ref (head cannot be ${t.type})`, loc: t.loc })
    }
    return { type: 'ref', head: t, path: [seg], loc: t.loc }
  }

  callName (t: Term): string | null {
    if (t.type === 'var') return t.name === '_' ? null : t.name
    if (t.type === 'ref' && t.head.type === 'var') {
      const parts = [t.head.name]
      for (const p of t.path) {
        if (p.type !== 'string' || !IDENT_RE.test(p.value)) return null
        parts.push(p.value)
      }
      return parts.join('.')
    }
    return null
  }

  parseArray (): Term {
    const open = this.advance()
    const loc = this.loc(open)
    return this.withCtx({ nl: false, noOr: false }, () => {
      if (this.isOp(']')) {
        this.advance()
        return { type: 'array', items: [], loc }
      }
      this.top.noOr = true
      const head = this.parseIn(false)
      this.top.noOr = false
      if (this.isOp('|')) {
        this.advance()
        const body = this.parseBody(']', false, this.tok)
        this.expectOp(']')
        return { type: 'arraycompr', term: head, body, loc }
      }
      const items = [head]
      this.listTail(items, ']')
      return { type: 'array', items, loc }
    })
  }

  /** Remaining `, item` elements of an array or set, through the closing token. */
  listTail (items: Term[], close: string): void {
    for (;;) {
      if (this.isOp(close)) { this.advance(); return }
      if (!this.isOp(',')) this.unexpected(`, or ${close}`)
      this.advance()
      if (this.isOp(close)) { this.advance(); return }
      items.push(this.parseIn(false))
    }
  }

  parseBrace (): Term {
    const open = this.advance()
    const loc = this.loc(open)
    return this.withCtx({ nl: false, noOr: false }, () => {
      if (this.isOp('}')) {
        this.advance()
        return { type: 'object', entries: [], loc }
      }
      this.top.noOr = true
      const first = this.parseIn(false)
      if (this.isOp(':')) {
        this.advance()
        const value = this.parseIn(false)
        this.top.noOr = false
        if (this.isOp('|')) {
          this.advance()
          const body = this.parseBody('}', false, this.tok)
          this.expectOp('}')
          return { type: 'objectcompr', key: first, value, body, loc }
        }
        const entries: Array<[Term, Term]> = [[first, value]]
        for (;;) {
          if (this.isOp('}')) { this.advance(); break }
          if (!this.isOp(',')) this.unexpected(', or }')
          this.advance()
          if (this.isOp('}')) { this.advance(); break }
          const k = this.parseIn(false)
          this.expectOp(':')
          const v = this.parseIn(false)
          // As OPA's parser builds the object: a key written twice keeps its first place and
          // takes the last value ({"a": x, "a": y} is {"a": y}, not an evaluation conflict).
          const at = entries.findIndex(([prev]) => sameKeyTerm(prev, k))
          if (at >= 0) entries[at] = [entries[at]![0], v]
          else entries.push([k, v])
        }
        return { type: 'object', entries, loc }
      }
      this.top.noOr = false
      if (this.isOp('|')) {
        this.advance()
        const body = this.parseBody('}', false, this.tok)
        this.expectOp('}')
        return { type: 'setcompr', term: first, body, loc }
      }
      const items = [first]
      this.listTail(items, '}')
      return { type: 'set', items, loc }
    })
  }

  parseStandaloneTerm (): Term {
    return this.withCtx({ nl: false, noOr: false }, () => {
      const t = this.parseIn(true)
      if (!this.atEof()) this.unexpected('end of term')
      return t
    })
  }
}

// ------------------------------------------------------------------ public API

export interface ParseModuleOptions {
  /** 1 (default) or 0: the v0 syntax OPA 1.x accepts with --v0-compatible */
  regoVersion?: 0 | 1
}

export function parseModule (source: string, file: string, opts: ParseModuleOptions = {}): ParseModuleResult {
  const lexed = lex(source, file)
  const p = new Parser(lexed.tokens, file, [], opts.regoVersion ?? 1)
  let module: Module | null = null
  try {
    module = p.parseModule()
  } catch (e) {
    // parse errors are always caught inside; anything else is a parser bug
    p.diags.push({
      code: 'rego_parse_error',
      message: `internal parser error: ${e instanceof Error ? e.message : String(e)}`,
      loc: { file, line: 1, col: 1 },
    })
  }
  if (module !== null && lexed.comments.length > 0) attachAnnotations(module, lexed.comments, p.diags)
  const diagnostics = mergeDiagnostics(lexed.diagnostics, p.diags)
  return { module: diagnostics.length > 0 ? null : module, diagnostics }
}

/**
 * The path of a module's package clause (`package a.b["c"]` → ["a", "b", "c"]), read by the
 * parser that compiles the module, so no spelling the compiler accepts (whitespace, a newline
 * after `package`, brackets) escapes a caller's check of it; or the diagnostic that says why
 * there is none. Rego v0's keywords (the fewer) are assumed: a path either version reads is read.
 */
export function parsePackagePath (source: string, file: string): { path: string[] } | { error: Diagnostic } {
  const lexed = lex(source, file)
  const p = new Parser(lexed.tokens, file, [], 0)
  if (!p.isKw('package')) {
    return { error: lexed.diagnostics[0] ?? { code: 'rego_parse_error', message: p.atEof() ? 'empty module' : `unexpected ${p.describe(p.tok)}: expected package`, loc: p.loc(p.tok) } }
  }
  try {
    const pkg = p.parsePackage()
    return { path: pkg.path.map((t) => (t as { value: string }).value) }
  } catch (e) {
    p.report(e)
    return { error: lexed.diagnostics[0] ?? p.diags[0]! }
  }
}

export function parseQuery (source: string, file = 'query', opts: ParseModuleOptions = {}): ParseQueryResult {
  const lexed = lex(source, file)
  const p = new Parser(lexed.tokens, file, [], opts.regoVersion ?? 1)
  let body: Body | null = null
  try {
    body = p.parseBody('eof', true)
  } catch (e) {
    p.report(e)
  }
  const diagnostics = mergeDiagnostics(lexed.diagnostics, p.diags)
  return { body: diagnostics.length > 0 ? null : body, diagnostics }
}

export function parseTerm (source: string, file = 'term'): ParseTermResult {
  const lexed = lex(source, file)
  const p = new Parser(lexed.tokens, file, [])
  let term: Term | null = null
  try {
    term = p.parseStandaloneTerm()
  } catch (e) {
    p.report(e)
  }
  const diagnostics = mergeDiagnostics(lexed.diagnostics, p.diags)
  return { term: diagnostics.length > 0 ? null : term, diagnostics }
}

/** Lexer and parser diagnostics in source order; a parse error at the exact place of a lexer
 *  error is a consequence of it and dropped. */
function mergeDiagnostics (lexDiags: Diagnostic[], parseDiags: Diagnostic[]): Diagnostic[] {
  const at = new Set(lexDiags.map(d => `${d.loc.line}:${d.loc.col}`))
  const all = [...lexDiags, ...parseDiags.filter(d => !at.has(`${d.loc.line}:${d.loc.col}`))]
  return all.sort((a, b) => a.loc.line - b.loc.line || a.loc.col - b.loc.col)
}

/** The first var, ref or call in `t` outside comprehensions (what a default rule's value may
 * not hold), by OPA's name for it; undefined for a constant. */
function nonConstant (t: Term): 'var' | 'ref' | 'call' | undefined {
  switch (t.type) {
    case 'var': case 'ref': case 'call': return t.type
    case 'array': case 'set':
      for (const x of t.items) { const k = nonConstant(x); if (k !== undefined) return k }
      return undefined
    case 'object':
      for (const [k, v] of t.entries) { const r = nonConstant(k) ?? nonConstant(v); if (r !== undefined) return r }
      return undefined
    default: return undefined // scalars; comprehensions are closures, evaluated when the default applies
  }
}

/**
 * Whether two object-literal keys are the same term, as OPA's object insertion compares them
 * while parsing: equal constants and composites, the same variable (every `_` is a variable of
 * its own), the same reference or call. An integer literal also equals a later number of the
 * same value (1 then 1.0: one key), but not the other way round, as in OPA. Comprehensions are
 * never merged here.
 */
function sameKeyTerm (a: Term, b: Term): boolean {
  switch (a.type) {
    case 'null': return b.type === 'null'
    case 'boolean': return b.type === 'boolean' && a.value === b.value
    case 'string': return b.type === 'string' && a.value === b.value
    case 'number':
      return b.type === 'number' && (a.raw === b.raw || (/^-?[0-9]+$/.test(a.raw) && Number(a.raw) === Number(b.raw) && Number.isSafeInteger(Number(a.raw))))
    case 'var': return b.type === 'var' && a.name === b.name && a.name !== '_'
    case 'ref': return b.type === 'ref' && sameKeyTerm(a.head, b.head) && sameTerms(a.path, b.path)
    case 'array': return b.type === 'array' && sameTerms(a.items, b.items)
    case 'set': return b.type === 'set' && sameTerms(a.items, b.items)
    case 'object':
      return b.type === 'object' && a.entries.length === b.entries.length &&
        a.entries.every(([k, v], i) => sameKeyTerm(k, b.entries[i]![0]) && sameKeyTerm(v, b.entries[i]![1]))
    case 'call': return b.type === 'call' && a.name === b.name && sameTerms(a.args, b.args)
    default: return false
  }
}

function sameTerms (a: Term[], b: Term[]): boolean {
  return a.length === b.length && a.every((t, i) => sameKeyTerm(t, b[i]!))
}

/** OPA's parser refuses a number literal whose binary exponent is past ±1e5 ("number too big":
 *  printing such a big.Float costs time non-linear in the exponent). */
function numberTooBig (text: string): boolean {
  const m = /^[-+]?([0-9]*)(?:\.([0-9]*))?(?:[eE]([-+]?[0-9]+))?$/.exec(text)
  if (m === null) return false
  const int = m[1] ?? ''
  const first = (int + (m[2] ?? '')).search(/[1-9]/)
  if (first < 0) return false // zero
  const digits = (int + (m[2] ?? '')).slice(first)
  const e = m[3] === undefined ? 0 : Number(m[3])
  // big.Float's MantExp: floor(log2 |x|) + 1, from the leading digits and the decimal exponent
  const lead = Number(`${digits[0]}.${digits.slice(1, 16) || '0'}`)
  const exp = Math.floor(Math.log2(lead) + (int.length - first - 1 + e) * Math.log2(10)) + 1
  return !(Math.abs(exp) <= 1e5)
}
