// Decision cache keys.
//
// key = SHA-256( [format, bundle revision, policy content digest, entrypoint, key spec] ‖ selection )
//
// `selection` is the canonical JSON of exactly the input values the policy can read. Two
// requests share a key only if the policy could not tell them apart — the property whose
// absence caused Oathkeeper's CVE-2021-32701 (a cached verdict reused for a request that
// needed a different check).
//
// Where the paths come from (see resolveKeySpec):
//  - Bundles built by our compiler record, per entrypoint, the `input` paths it can read
//    (dynamic refs such as input.x[y] widen to input.x; `with input as` and passing `input`
//    to a function widen to the whole input, reported as null). This is exact, and it is the
//    whole key: with null, every field (request id included) is in it.
//  - Bundles from `opa build` carry no such record. The operator may configure a list of
//    paths; otherwise the whole input is used minus "ignore paths" (per-request noise such
//    as the request id). Trade-off: the whole input is always safe but hits only when every
//    header, the query and the body match; a configured list hits far more often but is a
//    promise the operator makes about the policy — if the policy reads a field that is not
//    listed, two requests differing only in that field share a decision. Ignore paths carry
//    the same promise for the fields they drop.
//
// Keys are computed on every request, so compileDecisionKey() does all parsing once and
// returns a closure; decisionCacheKey() is the one-shot form with a one-entry memo.
import { hash } from 'node:crypto'
import { BouncerError } from '../errors.js'
import { buildIgnoreTree, canonicalJson } from './canonical-json.js'

/** A path into the policy input, e.g. ['attributes', 'request', 'http', 'method']. */
export type InputPath = readonly (string | number)[]

export interface DecisionKeySpec {
  /** Bundle revision: a new revision changes every key, so stale decisions are never served. */
  revision: string
  /** Digest of what decides: the policy's module and data (the app adds how they are run): a
   *  bundle rebuilt under the same revision (a hotfix, a pipeline that stamps "prod"), or pods
   *  on one Redis running different bundles or options under one revision, never share decisions. */
  contentDigest: string
  /** Entrypoint queried, e.g. 'bouncer/authz/decision'. */
  entrypoint: string
  /** Paths the policy can read. null/undefined = the whole input. */
  inputPaths?: readonly InputPath[] | null
  /** Only with the whole input: fields dropped before hashing (request id, ...). */
  ignorePaths?: readonly InputPath[]
}

export interface DecisionKeyRequest extends DecisionKeySpec {
  input: unknown
}

export type DecisionKeyFn = (input: unknown) => string

/**
 * Per-request noise in the Envoy-style input: the request id differs on every request and no
 * sane policy decides on it. The peer address (attributes.source.address) is NOT here even
 * though its port changes per connection: policies do match on client IPs, and the cache must
 * not guess — operators who know their policy can add it.
 */
export const DEFAULT_IGNORE_PATHS: readonly InputPath[] = Object.freeze([
  Object.freeze(['attributes', 'request', 'http', 'id']),
])

// Bump when the serialisation changes, so a shared Redis never mixes two formats.
const KEY_FORMAT = 'bouncer.decision-key.v2'

/**
 * Picks the key spec for an active policy: paths recorded by the compiler when the bundle has
 * them, else the configured list, else the whole input minus ignore paths. A record of null
 * ("the policy can read everything": it passes `input` to a function, walks it, ...) keys on
 * the whole input with nothing ignored: the policy is evaluated on every field, so a field left
 * out of the key would let a request differing only there (a request id carrying "../") reuse
 * another's decision. Ignore paths are the operator's promise about a policy nobody analysed.
 */
export function resolveKeySpec (
  policy: { revision: string; contentDigest: string; entrypoint: string; compiledInputPaths?: readonly InputPath[] | null },
  configured: { inputPaths?: readonly InputPath[] | null; ignorePaths?: readonly InputPath[] } = {},
): DecisionKeySpec {
  const recorded = policy.compiledInputPaths !== undefined
  return {
    revision: policy.revision,
    contentDigest: policy.contentDigest,
    entrypoint: policy.entrypoint,
    inputPaths: recorded ? policy.compiledInputPaths : (configured.inputPaths ?? null),
    ignorePaths: recorded ? [] : configured.ignorePaths ?? DEFAULT_IGNORE_PATHS,
  }
}

export function compileDecisionKey (spec: DecisionKeySpec): DecisionKeyFn {
  if (typeof spec.revision !== 'string') throw optionsError('revision must be a string')
  if (typeof spec.contentDigest !== 'string' || spec.contentDigest === '') throw optionsError('contentDigest must be a non-empty string')
  if (typeof spec.entrypoint !== 'string' || spec.entrypoint === '') throw optionsError('entrypoint must be a non-empty string')
  const paths = spec.inputPaths == null ? null : normalizePaths(spec.inputPaths, 'inputPaths')
  // An empty path selects the whole input: same meaning as null, so the same key.
  const whole = paths === null || paths.some(p => p.length === 0)
  const ignore = whole ? normalizePaths(spec.ignorePaths ?? [], 'ignorePaths') : []
  if (ignore.some(p => p.length === 0)) throw optionsError('ignorePaths must not contain an empty path (that would ignore the whole input)')

  // Everything that changes how a selection is built goes into the hashed prefix: two pods
  // sharing Redis with different path configs must not share keys.
  const prefix = JSON.stringify([KEY_FORMAT, spec.revision, spec.contentDigest, spec.entrypoint, whole ? null : paths, ignore])

  if (whole) {
    const tree = buildIgnoreTree(ignore)
    return (input) => digest(prefix, canonicalJson(input, tree) ?? '')
  }
  const selected = paths as string[][]
  return (input) => {
    let sel = '['
    for (let i = 0; i < selected.length; i++) {
      if (i > 0) sel += ','
      sel += selectPath(input, selected[i])
    }
    return digest(prefix, sel + ']')
  }
}

// Keys over a projection's text (src/proxy/projection.ts): the canonical JSON of exactly the
// values at the paths the compiler recorded — the same text the evaluator is given, so the
// input is serialised once per request. Its own format tag: these keys never equal v1 keys.
const PROJECTION_KEY_FORMAT = 'bouncer.decision-key.projection.v2'

/**
 * For a policy with compiler-recorded input paths (never operator-configured ones: those are
 * not used to cut the evaluator's input). The returned function hashes the projection text.
 */
export function compileProjectionKey (spec: { revision: string; contentDigest: string; entrypoint: string; inputPaths: readonly InputPath[] }): (projection: string) => string {
  if (typeof spec.revision !== 'string') throw optionsError('revision must be a string')
  if (typeof spec.contentDigest !== 'string' || spec.contentDigest === '') throw optionsError('contentDigest must be a non-empty string')
  if (typeof spec.entrypoint !== 'string' || spec.entrypoint === '') throw optionsError('entrypoint must be a non-empty string')
  const prefix = JSON.stringify([PROJECTION_KEY_FORMAT, spec.revision, spec.contentDigest, spec.entrypoint, normalizePaths(spec.inputPaths, 'inputPaths')])
  return (projection) => digest(prefix, projection)
}

let memoSpec: DecisionKeySpec | undefined
let memoFn: DecisionKeyFn | undefined

/**
 * One-shot form. Remembers the last compiled spec (compared by value for revision/entrypoint
 * and by identity for the path arrays), so a caller passing the same spec objects each
 * request pays the compile cost once.
 */
export function decisionCacheKey (req: DecisionKeyRequest): string {
  const m = memoSpec
  if (m === undefined || memoFn === undefined || m.revision !== req.revision || m.contentDigest !== req.contentDigest || m.entrypoint !== req.entrypoint ||
      m.inputPaths !== req.inputPaths || m.ignorePaths !== req.ignorePaths) {
    memoFn = compileDecisionKey(req)
    memoSpec = { revision: req.revision, contentDigest: req.contentDigest, entrypoint: req.entrypoint, inputPaths: req.inputPaths, ignorePaths: req.ignorePaths }
  }
  return memoFn(req.input)
}

function digest (prefix: string, selection: string): string {
  // The prefix is a complete JSON array, so where it ends is unambiguous: no (prefix,
  // selection) pair can be re-cut into another.
  return hash('sha256', prefix + selection, 'base64url')
}

// Encodes one path's value: `[]` when absent, `[value]` when present — so an absent field
// and a field present with value null (`[null]`) never share a key.
function selectPath (input: unknown, path: readonly string[]): string {
  let cur: unknown = input
  let inArray = false
  for (let i = 0; i < path.length; i++) {
    cur = jsonView(cur, i === 0 ? '' : path[i - 1])
    if (cur === null || typeof cur !== 'object') return '[]'
    const seg = path[i]
    if (Array.isArray(cur)) {
      const idx = arrayIndex(seg)
      if (idx < 0 || idx >= cur.length) return '[]'
      cur = cur[idx]
      inArray = true
    } else {
      if (!Object.prototype.hasOwnProperty.call(cur, seg)) return '[]'
      cur = (cur as Record<string, unknown>)[seg]
      inArray = false
    }
  }
  const s = canonicalJson(cur, undefined)
  // JSON.stringify turns a missing array element into null but drops a missing property.
  if (s === undefined) return inArray ? '[null]' : '[]'
  return '[' + s + ']'
}

// What JSON.stringify (and therefore the policy) would see at this node.
function jsonView (v: unknown, key: string): unknown {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    return (v as { toJSON: (k: string) => unknown }).toJSON(key)
  }
  return v
}

function arrayIndex (seg: string): number {
  // Canonical non-negative integers only: Rego's input.a["01"] on an array is undefined.
  if (seg === '0') return 0
  if (!/^[1-9][0-9]{0,9}$/.test(seg)) return -1
  return Number(seg)
}

/**
 * Validates and canonicalises a path list: segments as strings (input.a[1] and input.a["1"]
 * select the same thing once JSON has spoken), duplicates removed, paths under another listed
 * path dropped (the shorter one already covers them), then sorted.
 */
function normalizePaths (paths: readonly InputPath[], what: string): string[][] {
  if (!Array.isArray(paths)) throw optionsError(`${what} must be an array of paths`)
  const out: string[][] = []
  for (const p of paths) {
    if (!Array.isArray(p)) throw optionsError(`${what} must contain arrays of path segments, got ${JSON.stringify(p)}`)
    const segs: string[] = []
    for (const s of p) {
      if (typeof s === 'string') segs.push(s)
      else if (typeof s === 'number' && Number.isInteger(s) && s >= 0) segs.push(String(s))
      else throw optionsError(`${what} has an invalid segment ${JSON.stringify(s)} (strings or non-negative integers)`)
    }
    out.push(segs)
  }
  const byKey = new Map(out.map(p => [JSON.stringify(p), p]))
  const uniq = [...byKey.values()]
  const kept = uniq.filter(p => !uniq.some(q => q.length < p.length && q.every((s, i) => s === p[i])))
  return kept.sort((a, b) => {
    const x = JSON.stringify(a); const y = JSON.stringify(b)
    return x < y ? -1 : x > y ? 1 : 0
  })
}

function optionsError (msg: string): BouncerError {
  return new BouncerError('BOUNCER_ERR_CACHE_OPTIONS', [msg])
}
