// Public surface of decision replay (`bouncer replay`): a decision log (spool, exports, gzip'd
// upload bodies), its chain verified, every logged input evaluated with a candidate policy and
// compared with the recorded decision or a baseline policy.
//
//   const report = await replay({ logs: ['/var/lib/bouncer/spool'], policy: 'policies/' })
//   process.stdout.write(renderReplay(report, 'table'))
export { replay, failures, FAIL_ON_EXTRA } from './replay.js'
export type { ReplayOptions, ReplayReport, PolicyInfo } from './replay.js'
export type { ReadProgress } from './records.js'
export { CHANGE_KINDS, CHANGE_TITLES, compareOutcomes, parseKinds } from './compare.js'
export type { ChangeKind } from './compare.js'
export { outcomeOfEvent, outcomeOfResult, describeOutcome } from './outcome.js'
export type { Outcome } from './outcome.js'
export { alteredPointers, compileReads } from './incomplete.js'
export { renderReplay, type ReplayFormat } from './render.js'
export type { ChangeGroup, Example } from './tally.js'
