// The compiler is a function from Rego sources to { wasm, facts, diagnostics }: it loads and
// runs nothing, so nothing it imports — directly or through another module — may come from
// src/policy (the loader, the host builtins, bundle delivery). The bundle format (src/bundle)
// is shared by the compiler and the policy loader, so it depends on neither. Every import
// specifier of every TypeScript file under those folders is followed through the relative
// imports it reaches.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const src = path.join(repo, 'src')

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

/** Every module reached from the files under `dir` that lies in one of the `forbidden` folders, with the route. */
function violationsOf (dir: string, forbiddenDirs: string[]): { violations: string[]; roots: string[]; reached: string[] } {
  const roots = tsFiles(dir)
  const forbidden = forbiddenDirs.map(f => path.join(src, f) + path.sep)
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
      if (forbidden.some(f => target.startsWith(f))) {
        violations.push(`${path.relative(repo, file)} imports ${spec}${file === via ? '' : ` (reached from ${path.relative(repo, via)})`}`)
        continue
      }
      if (target.startsWith(src + path.sep)) queue.push([target, roots.includes(file) ? file : via])
    }
  }
  const reached = [...seen.keys()].filter(f => !f.startsWith(dir + path.sep)).map(f => path.relative(repo, f)).sort()
  return { violations, roots, reached }
}

t.test('nothing src/compiler imports, directly or transitively, is in src/policy', async t => {
  const r = violationsOf(path.join(src, 'compiler'), ['policy'])
  t.ok(r.roots.length > 20, `${r.roots.length} compiler files scanned`)
  t.same(r.violations, [], 'src/compiler does not depend on src/policy')
  t.comment(`modules outside src/compiler the compiler uses: ${r.reached.join(', ')}`)
})

t.test('the bundle format depends on neither the compiler nor the policy loader', async t => {
  const r = violationsOf(path.join(src, 'bundle'), ['policy', 'compiler'])
  t.ok(r.roots.length > 10, `${r.roots.length} bundle files scanned`)
  t.same(r.violations, [], 'src/bundle does not depend on src/policy or src/compiler')
  t.comment(`modules outside src/bundle it uses: ${r.reached.join(', ')}`)
})
