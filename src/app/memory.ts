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
