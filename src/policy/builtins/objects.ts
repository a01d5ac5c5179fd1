// object.subset, json.filter, json.remove, json.patch.
// Sets arrive as arrays over the SDK's JSON ABI, so set arguments get array semantics here.
// (Our own modules run object.subset in the runtime, where sets are sets: this host version
// serves modules built by OPA that import it.)
import { BuiltinError, builtinError, type HostBuiltin } from './context.js'
import { arr, deepEqual, isObject, obj, operandTypeError, type Json, type JsonObject } from './args.js'
import { parseJsonExact } from '../../exact-json.js'

function objectSubset (sup: JsonObject, sub: JsonObject): boolean {
  for (const k of Object.keys(sub)) {
    if (!Object.prototype.hasOwnProperty.call(sup, k)) return false
    const a = sup[k]
    const b = sub[k]
    if (isObject(a) && isObject(b)) { if (!objectSubset(a, b)) return false } else if (Array.isArray(a) && Array.isArray(b)) { if (!arraySubset(a as Json[], b as Json[])) return false } else if (!deepEqual(a, b)) return false
  }
  return true
}

function arraySubset (sup: Json[], sub: Json[]): boolean {
  if (sub.length === 0) return true
  outer: for (let i = 0; i + sub.length <= sup.length; i++) {
    for (let j = 0; j < sub.length; j++) if (!deepEqual(sup[i + j], sub[j])) continue outer
    return true
  }
  return false
}

function subset (sup: unknown, sub: unknown): boolean {
  const name = 'object.subset'
  if (isObject(sup) && isObject(sub)) return objectSubset(sup, sub)
  if (Array.isArray(sup) && Array.isArray(sub)) return arraySubset(sup as Json[], sub as Json[])
  if (!isObject(sup) && !Array.isArray(sup)) throw operandTypeError(name, 1, sup, 'object', 'set', 'array')
  if (!isObject(sub) && !Array.isArray(sub)) throw operandTypeError(name, 2, sub, 'object', 'set', 'array')
  throw new BuiltinError('eval_type_error', name, 'both arguments must be of the same type or array and set')
}

// ---- paths ----

type Segment = string | number | boolean | null | Json[] | JsonObject

/**
 * A string path as OPA's parsePath (topdown/json.go) reads it, for json.filter, json.remove
 * and json.patch alike: "" is the whole document; otherwise the leading slashes are optional
 * (all of them are dropped: "a/b", "/a/b" and "//a/b" are the same path) and the rest splits
 * on every "/" (a trailing one gives a last segment "", as "/" alone names the key "");
 * ~1 and ~0 in a segment are "/" and "~".
 */
function parseStringPath (p: string): string[] {
  if (p === '') return []
  return p.replace(/^\/+/, '').split('/').map(s => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function parsePaths (name: string, paths: unknown): Segment[][] {
  const list = arr(name, 2, paths, 'set', 'array')
  return list.map((p) => {
    if (typeof p === 'string') return parseStringPath(p)
    if (Array.isArray(p)) return p as Segment[]
    throw new BuiltinError('eval_type_error', name, `operand 2 must be one of {set, array} containing string paths or array of path segments but got ${typeof p === 'object' && p !== null ? 'object' : typeof p}`)
  })
}

interface Trie { leaf: boolean; children: Map<string, Trie> }

const segKey = (s: Segment): string => typeof s === 'string' ? 's' + s : 'j' + JSON.stringify(s)

function buildTrie (paths: Segment[][]): Trie {
  const root: Trie = { leaf: false, children: new Map() }
  for (const p of paths) {
    if (p.length === 0) continue // OPA skips an empty path ("" or [])
    let node = root
    for (const seg of p) {
      if (node.leaf) break
      const k = segKey(seg)
      let next = node.children.get(k)
      if (next === undefined) { next = { leaf: false, children: new Map() }; node.children.set(k, next) }
      node = next
    }
    node.leaf = true
    node.children.clear()
  }
  return root
}

/** The trie child for an array index: only the string "0" addresses element 0 (OPA looks an
 * array position up as its decimal string, so a number segment 0 never matches). */
const indexChild = (t: Trie, i: number): Trie | undefined => t.children.get('s' + i)

function filterValue (v: Json, t: Trie): Json {
  if (t.leaf) return v
  if (isObject(v)) {
    const out: JsonObject = {}
    for (const k of Object.keys(v)) {
      const c = t.children.get('s' + k)
      if (c !== undefined) out[k] = filterValue(v[k], c)
    }
    return out
  }
  if (Array.isArray(v)) {
    const out: Json[] = []
    v.forEach((x, i) => { const c = indexChild(t, i); if (c !== undefined) out.push(filterValue(x, c)) })
    return out
  }
  return v
}

function removeValue (v: Json, t: Trie): Json | undefined {
  if (t.leaf) return undefined
  if (isObject(v)) {
    const out: JsonObject = {}
    for (const k of Object.keys(v)) {
      const c = t.children.get('s' + k)
      if (c === undefined) { out[k] = v[k]; continue }
      const r = removeValue(v[k], c)
      if (r !== undefined) out[k] = r
    }
    return out
  }
  if (Array.isArray(v)) {
    const out: Json[] = []
    v.forEach((x, i) => {
      const c = indexChild(t, i)
      if (c === undefined) { out.push(x); return }
      const r = removeValue(x, c)
      if (r !== undefined) out.push(r)
    })
    return out
  }
  return v
}

function jsonFilter (o: unknown, paths: unknown): Json {
  const name = 'json.filter'
  const object = obj(name, 1, o)
  return filterValue(object, buildTrie(parsePaths(name, paths)))
}

function jsonRemove (o: unknown, paths: unknown): Json {
  const name = 'json.remove'
  const object = obj(name, 1, o)
  return removeValue(object, buildTrie(parsePaths(name, paths))) ?? {}
}

// ---- json.patch (RFC 6902); a failing patch makes the result undefined ----

class PatchFailed extends Error {}

// OPA's parsePath, not RFC 6901: "a/b" is "/a/b" (see parseStringPath)
function pointer (p: unknown): string[] {
  if (typeof p === 'string') return parseStringPath(p)
  if (Array.isArray(p)) return p.map(s => (typeof s === 'string' ? s : JSON.stringify(s)))
  throw new PatchFailed('invalid path')
}


/**
 * Most bytes of JSON one json.patch call may copy. Go shares the values a patch copies, so a
 * document that copies itself k times costs it k steps; copies here are deep, and ~40
 * `{"op":"copy","from":"/a","path":"/a/-"}` (under 2 KB of input) doubled the document until the
 * process ran out of memory. Past this the call is an error (the policy fails closed) instead.
 */
const MAX_PATCH_COPY_BYTES = 64 * 1024 * 1024

function arrayIndex (a: Json[], seg: string, forAdd: boolean): number {
  if (forAdd && seg === '-') return a.length
  if (!/^(0|[1-9]\d*)$/.test(seg)) throw new PatchFailed('bad index')
  const i = Number(seg)
  if (i > a.length || (!forAdd && i === a.length)) throw new PatchFailed('index out of range')
  return i
}

function getAt (doc: Json, path: string[]): Json {
  let cur: Json = doc
  for (const seg of path) {
    if (isObject(cur)) {
      if (!Object.prototype.hasOwnProperty.call(cur, seg)) throw new PatchFailed('missing')
      cur = cur[seg]
    } else if (Array.isArray(cur)) {
      cur = cur[arrayIndex(cur, seg, false)]
    } else {
      throw new PatchFailed('missing')
    }
  }
  return cur
}

function addAt (doc: Json, path: string[], value: Json): Json {
  if (path.length === 0) return value
  const parent = getAt(doc, path.slice(0, -1))
  const last = path[path.length - 1]
  if (isObject(parent)) parent[last] = value
  else if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value)
  else throw new PatchFailed('parent is not a container')
  return doc
}

function removeAt (doc: Json, path: string[]): Json {
  if (path.length === 0) throw new PatchFailed('cannot remove the root')
  const parent = getAt(doc, path.slice(0, -1))
  const last = path[path.length - 1]
  if (isObject(parent)) {
    if (!Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchFailed('missing')
    delete parent[last]
  } else if (Array.isArray(parent)) {
    parent.splice(arrayIndex(parent, last, false), 1)
  } else {
    throw new PatchFailed('missing')
  }
  return doc
}

function jsonPatch (o: unknown, patches: unknown): Json | undefined {
  const name = 'json.patch'
  const list = arr(name, 2, patches)
  let copied = 0
  /** A deep copy (numbers kept as their text, exact-json.ts, stay so), counting the bytes
   * copied against MAX_PATCH_COPY_BYTES. */
  const copy = <T>(v: T): T => {
    if (v === undefined) return v
    const text = JSON.stringify(v)
    copied += text.length
    if (copied > MAX_PATCH_COPY_BYTES) throw builtinError(name, `the patched document grows past ${MAX_PATCH_COPY_BYTES} bytes`)
    return parseJsonExact(text) as T
  }
  let doc = copy(o as Json)
  try {
    for (const p of list) {
      if (!isObject(p)) throw new PatchFailed('patch must be an object')
      const op = p.op
      const path = pointer(p.path)
      switch (op) {
        case 'add':
          if (!('value' in p)) throw new PatchFailed('missing value')
          doc = addAt(doc, path, copy(p.value))
          break
        case 'remove':
          doc = removeAt(doc, path)
          break
        case 'replace':
          if (!('value' in p)) throw new PatchFailed('missing value')
          getAt(doc, path)
          doc = path.length === 0 ? copy(p.value) : addAt(removeAt(doc, path), path, copy(p.value))
          break
        case 'move': {
          const from = pointer(p.from)
          if (from.length < path.length && from.every((s, i) => s === path[i])) throw new PatchFailed('cannot move into a child')
          const v = getAt(doc, from)
          doc = addAt(removeAt(doc, from), path, v)
          break
        }
        case 'copy':
          doc = addAt(doc, path, copy(getAt(doc, pointer(p.from))))
          break
        case 'test':
          // without "value" the patch fails (a missing value is not null)
          if (!('value' in p)) throw new PatchFailed('missing value')
          if (!deepEqual(getAt(doc, path), p.value)) throw new PatchFailed('test failed')
          break
        default:
          throw new PatchFailed(`unknown op ${JSON.stringify(op)}`)
      }
    }
  } catch (e) {
    if (e instanceof PatchFailed) return undefined
    throw e
  }
  return doc
}

export const objectBuiltins: Record<string, HostBuiltin> = {
  'object.subset': subset,
  'json.filter': jsonFilter,
  'json.remove': jsonRemove,
  'json.patch': jsonPatch,
}
