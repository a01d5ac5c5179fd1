// What the policy is given: only the input paths its entrypoint can read (the compiler records
// them per entrypoint; dynamic refs widen to their prefix, `with input as` and passing `input`
// to a function widen to the whole input — see src/cache/key.ts), serialised once, canonically
// (keys sorted, values as JSON.stringify prints them). The same text is the evaluator's input
// (as UTF-8 bytes, which opa-wasm copies into the module's memory as they are) and what the
// decision cache key is hashed from, so an input is turned into JSON once per request.
//
// Semantics: a projection keeps every value at a recorded path (a missing key stays missing, a
// null stays null); where a path goes on into an array, the whole array is kept (keeping only
// some elements would renumber them). The policy therefore evaluates exactly as on the whole
// input — the same property the decision cache key relies on.
import { canonicalJson } from '../cache/canonical-json.js'
import { isRawJson } from '../exact-json.js'

type Trie = Map<string, Trie | null>

export interface InputView {
  /** false: the policy reads only these paths (text is the canonical projection). */
  readonly whole: boolean
  /** The text the evaluator gets. */
  text (input: unknown): string
}

const encoder = new TextEncoder()

/** UTF-8 bytes of `text` in an ArrayBuffer of their own (what opa-wasm takes as pre-serialised input). */
export function inputBytes (text: string): ArrayBuffer {
  const u8 = encoder.encode(text)
  return u8.byteOffset === 0 && u8.buffer.byteLength === u8.byteLength ? u8.buffer as ArrayBuffer : u8.slice().buffer as ArrayBuffer
}

/**
 * `paths`: what the compiler recorded (null = the whole input, undefined = not recorded, e.g.
 * a bundle from `opa build`). The whole input is plain JSON.stringify (what opa-wasm would do).
 */
export function compileInputView (paths: readonly (readonly string[])[] | null | undefined): InputView {
  if (paths == null || paths.some((p) => p.length === 0)) {
    return { whole: true, text: (input) => JSON.stringify(input) ?? 'null' }
  }
  const root: Trie = new Map()
  for (const path of paths) {
    let node = root
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!
      if (i === path.length - 1) { node.set(seg, null); break }
      const next = node.get(seg)
      if (next === null) break // a shorter path already takes the whole value
      if (next === undefined) { const fresh: Trie = new Map(); node.set(seg, fresh); node = fresh } else node = next
    }
  }
  const sorted = sortTrie(root)
  return { whole: false, text: (input) => project(input, sorted) ?? '{}' }
}

interface SortedTrie { readonly keys: readonly string[]; readonly quoted: readonly string[]; readonly next: readonly (SortedTrie | null)[] }

function sortTrie (t: Trie): SortedTrie {
  const keys = [...t.keys()].sort()
  return { keys, quoted: keys.map((k) => JSON.stringify(k) + ':'), next: keys.map((k) => { const n = t.get(k)!; return n === null ? null : sortTrie(n) }) }
}

function project (v: unknown, t: SortedTrie): string | undefined {
  // Not an object to descend into (a scalar, an exact big integer, an array, something with
  // toJSON): the whole value.
  if (v === null || typeof v !== 'object' || Array.isArray(v) || isRawJson(v) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return canonicalJson(v)
  const obj = v as Record<string, unknown>
  let out = '{'
  for (let i = 0; i < t.keys.length; i++) {
    const k = t.keys[i]!
    if (!Object.prototype.hasOwnProperty.call(obj, k)) continue
    const sub = t.next[i]!
    const s = sub === null ? canonicalJson(obj[k]) : project(obj[k], sub)
    if (s === undefined) continue
    out += (out.length === 1 ? '' : ',') + t.quoted[i] + s
  }
  return out + '}'
}
