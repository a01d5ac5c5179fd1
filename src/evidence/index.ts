// Public surface of the evidence report (`bouncer evidence`): one streaming pass over decision
// logs (a spool, exports, gzip'd upload bodies) → EvidenceReport → HTML, Markdown or JSON.
//
//   const report = await buildEvidence({ logs: ['/var/lib/bouncer/spool'], from, to })
//   writeFileSync('evidence.html', renderHtml(report))
export { buildEvidence, classify, parseBound, reportDigest, routeOf, OUTCOMES } from './report.js'
export type {
  EvidenceOptions, EvidenceReport, Outcome, OutcomeCounts, Progress, RouteRow, DayRow, SeriesPoint, SubjectRow, RevisionRow, CredentialFinding,
} from './report.js'
export type { Finding, FindingKind, Severity, ChainSummary } from './integrity.js'
export { ChainChecker } from './integrity.js'
export { closeLogInput, openLogInput, openLogInputs, readLogFile } from './source.js'
export type { LogInput, InputFile, Position } from './source.js'
export { scanEvent, type CredentialHit } from './scan.js'
export { recordHash } from './hash.js'
export { renderHtml } from './html.js'
export { renderMarkdown } from './markdown.js'

import { renderHtml } from './html.js'
import { renderMarkdown } from './markdown.js'
import type { EvidenceReport } from './report.js'

export type EvidenceFormat = 'html' | 'md' | 'json'

export function renderEvidence (report: EvidenceReport, format: EvidenceFormat): string {
  switch (format) {
    case 'html': return renderHtml(report)
    case 'md': return renderMarkdown(report)
    case 'json': return JSON.stringify(report, null, 2) + '\n'
  }
}
