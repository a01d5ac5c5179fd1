// String builtins that run on the host. Indexes count code points (Go runes), as in OPA.
// sprintf is the SDK's (sprintf-js): see SDK_BUILTINS in index.ts for its limits.
import { builtinError, type HostBuiltin } from './context.js'
import { isObject, obj, str, type JsonObject } from './args.js'

/** indexof_n(haystack, needle): every code-point index where needle starts (overlapping, as OPA). */
function indexOfN (haystack: unknown, needle: unknown): number[] {
  const h = Array.from(str('indexof_n', 1, haystack))
  const n = Array.from(str('indexof_n', 2, needle))
  const out: number[] = []
  if (n.length === 0) throw builtinError('indexof_n', 'empty search character')
  outer: for (let i = 0; i + n.length <= h.length; i++) {
    for (let j = 0; j < n.length; j++) if (h[i + j] !== n[j]) continue outer
    out.push(i)
  }
  return out
}

function reverse (s: unknown): string {
  return Array.from(str('strings.reverse', 1, s)).reverse().join('')
}

/** strings.count(search, substring): non-overlapping occurrences (Go strings.Count). */
function count (search: unknown, sub: unknown): number {
  const s = str('strings.count', 1, search)
  const t = str('strings.count', 2, sub)
  if (t === '') return Array.from(s).length + 1
  let n = 0
  for (let i = s.indexOf(t); i >= 0; i = s.indexOf(t, i + t.length)) n++
  return n
}

// strings.render_template(template, vars): Go text/template, the subset policies use:
// {{.field}}, {{.a.b}}, {{ . }}, whitespace trimming markers {{- -}}, and comments {{/* */}}.
// Anything else (range, if, pipelines, functions) is an error rather than a wrong rendering.
function formatTemplateValue (v: unknown): string {
  if (v === undefined) return '<no value>'
  if (v === null) return '<nil>'
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (Array.isArray(v)) return '[' + v.map(formatTemplateValue).join(' ') + ']'
  const o = v as JsonObject
  return 'map[' + Object.keys(o).sort().map(k => `${k}:${formatTemplateValue(o[k])}`).join(' ') + ']'
}

function renderTemplate (template: unknown, vars: unknown): string {
  const name = 'strings.render_template'
  let t = str(name, 1, template)
  const data = obj(name, 2, vars)
  let out = ''
  for (;;) {
    const open = t.indexOf('{{')
    if (open < 0) { out += t; break }
    let text = t.slice(0, open)
    const close = t.indexOf('}}', open + 2)
    if (close < 0) throw builtinError(name, 'template: unclosed action')
    let action = t.slice(open + 2, close)
    let rest = t.slice(close + 2)
    if (action.startsWith('- ') || action === '-') { text = text.replace(/\s+$/, ''); action = action.slice(1) }
    if (action.endsWith(' -')) { rest = rest.replace(/^\s+/, ''); action = action.slice(0, -1) }
    out += text
    t = rest
    action = action.trim()
    if (action.startsWith('/*') && action.endsWith('*/')) continue
    if (action === '.') { out += formatTemplateValue(data); continue }
    if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(action)) throw builtinError(name, `template: unsupported action {{${action}}}`)
    let v: unknown = data
    for (const key of action.slice(1).split('.')) {
      if (!isObject(v)) {
        if (v === undefined) break
        throw builtinError(name, `template: can't evaluate field ${key} in type ${typeof v}`)
      }
      v = Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined
    }
    out += formatTemplateValue(v)
  }
  return out
}

export const stringBuiltins: Record<string, HostBuiltin> = {
  indexof_n: indexOfN,
  'strings.reverse': reverse,
  'strings.count': count,
  'strings.render_template': renderTemplate,
}
