// Inputs that are not what the policy saw. Before an event is stored the logger erases
// credentials (src/decision-log/erase.ts, event.ts: authorization and the other erase_headers,
// credential query parameters in parsed_query/parsed_body, their values in the logged path)
// and applies mask rules; the event lists each such field in `erased` / `masked` (JSON Pointers
// into the event). A replayed evaluation over such an input may differ from the original for
// that reason alone, so the event is flagged "input incomplete" — unless the policies compared
// cannot read any of those fields: the compiler records the input paths an entrypoint reads
// (src/proxy/projection.ts evaluates over exactly those), and an erased field outside them
// cannot change the result.

export type InputPaths = readonly (readonly string[])[] | null | undefined

/** JSON Pointers of the input fields the event says were erased or masked ('/input' for the
 * whole input). Empty when the logged input is the input as evaluated. */
export function alteredInputPointers (ev: Record<string, unknown>): string[] {
  let out: string[] | undefined
  for (const field of ['erased', 'masked'] as const) {
    const list = ev[field]
    if (!Array.isArray(list)) continue
    for (const p of list) {
      if (typeof p === 'string' && (p === '/input' || p.startsWith('/input/'))) (out ??= []).push(p)
    }
  }
  // An event recorded without its input at all (and not because the policy had none).
  if (ev.input === undefined && !Array.isArray(ev.erased)) (out ??= []).push('/input')
  return out ?? []
}

/** The path below `input` a pointer from alteredInputPointers names ([] for the whole input). */
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
