// Idle memory of `bouncer run`. Start-up — loading modules, validating the config, compiling
// the policy — allocates a burst of long-lived objects, and V8 answers the high survival rate
// by growing the young generation (two semi-spaces) to 32 MB, which then stays committed in a
// pod that sits idle (~11 MB of RSS). bin/bouncer.js holds the young generation at its initial
// size while `run` starts (semi-space growth factor 1) and the app releases it once it listens:
// from then on V8 grows it under load as it always does. An operator who sets how the young
// generation starts or grows (NODE_OPTIONS, node flags) is left alone; a maximum alone
// (--max-semi-space-size, which the image sets: see the Dockerfile) only caps that growth.
import { setFlagsFromString } from 'node:v8'

/** V8's default --semi-space-growth-factor. */
const DEFAULT_GROWTH = 2
let held = false

/** True when `flags` set the young generation's start or growth: any semi-space flag other than
 * --max-semi-space-size. */
export function tunedByOperator (flags: readonly string[] = [...process.execArgv, process.env.NODE_OPTIONS ?? '']): boolean {
  return flags.some((a) => /semi[-_]space/.test(a.replace(/--max[-_]semi[-_]space[-_]size(?:[= ]\S+)?/g, '')))
}

/** Start-up: the young generation keeps its initial size (call before anything heavy is imported). */
export function holdYoungGeneration (): void {
  if (held || tunedByOperator()) return
  setFlagsFromString('--semi-space-growth-factor=1')
  held = true
}

/** Serving: V8 sizes the young generation as usual again. */
export function releaseYoungGeneration (): void {
  if (!held) return
  held = false
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH}`)
}

// Buffers. Every socket read and every body the proxy assembles is an ArrayBuffer outside V8's
// heap. Node 24's V8 (13.6) raised the young generation's default capacity, which moved the
// cheap scavenge it runs for young ArrayBuffer bytes above the fixed 64 MB external-memory
// limit that starts a full mark-compact, so short-lived Buffers are reclaimed by mark-compacts
// (nodejs/node#61967, #63863; V8 upstream has since made the accounting below its default).
// Measured on bouncer-mask at 1,000 req/s: a mark-compact every ~100 ms, GC 113-164 us of
// ~600 us CPU per request. With external memory accounted in V8's global limit the proxy's
// Buffers count against the heap's own limit instead: bouncer-mask in the chart's 384 MB
// cgroup, 120 s at full load, 2,413 -> 2,722 req/s, p99 28.8 -> 24.8 ms, cgroup peak 200 ->
// 225 MB (never at the limit). An operator who sets the flag either way is left alone.
const EXTERNAL_FLAG = /external[-_]memory[-_]accounted[-_]in[-_]global[-_]limit/

/** True when `flags` set V8's external-memory accounting (either way). */
export function externalMemoryTunedByOperator (flags: readonly string[] = [...process.execArgv, process.env.NODE_OPTIONS ?? '']): boolean {
  return flags.some((a) => EXTERNAL_FLAG.test(a))
}

/** Serving: Buffers count against V8's global heap limit (see above). Idempotent. */
export function accountExternalMemory (): void {
  if (externalMemoryTunedByOperator()) return
  setFlagsFromString('--external-memory-accounted-in-global-limit')
}
