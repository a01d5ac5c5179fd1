// Inputs that are not what the policy saw. Before an event is stored the logger erases
// credentials (src/decision-log/erase.ts, event.ts: authorization and the other erase_headers,
// credential query parameters in parsed_query/parsed_body, their values in the logged path)
// and applies mask rules; the event lists each such field in `erased` / `masked` (JSON Pointers
// into the event). A replayed evaluation over such an input may differ from the original for
// that reason alone, so the event is flagged "input incomplete" — unless the policies compared
// cannot read any of those fields: the compiler records the input paths an entrypoint reads
// (src/proxy/projection.ts evaluates over exactly those), and an erased field outside them
// cannot change the result.
// The same goes for the recorded decision when it is the baseline: the logger also erases
// credential headers a decision sets (result.headers, result.response_headers) and log mask
// rules may rewrite /result fields, so such an event's recorded decision is not the one that
// was enforced, and comparing with it would report changes that are not there.

export type InputPaths = readonly (readonly string[])[] | null | undefined

/** JSON Pointers of the input fields the event says were erased or masked ('/input' for the
 * whole input), and with `result` those of the recorded decision ('/result/…'). Empty when the
 * logged input (and result) is what the policy saw (and returned). */
export function alteredPointers (ev: Record<string, unknown>, result: boolean): string[] {
  let out: string[] | undefined
  for (const field of ['erased', 'masked'] as const) {
    const list = ev[field]
    if (!Array.isArray(list)) continue
    for (const p of list) {
      if (typeof p !== 'string') continue
      if (p === '/input' || p.startsWith('/input/') || (result && (p === '/result' || p.startsWith('/result/')))) (out ??= []).push(p)
    }
  }
  // An event recorded without its input at all (and not because the policy had none).
  if (ev.input === undefined && !Array.isArray(ev.erased)) (out ??= []).push('/input')
  return out ?? []
}

/** The path below `input` an /input pointer names ([] for the whole input). */
export function pathOfPointer (p: string): string[] {
  return p === '/input' ? [] : p.slice(7).split('/').map(unescapeToken)
}

function unescapeToken (t: string): string {
  return t.includes('~') ? t.replace(/~1/g, '/').replace(/~0/g, '~') : t
}

/** A test "does a policy reading `paths` read any of these fields?", compiled once per policy.
 * undefined / null paths (not recorded, or the whole input) read everything. */
export function compileReads (paths: InputPaths): (fields: readonly (readonly string[])[]) => boolean {
  if (paths == null || paths.some((p) => p.length === 0)) return (fields) => fields.length > 0
  const list = paths.map((p) => [...p])
  return (fields) => fields.some((f) => list.some((p) => prefixOf(p, f) || prefixOf(f, p)))
}

function prefixOf (a: readonly string[], b: readonly string[]): boolean {
  if (a.length > b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** JSON Pointer of a path below `input`, for the report. */
export function pointerOf (path: readonly string[]): string {
  return '/input' + path.map((s) => '/' + s.replace(/~/g, '~0').replace(/\//g, '~1')).join('')
}
