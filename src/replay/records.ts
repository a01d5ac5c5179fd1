// The logged decisions a replay evaluates: read with the evidence report's streaming reader
// (src/evidence/source.ts: spool directories, JSON lines, JSON arrays, gzip'd upload bodies)
// and checked with its chain checker (src/evidence/integrity.ts) record by record, so a break
// anywhere — an edited line, a link that does not hold, a gap no drop marker declares, a
// truncated file — is a finding with its file and line. Records whose content does not match
// their hash (and duplicates) are not handed on; drop markers are not decisions.
import { ChainChecker, closeLogInput, openLogInputs, readLogFile, type Finding, type LogInput, type Position } from '../evidence/index.js'
import type { ChainSummary, FindingKind } from '../evidence/integrity.js'

/** Bytes of the log files (as stored, before gunzip) read so far, and chain records checked. */
export interface ReadProgress { bytesRead: number; bytesTotal: number; records: number }

export interface ReadSummary {
  files: number
  records: number
  decisions: number
  markers: number
  duplicates: number
  /** records left out because their content does not match their hash */
  edited: number
  findings: Finding[]
  findingCounts: Partial<Record<FindingKind, number>>
  chains: ChainSummary[]
}

/**
 * Calls `onDecision` for each decision event whose chain record checks out, in log order.
 * Throws BouncerError BOUNCER_ERR_EVIDENCE_INPUT for a path that cannot be read.
 */
export async function readDecisions (paths: readonly string[], onDecision: (ev: Record<string, unknown>, pos: Position) => void,
  onProgress?: (p: ReadProgress) => void): Promise<ReadSummary> {
  const inputs: LogInput[] = openLogInputs(paths)
  try { return await readInputs(inputs, onDecision, onProgress) } finally {
    for (const input of inputs) closeLogInput(input)
  }
}

async function readInputs (given: LogInput[], onDecision: (ev: Record<string, unknown>, pos: Position) => void,
  onProgress?: (p: ReadProgress) => void): Promise<ReadSummary> {
  const checker = new ChainChecker(() => true)
  // As bouncer evidence reads them (src/evidence/report.ts): exports before spools, and each
  // spool's end checked against its acknowledged point.
  const inputs = [...given].sort((a, b) => (a.kind === 'spool' ? 1 : 0) - (b.kind === 'spool' ? 1 : 0))
  let files = 0
  const bytesTotal = inputs.reduce((n, i) => n + i.files.reduce((m, f) => m + f.bytes, 0), 0)
  let bytesDone = 0
  for (const input of inputs) {
    if (input.stateError !== null) checker.stateError(input.stateError, `${input.path}/state.json`)
    checker.setAnchor(input.anchor)
    for (let fi = 0; fi < input.files.length; fi++) {
      const file = input.files[fi]!
      checker.startFile()
      const r = await readLogFile(file, {
        item: (v, pos, text) => {
          const o = v as Record<string, unknown> | null
          const tsText = o !== null && typeof o === 'object' && typeof o.timestamp === 'string' ? o.timestamp : null
          // The chain checker only uses times to place findings; replay has no period.
          if (checker.record(v, pos, null, tsText, text) === 'skip') return
          // Drop markers and shadow comparisons (src/proxy/shadow.ts) are not enforced decisions.
          if (o!.drop !== undefined || o!.shadow !== undefined) return
          onDecision(o!, pos)
        },
        malformed: (pos, message) => { checker.malformed(pos, message) },
        ...(onProgress !== undefined ? { progress: (bytes: number) => { onProgress({ bytesRead: bytesDone + bytes, bytesTotal, records: checker.records }) } } : {}),
      }, { allowTornTail: input.kind === 'spool' && fi === input.files.length - 1 })
      bytesDone += file.bytes
      if (r.tornTail) checker.tornTail(file.name)
      checker.endFile()
      files++
    }
    if (input.kind === 'spool') checker.endSpool()
  }
  const chains = checker.finish()
  onProgress?.({ bytesRead: bytesDone, bytesTotal, records: checker.records })
  return {
    files,
    records: checker.records,
    decisions: checker.decisions,
    markers: checker.markers,
    duplicates: checker.duplicates,
    edited: checker.edited,
    findings: checker.findings,
    findingCounts: { ...checker.findingCounts },
    chains,
  }
}
