// Time to canonicalise large bundle data files (src/bundle/canonical.ts): the event loop is
// blocked for this long while a signed bundle's data.json is checked against its digest.
// Prints timings only (best of R runs); nothing is asserted.
//
//   npx tsx bench/canonical.ts [--keys N] [--runs R] [--baseline path/to/other/canonical.ts]
//
// With --baseline, the same documents are also canonicalised by another copy of the module
// (e.g. an older revision: `git show HEAD:src/bundle/canonical.ts > /tmp/old.ts`, with its
// relative imports made absolute) and the outputs are compared byte for byte.
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import * as current from '../src/bundle/canonical.js'
import { prng } from '../test/helpers/random.js'

interface Impl {
  canonicalJsonText (text: string): string
  canonicalValue (v: unknown): string
  fileDigest (path: string, bytes: Uint8Array, nodeAlg: string): string
}

function arg (name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}
const KEYS = Number(arg('--keys') ?? 1_000_000)
const RUNS = Number(arg('--runs') ?? 3)
const baselinePath = arg('--baseline')


function pad (i: number): string { return String(i).padStart(7, '0') }

/** The documents, made one at a time (so that only one is in memory). */
function docs (): Array<[string, () => string]> {
  const rnd = prng(42)
  const sortedKeys: string[] = []
  for (let i = 0; i < KEYS; i++) sortedKeys.push(`k${pad(i)}`)
  const shuffled = sortedKeys.slice()
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    const t = shuffled[i]!; shuffled[i] = shuffled[j]!; shuffled[j] = t
  }
  const entry = (k: string): string => `"${k}": {"a": 1, "b": "x"}`
  const n = Math.max(1, Math.floor(KEYS / 100))
  return [
    [`${KEYS} keys, sorted`, () => '{' + sortedKeys.map(entry).join(', ') + '}'],
    [`${KEYS} keys, shuffled`, () => '{' + shuffled.map(entry).join(', ') + '}'],
    // One key with a surrogate pair: such objects are sorted by compareUtf8.
    [`${KEYS} keys, shuffled, one emoji key`, () => '{' + shuffled.map(entry).join(', ') + ', "😀": 0}'],
    // Long string values and nested arrays of numbers and strings.
    [`${n} keys, long strings and nested arrays`, () => {
      const longs: string[] = []
      for (let i = 0; i < n; i++) {
        const s = 'lorem ipsum dolor sit amet '.repeat(8)
        const arr = Array.from({ length: 10 }, (_, j) => `[${j}, ${j}.50, -${j}e3, "${s.slice(j)}", [true, false, null]]`)
        longs.push(`"${shuffled[i]!}": {"text": "${s}", "rows": [${arr.join(', ')}]}`)
      }
      return '{' + longs.join(',\n') + '}'
    }],
    // Non-ASCII and escapes: keys and values that take the slow paths.
    [`${n * 30} keys, escapes and non-ASCII`, () => {
      const uni: string[] = []
      for (let i = 0; i < n * 10; i++) {
        const k = shuffled[i]!
        uni.push(`"${k}\\u00e9": "caf\\u00e9 \\"q\\" \\n ${k}", "${k}😀": "😀 ｡ \u2028", "${k}é": "é"`)
      }
      return '{' + uni.join(', ') + '}'
    }]
  ]
}

function bestOf (f: () => unknown): number {
  let best = Infinity
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now()
    f()
    best = Math.min(best, performance.now() - t)
  }
  return best
}

function time (impl: Impl, text: string): { ms: number, out: string } {
  let best = Infinity
  let out = ''
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now()
    out = impl.canonicalJsonText(text)
    best = Math.min(best, performance.now() - t)
  }
  return { ms: best, out }
}

const baseline: Impl | undefined = baselinePath === undefined
  ? undefined
  : await import(pathToFileURL(resolve(baselinePath)).href) as Impl

console.log(`node ${process.version}, best of ${RUNS} runs`)
for (const [name, make] of docs()) {
  const text = make()
  const mb = (text.length / 1e6).toFixed(1)
  const now = time(current, text)
  let line = `${name} (${mb} MB): canonicalJsonText ${now.ms.toFixed(0)} ms`
  if (baseline !== undefined) {
    const before = time(baseline, text)
    line += `; baseline ${before.ms.toFixed(0)} ms (${(before.ms / now.ms).toFixed(1)}x)` +
      (before.out === now.out ? ', same output' : ', OUTPUT DIFFERS')
  }
  console.log(line)
  const bytes = Buffer.from(text, 'utf8')
  let dline = `${name}: fileDigest of data.json (UTF-8 decoding, canonical text, SHA-256) ${bestOf(() => current.fileDigest('data.json', bytes, 'sha256')).toFixed(0)} ms`
  if (baseline !== undefined) dline += `; baseline ${bestOf(() => baseline.fileDigest('data.json', bytes, 'sha256')).toFixed(0)} ms`
  console.log(dline)
  const value = JSON.parse(text) as unknown
  const t = performance.now()
  const out = current.canonicalValue(value)
  let vline = `${name}: canonicalValue ${(performance.now() - t).toFixed(0)} ms`
  if (baseline !== undefined) {
    const t0 = performance.now()
    const b = baseline.canonicalValue(value)
    vline += `; baseline ${(performance.now() - t0).toFixed(0)} ms` + (b === out ? ', same output' : ', OUTPUT DIFFERS')
  }
  console.log(vline)
}
