// String builtins that run on the host (the others are native in the Wasm runtime).
// sprintf is the SDK's (sprintf-js): see SDK_BUILTINS in index.ts for its limits.
import { builtinError, type HostBuiltin } from './context.js'
import { obj, str } from './args.js'
import { renderGoTemplate, TemplateError } from './go-template.js'

// strings.render_template(template, vars): Go's text/template as OPA runs it (go-template.ts).
function renderTemplate (template: unknown, vars: unknown): string {
  const name = 'strings.render_template'
  const t = str(name, 1, template)
  const data = obj(name, 2, vars)
  try {
    return renderGoTemplate(t, data)
  } catch (e) {
    if (e instanceof TemplateError) throw builtinError(name, `template: ${e.message}`)
    throw e
  }
}

export const stringBuiltins: Record<string, HostBuiltin> = {
  'strings.render_template': renderTemplate,
}

