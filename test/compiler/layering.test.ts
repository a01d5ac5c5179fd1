// The compiler is a function from Rego sources to { wasm, facts, diagnostics }: it loads and
// runs nothing, so nothing it imports — directly or through another module — may come from
// src/policy (the loader, the host builtins, bundle delivery). Every import specifier of every
// TypeScript file under src/compiler is followed through the relative imports it reaches.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const src = path.join(repo, 'src')
const compilerDir = path.join(src, 'compiler')
const forbidden = path.join(src, 'policy') + path.sep

/** Import specifiers of a TypeScript source: static imports and re-exports (types too), side-effect imports, import() and require() with a literal. */
export function specifiers (text: string): string[] {
  const out: string[] = []
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1])
  return out
}

function tsFiles (dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir).sort()) {
    const p = path.join(dir, e)
    if (statSync(p).isDirectory()) out.push(...tsFiles(p))
    else if (p.endsWith('.ts')) out.push(p)
  }
  return out
}

/** The source file a relative specifier names (`./x.js` is `./x.ts`; AssemblyScript's `./x` is `./x.ts`). */
function resolve (from: string, spec: string): string {
  const abs = path.resolve(path.dirname(from), spec)
  for (const candidate of [abs.replace(/\.js$/, '.ts'), abs + '.ts', path.join(abs, 'index.ts'), abs]) {
    try { if (statSync(candidate).isFile()) return candidate } catch { /* next */ }
  }
  return abs
}

t.test('the specifier scanner sees every import form', async t => {
  const text = [
    "import a from '../policy/a.js'",
    "import type { B } from '../policy/b.js'",
    "import {\n  c,\n  d\n} from '../policy/c.js'",
    "export { e } from '../policy/e.js'",
    "export * from '../policy/f.js'",
    "import '../policy/g.js'",
    "const h = await import('../policy/h.js')",
    "let i: import('../policy/i.js').I",
    "const j = require('../policy/j.js')",
  ].join('\n')
  t.same(specifiers(text).sort(), ['a', 'b', 'c', 'e', 'f', 'g', 'h', 'i', 'j'].map(x => `../policy/${x}.js`))
})

t.test('nothing src/compiler imports, directly or transitively, is in src/policy', async t => {
  const roots = tsFiles(compilerDir)
  t.ok(roots.length > 20, `${roots.length} compiler files scanned`)
  const seen = new Map<string, string>() // file -> the file that imported it
  const queue = roots.map(f => [f, f] as const)
  const violations: string[] = []
  while (queue.length > 0) {
    const [file, via] = queue.shift()!
    if (seen.has(file)) continue
    seen.set(file, via)
    let text: string
    try { text = readFileSync(file, 'utf8') } catch { continue }
    for (const spec of specifiers(text)) {
      if (!spec.startsWith('.')) continue // packages and node: builtins
      const target = resolve(file, spec)
      if (target.startsWith(forbidden)) {
        violations.push(`${path.relative(repo, file)} imports ${spec}${file === via ? '' : ` (reached from ${path.relative(repo, via)})`}`)
        continue
      }
      if (target.startsWith(src + path.sep)) queue.push([target, roots.includes(file) ? file : via])
    }
  }
  t.same(violations, [], 'src/compiler does not depend on src/policy')
  const outside = [...seen.keys()].filter(f => !f.startsWith(compilerDir + path.sep)).map(f => path.relative(repo, f)).sort()
  t.comment(`modules outside src/compiler the compiler uses: ${outside.join(', ')}`)
})
