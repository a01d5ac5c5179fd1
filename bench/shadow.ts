// The shadow policy's CPU per decision, in-process: the engine's decision step (the shipped
// policy, cache off, no decision log) alone, and followed by a shadow evaluation of a second
// instance of the same policy (observe + the drain that runs in a later turn), timed in
// interleaved runs. Also the shadow step alone, with the text the active evaluation serialised
// reused (the same input paths) and with a shadow that reads other paths (projected again).
//   npx tsx bench/shadow.ts [--quick]
import { join } from 'node:path'
import pino from 'pino'
import { createConfig } from '../src/config/index.js'
import { createMetrics } from '../src/metrics/index.js'
import { PolicyHolder } from '../src/policy/holder.js'
import { loadPolicyFromPath, loadPolicyFromRego } from '../src/policy/load.js'
import { compileSecretScrubber } from '../src/proxy/secret-values.js'
import { createEngine, type DecideContext } from '../src/proxy/engine.js'
import type { PolicyInput } from '../src/proxy/input.js'
import { createShadow } from '../src/proxy/shadow.js'
import { TYPICAL } from './micro/cases.js'
import { ROOT_DIR } from './lib/procs.js'
import { median } from './lib/timing.js'

const quick = process.argv.includes('--quick')
const n = quick ? 5_000 : 20_000
const runs = quick ? 5 : 11

const config = createConfig({ upstream: { url: 'http://127.0.0.1:9' }, logging: { level: 'silent' } })
const log = pino({ level: 'silent' })
const metrics = createMetrics()
const policies = join(ROOT_DIR, 'policies')
const holder = new PolicyHolder()
holder.activate(await loadPolicyFromPath(policies, 'bouncer/decision'))
const shadowHolder = new PolicyHolder()
shadowHolder.activate(await loadPolicyFromPath(policies, 'bouncer/decision'))
// A shadow reading the whole input (its own projection, not the active policy's text).
const otherHolder = new PolicyHolder()
otherHolder.activate(await loadPolicyFromRego([{ file: 'p.rego', source: 'package bouncer\n\ndecision := {"allow": count(input.attributes.request.http.headers) >= 0}\n' }], {}, 'bouncer/decision', { source: 'bench' }))

const shadow = createShadow({ sample: 1, maxPerSecond: 0, evalTimeoutSeconds: 1 }, { holder: shadowHolder, metrics, log, scrubSecrets: compileSecretScrubber(config) })
const other = createShadow({ sample: 1, maxPerSecond: 0, evalTimeoutSeconds: 1 }, { holder: otherHolder, metrics, log, scrubSecrets: compileSecretScrubber(config) })
const plain = createEngine({ config, holder, metrics, log })
const observed = createEngine({ config, holder, metrics, log, observe: shadow.observe })
const input = TYPICAL as unknown as PolicyInput
const ctx: DecideContext = { id: 'bench', requestedBy: '127.0.0.1:1', startNs: process.hrtime.bigint() }

const first = await plain(input, ctx)
if (first.verdict.kind !== 'allow') throw new Error(`the typical input should be allowed, got ${first.verdict.kind}`)

async function perCall (fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await fn()
  return Number(process.hrtime.bigint() - t0) / n
}

const contenders: Array<[string, () => Promise<unknown> | unknown]> = [
  ['decide (active only)', () => plain(input, ctx)],
  ['decide + shadow (same policy)', async () => { await observed(input, ctx); shadow.drain() }],
  ['shadow step alone, text reused', () => { shadow.observe(input, ctx, first); shadow.drain() }],
  ['shadow step alone, own projection', () => { other.observe(input, ctx, first); other.drain() }],
]
for (const [, fn] of contenders) await perCall(fn) // warm-up
const per = contenders.map((): number[] => [])
for (let r = 0; r < runs; r++) {
  for (let k = 0; k < contenders.length; k++) per[k]!.push(await perCall(contenders[k]![1]))
}
const ns = per.map(median)
const base = ns[0]!
console.log(`shadow policy, in-process: ${n} calls × ${runs} interleaved runs (medians), the shipped policy on the typical input`)
for (let k = 0; k < contenders.length; k++) {
  console.log(`  ${contenders[k]![0].padEnd(36)} ${(ns[k]! / 1000).toFixed(2).padStart(7)} µs   ${(ns[k]! / base).toFixed(2)}× decide`)
}
// The same policy always agrees; the whole-input shadow allows without the active decision's headers.
const outcomes = Object.fromEntries((await metrics.shadowDecisions.get()).values.filter((v) => v.value > 0).map((v) => [v.labels.agreement, v.value]))
console.log(`  shadow outcomes: ${JSON.stringify(outcomes)}`)
