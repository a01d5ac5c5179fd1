// YAML read and written as OPA reads and writes it.
//
// Current OPA (PR #9174, September 2026) turns YAML into JSON with its own internal/yaml package
// over go-yaml v3, which resolves plain scalars by the YAML 1.2 core schema: `debug: on` is the
// string "on" (OPA up to 1.20 read it as true through sigs.k8s.io/yaml and go-yaml v2). That is
// what yaml.unmarshal, yaml.is_valid, data.yaml files in bundles and `opa eval --input x.yaml`
// give a policy, so a different reading is a different decision. What OPA does, and so what this
// module does:
// - plain (unquoted, untagged) scalars: true/True/TRUE and false/False/FALSE are booleans (not
//   yes/no/on/off/y/n); ""/~/null/Null/NULL are null; integers are Go's strconv.ParseInt(s, 0,
//   64) after removing "_" (0x/0o/0b prefixes, and a leading 0 is still octal: 010 is 8), then
//   ParseUint (up to 2^64-1); then decimal floats; a float overflowing a double (1e400) stays a
//   string; timestamps stay strings (OPA re-tags them); quoted and block scalars are strings;
// - explicit tags: !!str, !!binary (base64, decoded), !!bool/!!int/!!float/!!timestamp (the
//   text must resolve to that type, else the document is an error); other tags are ignored;
// - only the first document is read, but every document must parse; a later duplicate key wins;
//   "<<" merges as go-yaml v3 does: the mapping's own keys win over merged ones, and among
//   merged maps (repeated "<<" keys are folded into one list, in order) the first one wins;
// - keys become strings as OPA's keyString makes them: true → "true", 10 → "10", a uint64 as
//   its digits, 1.5 → "1.5" (Go's %g of a float32), .inf → ".inf"; a null, map or sequence key
//   is an error;
// - a value JSON cannot hold (.inf, .nan) makes the whole document an error.
// Integers past 2^53 keep their digits (exact-json.ts). The `yaml` package parses the syntax
// with its failsafe schema, which keeps every scalar as written; resolution is done here.
import { Document, LineCounter, parseAllDocuments, isAlias, isMap, isScalar, isSeq, visit, type Alias, type Node, type ParsedNode, type Scalar } from 'yaml'
import { isRawJson, parseJsonExact, rawJson } from './exact-json.js'

/** A document OPA would refuse: invalid YAML, or YAML that has no JSON form. */
export class YamlReadError extends Error {
  override readonly name = 'YamlReadError'
}

export interface OpaYamlOptions {
  /** Most nodes the document may expand to through aliases before it is refused ("billion
   * laughs"); default 10,000 + 20 per character of the text, so a short string in a request
   * cannot make yaml.unmarshal build millions of nodes. */
  maxNodes?: number
}

/** YAML text → the JSON value OPA's internal/yaml gives (undefined-free; null for an empty stream). */
export function parseOpaYaml (text: string, opts: OpaYamlOptions = {}): unknown {
  const lines = new LineCounter()
  const docs = parseAllDocuments(text, { schema: 'failsafe', resolveKnownTags: false, merge: false, uniqueKeys: false, lineCounter: lines, prettyErrors: true })
  // only the first document is read, but a syntax error in any of them fails the whole text
  for (const d of docs as Document.Parsed[]) {
    if (d.errors.length > 0) throw new YamlReadError(d.errors[0]!.message.split('\n')[0]!.replace(/:$/, ''))
  }
  const doc = (docs as Document.Parsed[])[0]
  if (doc === undefined) return null
  const r = new Reader(doc, lines, opts.maxNodes ?? 10_000 + 20 * text.length)
  return r.value(doc.contents as ParsedNode | null)
}

/**
 * A document file as OPA's util.Unmarshal reads it (data files, `eval --input`): a UTF-8 BOM
 * is skipped, valid JSON is read as JSON, anything else as YAML.
 */
export function parseOpaDocument (text: string, opts: OpaYamlOptions = {}): unknown {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  try {
    return parseJsonExact(src)
  } catch {
    return parseOpaYaml(src, opts)
  }
}

const STR = 'str', NULL = 'null', BOOL = 'bool', INT = 'int', UINT = 'uint', FLOAT = 'float', TIMESTAMP = 'timestamp'
type Kind = typeof STR | typeof NULL | typeof BOOL | typeof INT | typeof UINT | typeof FLOAT | typeof TIMESTAMP
interface Resolved { kind: Kind; value: unknown }

// Scalars go-yaml v3 looks up by their exact text before anything else.
const LOOKUP = new Map<string, Resolved>()
for (const s of ['true', 'True', 'TRUE']) LOOKUP.set(s, { kind: BOOL, value: true })
for (const s of ['false', 'False', 'FALSE']) LOOKUP.set(s, { kind: BOOL, value: false })
for (const s of ['', '~', 'null', 'Null', 'NULL']) LOOKUP.set(s, { kind: NULL, value: null })
for (const s of ['.nan', '.NaN', '.NAN']) LOOKUP.set(s, { kind: FLOAT, value: NaN })
for (const s of ['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']) LOOKUP.set(s, { kind: FLOAT, value: Infinity })
for (const s of ['-.inf', '-.Inf', '-.INF']) LOOKUP.set(s, { kind: FLOAT, value: -Infinity })

// YAML 1.1 booleans: strings to go-yaml v3, which still quotes them when it writes them.
const OLD_BOOLS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'])

// The first characters that make go-yaml try anything but a string.
const RESOLVABLE_START = /^(?:$|[-+0-9.yYnNtTfFoO~])/
// Go's strconv.ParseInt/ParseUint with base 0 (underscores already removed).
const GO_INT = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))$/
const YAML_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/
// Go's ParseFloat of a text starting with "." (underscores only between digits).
const DOT_FLOAT = /^\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?$/
const INT64_MIN = -(2n ** 63n), INT64_MAX = 2n ** 63n - 1n, UINT64_MAX = 2n ** 64n - 1n
// go-yaml's timestamp layouts (2006-1-2, with a time: T/t and a zone, or a space and none).
const TIMESTAMP_RE = /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2}))|(?: ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]{1,9})?))?$/
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/

function goInt (s: string, signed: boolean): bigint | undefined {
  const m = GO_INT.exec(s)
  if (m === null || (!signed && m[1] !== '')) return undefined
  const v = m[2] !== undefined ? BigInt('0x' + m[2]) : m[3] !== undefined ? BigInt('0o' + m[3]) : m[4] !== undefined ? BigInt('0b' + m[4])
    : m[5] !== undefined ? (m[5] === '' ? 0n : BigInt('0o' + m[5])) : BigInt(m[6]!)
  const n = m[1] === '-' ? -v : v
  if (signed ? n < INT64_MIN || n > INT64_MAX : n > UINT64_MAX) return undefined
  return n
}

function isTimestamp (s: string): boolean {
  const m = TIMESTAMP_RE.exec(s)
  if (m === null) return false
  const month = Number(m[2]), day = Number(m[3])
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(Number(m[1]), month, 0)).getUTCDate()) return false
  const h = Number(m[4] ?? m[7] ?? 0), min = Number(m[5] ?? m[8] ?? 0), sec = Number(m[6] ?? m[9] ?? 0)
  return h < 24 && min < 60 && sec < 60
}

/** go-yaml v3's resolution of a scalar's text, for an untagged plain scalar (tag '') or a resolvable tag. */
function resolveText (text: string, tag: Kind | ''): Resolved {
  if (tag === STR || !RESOLVABLE_START.test(text)) return { kind: STR, value: text }
  const known = LOOKUP.get(text)
  if (known !== undefined) return known
  const c = text.charCodeAt(0)
  if (c === 0x2e) { // "."
    if (DOT_FLOAT.test(text)) {
      const f = Number(text.replace(/_/g, ''))
      if (Number.isFinite(f)) return { kind: FLOAT, value: f }
    }
    return { kind: STR, value: text }
  }
  if (c === 0x2b || c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    if ((tag === '' || tag === TIMESTAMP) && isTimestamp(text)) return { kind: TIMESTAMP, value: text }
    const plain = text.replace(/_/g, '')
    const i = goInt(plain, true)
    if (i !== undefined) return { kind: INT, value: i }
    const u = goInt(plain, false)
    if (u !== undefined) return { kind: UINT, value: u }
    if (YAML_FLOAT.test(plain)) {
      const f = Number(plain)
      // Go's ParseFloat fails on overflow: the text stays a string.
      if (Number.isFinite(f)) return { kind: FLOAT, value: f }
    }
  }
  return { kind: STR, value: text }
}

/** Whether go-yaml v3 writes `s` quoted: it would read it, plain, as something other than this
 * string, or it is a YAML 1.1 boolean or base-60 number (quoted for older readers), or "<<". */
export function plainIsNotString (s: string): boolean {
  const r = resolveText(s, '')
  return r.kind !== STR || OLD_BOOLS.has(s) || BASE60_FLOAT.test(s) || s === '<<'
}

const TAG_PREFIX = 'tag:yaml.org,2002:'
const RESOLVABLE_TAGS = new Set<string>([STR, BOOL, INT, FLOAT, TIMESTAMP])

function numberOf (n: bigint): unknown {
  const x = Number(n)
  return Number.isSafeInteger(x) ? (x === 0 ? 0 : x) : rawJson(n.toString())
}

function isMergeKey (key: unknown): boolean {
  return isScalar(key) && key.value === '<<' && ((key.tag === undefined && key.type === 'PLAIN') || key.tag === TAG_PREFIX + 'merge')
}

class Reader {
  private nodes = 0
  private readonly expanding = new Set<Node>()
  constructor (private readonly doc: Document.Parsed, private readonly lines: LineCounter, private readonly maxNodes: number) {}

  private fail (node: Node | null, msg: string): never {
    const at = node?.range?.[0]
    if (at === undefined) throw new YamlReadError(msg)
    const { line, col } = this.lines.linePos(at)
    throw new YamlReadError(`${msg} at line ${line}, column ${col}`)
  }

  /** Each alias's node: the last node before it with that anchor, found in one pass over the
   * document. The library's Alias.resolve walks the document again for every alias, which made
   * 64 KB of `*a` take ~28 s; go-yaml resolves them in one pass. */
  private aliases: Map<Alias, Node | undefined> | null = null

  private resolveAlias (alias: Alias): Node | undefined {
    if (this.aliases === null) {
      const aliases = new Map<Alias, Node | undefined>()
      const anchors = new Map<string, Node>()
      visit(this.doc, {
        Node: (_key, n) => {
          if (isAlias(n)) aliases.set(n, anchors.get(n.source))
          else if (n.anchor !== undefined && n.anchor !== '') anchors.set(n.anchor, n)
        },
      })
      this.aliases = aliases
    }
    return this.aliases.get(alias)
  }

  /** The node an alias names (and the alias itself counted against the expansion budget). */
  private target (node: Node): Node {
    if (!isAlias(node)) return node
    const t = this.resolveAlias(node)
    if (t === undefined) this.fail(node, `unknown anchor ${node.source}`)
    if (this.expanding.has(t)) this.fail(node, `anchor ${node.source} refers to itself`)
    return t
  }

  private count (node: Node | null): void {
    if (++this.nodes > this.maxNodes) this.fail(node, 'document contains excessive aliasing')
  }

  value (node0: ParsedNode | Node | null): unknown {
    if (node0 === null) return null
    const node = this.target(node0)
    this.count(node0)
    if (isScalar(node)) {
      const r = this.scalar(node)
      switch (r.kind) {
        case INT: case UINT: return numberOf(r.value as bigint)
        case FLOAT: {
          const f = r.value as number
          if (!Number.isFinite(f)) this.fail(node, `${String(f)} has no JSON form`)
          return f === 0 ? 0 : f
        }
        default: return r.value
      }
    }
    this.expanding.add(node)
    try {
      if (isSeq(node)) return node.items.map((item) => this.value(item as Node | null))
      if (isMap(node)) {
        const out: Record<string, unknown> = {}
        this.mapping(node, out)
        return out
      }
    } finally {
      this.expanding.delete(node)
    }
    return this.fail(node, 'unsupported YAML node')
  }

  /**
   * A mapping's pairs into `out`, as go-yaml v3 decodes them after OPA's normalisation: a later
   * duplicate key wins; the mapping's own keys come first, then every "<<" source in order
   * (repeated "<<" keys folded into one list), each adding only keys nobody set before it.
   * `taken` holds the keys already set when this mapping is itself merged into another.
   */
  private mapping (node: Node, out: Record<string, unknown>, taken: Set<string> | null = null): void {
    if (!isMap(node)) return this.fail(node, 'map merge requires map or sequence of maps as the value')
    const own = new Map<string, unknown>()
    const sources: Array<Node | null> = []
    for (const pair of node.items) {
      const k = pair.key as Node | null
      if (isMergeKey(k)) {
        const v0 = pair.value as Node | null
        const v = v0 === null ? null : this.target(v0)
        if (v !== null && isSeq(v)) { this.count(v0); sources.push(...(v.items as Array<Node | null>)) } else sources.push(v0)
        continue
      }
      const key = this.key(k, node)
      own.delete(key) // a duplicate takes the later value
      own.set(key, this.value(pair.value as Node | null))
    }
    for (const [key, v] of own) {
      if (taken !== null) {
        if (taken.has(key)) continue
        taken.add(key)
      }
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true })
      else out[key] = v
    }
    if (sources.length === 0) return
    const seen = taken ?? new Set(own.keys())
    for (const src of sources) {
      const m = src === null ? null : this.target(src)
      if (m === null || !isMap(m)) return this.fail(src ?? node, 'map merge requires map or sequence of maps as the value')
      this.count(src)
      this.within(m, () => this.mapping(m, out, seen))
    }
  }

  private within (node: Node, fn: () => void): void {
    this.expanding.add(node)
    try { fn() } finally { this.expanding.delete(node) }
  }

  /** A key as OPA's internal/yaml (keyString) turns it into a JSON object key. */
  private key (k0: Node | null, map: Node): string {
    if (k0 === null) return this.fail(map, 'a map key cannot be null')
    const k = this.target(k0)
    this.count(k0)
    if (!isScalar(k)) return this.fail(k0, 'a map key must be a scalar')
    const r = this.scalar(k)
    switch (r.kind) {
      case STR: case TIMESTAMP: return r.value as string
      case BOOL: return r.value === true ? 'true' : 'false'
      case INT: case UINT: return (r.value as bigint).toString()
      case FLOAT: return goFloat32G(r.value as number)
      default: return this.fail(k0, 'a map key cannot be null')
    }
  }

  private scalar (node: Scalar): Resolved {
    const text = String(node.value)
    const tag = node.tag
    if (tag === undefined || tag === '') return node.type === 'PLAIN' ? resolveText(text, '') : { kind: STR, value: text }
    const short = tag.startsWith(TAG_PREFIX) ? tag.slice(TAG_PREFIX.length) : null
    if (short === 'binary') {
      const b64 = text.replace(/[\r\n]/g, '')
      if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) this.fail(node, '!!binary value contains invalid base64 data')
      return { kind: STR, value: Buffer.from(b64, 'base64').toString('utf8') }
    }
    if (short === null || !RESOLVABLE_TAGS.has(short)) return { kind: STR, value: text }
    const want = short as Kind
    const r = resolveText(text, want)
    if (r.kind === want || want === STR) return want === STR ? { kind: STR, value: text } : r
    if (want === FLOAT && (r.kind === INT || r.kind === UINT)) return { kind: FLOAT, value: Number(r.value as bigint) }
    return this.fail(node, `cannot decode !!${r.kind} \`${text}\` as a !!${want}`)
  }
}

/** Go's strconv.FormatFloat(f, 'g', -1, 32), with go-yaml's names for the infinities and NaN. */
export function goFloat32G (f: number): string {
  if (Number.isNaN(f)) return '.nan'
  const x = Math.fround(f)
  if (x === Infinity) return '.inf'
  if (x === -Infinity) return '-.inf'
  if (x === 0) return Object.is(x, -0) ? '-0' : '0'
  let p = 1
  while (p < 9 && Math.fround(Number(x.toPrecision(p))) !== x) p++
  const [mant, e] = Math.abs(x).toExponential(p - 1).split('e') as [string, string]
  const digits = mant.replace('.', '')
  const exp = Number(e)
  const sign = x < 0 ? '-' : ''
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp)
    return `${sign}${digits[0]}${digits.length > 1 ? '.' + digits.slice(1) : ''}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`
  const whole = digits.length > exp + 1 ? digits.slice(0, exp + 1) : digits.padEnd(exp + 1, '0')
  const frac = digits.slice(exp + 1)
  return `${sign}${whole}${frac === '' ? '' : '.' + frac}`
}

// yaml.marshal: strings go-yaml v3 quotes (those it would read as something else, and the YAML
// 1.1 booleans) are quoted, so yaml.unmarshal(yaml.marshal(x)) == x here and in OPA. The `yaml`
// package quotes a plain string when a default tag's `test` matches it.
const GO_YAML_NON_STRING = {
  tag: 'tag:bouncer,2026:go-yaml-v3-non-string',
  default: true,
  test: { test: plainIsNotString } as unknown as RegExp,
  resolve: (s: string) => s,
}

/** The YAML text of a JSON value, as OPA's yaml.marshal lays it out (go-yaml v3, indent 2: sequences indented under their key). */
export function stringifyOpaYaml (value: unknown): string {
  const doc = new Document(plainValues(value), { schema: 'core', customTags: [GO_YAML_NON_STRING] })
  return doc.toString({ indent: 2, indentSeq: true, lineWidth: 0 })
}

/** Numbers kept as text (exact-json.ts) → bigint / number, which `yaml` writes as their digits. */
function plainValues (v: unknown): unknown {
  if (isRawJson(v)) return /^-?[0-9]+$/.test(v.rawJSON) ? BigInt(v.rawJSON) : Number(v.rawJSON)
  if (Array.isArray(v)) return v.map(plainValues)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = plainValues(x)
    return out
  }
  return v
}
