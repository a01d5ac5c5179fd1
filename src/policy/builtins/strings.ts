// String builtins that run on the host (the others are native in the Wasm runtime).
// sprintf is the SDK's (sprintf-js): see SDK_BUILTINS in index.ts for its limits.
import { builtinError, type HostBuiltin } from './context.js'
import { isObject, obj, str, type JsonObject } from './args.js'

// strings.render_template(template, vars): Go text/template, the subset policies use:
// {{.field}}, {{.a.b}}, {{ . }}, whitespace trimming markers {{- -}}, and comments {{/* */}}.
// Anything else (range, if, pipelines, functions) is an error rather than a wrong rendering.
function formatTemplateValue (v: unknown): string {
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
      if (!isObject(v)) throw builtinError(name, `template: can't evaluate field ${key} in type ${typeof v}`)
      // OPA renders with Go's missingkey=error: a key the variables lack fails the call
      if (!Object.prototype.hasOwnProperty.call(v, key)) throw builtinError(name, `template: template: executing "template" at <${action}>: map has no entry for key "${key}"`)
      v = v[key]
    }
    out += formatTemplateValue(v)
  }
  return out
}

export const stringBuiltins: Record<string, HostBuiltin> = {
  'strings.render_template': renderTemplate,
}

