// bouncer verify-log <file|dir> [--json]
// Checks a decision-log hash chain (a spool directory, an export file, or a directory of
// exports) and names the first break. Exit status: 0 intact, 1 broken, 2 usage or I/O error,
// 3 intact with declared losses, 4 an export holding no records.

import { verifyLog, type VerifyResult } from '../decision-log/index.js'
import { type CliIo, type CommandSpec, helpText, parseOrExit, processIo } from './args.js'

export type { CliIo } from './args.js'

export const spec: CommandSpec = {
  name: 'verify-log',
  summary: 'Verify a decision-log hash chain and name the first break.',
  usage: '<file|dir> [--json]',
  description: 'Verifies a spool directory (seg-*.jsonl + state.json), an export (JSON lines, JSON arrays,\n' +
    'optionally gzip\'d), or a directory of exports. Reports the first break (edit, link, gap,\n' +
    'reorder, duplicate, restart, malformed) with its sequence number. Gaps declared by drop\n' +
    'markers are listed, not breaks, but the record is then not complete. An export whose first\n' +
    'record is not seq 1 is checked from there on (NOT ANCHORED): chain exports by comparing its\n' +
    'first prev_hash with the previous export\'s head hash.\n' +
    'Exit status: 0 chain intact and complete from its first record (an export that starts\n' +
    'after seq 1 says NOT ANCHORED and exits 0 too: daily exports do; compare its first prev_hash\n' +
    'with the previous export\'s head hash, or pass --json and check "anchored"),\n' +
    '1 chain broken, 2 usage or read error,\n' +
    '3 chain intact but drop markers declare lost decisions, 4 an export with no records\n' +
    '(nothing was verified; a spool whose records were all delivered is 0).',
  flags: {
    json: { type: 'boolean', help: 'print the verification result as JSON' },
  },
  positionals: { min: 1, max: 1 },
}

export const USAGE = helpText(spec)

export async function main (argv: string[], io: CliIo = processIo): Promise<number> {
  const a = parseOrExit(spec, argv, io)
  if (typeof a === 'number') return a
  const json = a.values.json === true
  const paths = a.positionals
  let r: VerifyResult
  try {
    r = await verifyLog(paths[0]!)
  } catch (e) {
    io.stderr(`verify-log: cannot read ${paths[0]}: ${(e as Error).message}\n`)
    return 2
  }
  // `empty` says what exit status 4 says: an export with nothing in it verified nothing.
  if (json) io.stdout(JSON.stringify(empty(r) ? { ...r, empty: true } : r, null, 2) + '\n')
  else io.stdout(describe(r))
  if (!r.ok) return 1
  if (r.declared_drops.length > 0) return 3
  return empty(r) ? 4 : 0
}

/** An export (not a spool, whose records may all have been delivered) with no record in it: an
 * emptied or wrong file must not read as a verified log. */
function empty (r: VerifyResult): boolean {
  return r.kind !== 'spool' && r.records === 0
}

export function describe (r: VerifyResult): string {
  const lines: string[] = []
  const what = r.kind === 'spool' ? 'spool' : `${r.files.length} file(s)`
  const range = r.first_seq === null ? 'no records' : `seq ${r.first_seq}..${r.last_seq}`
  if (r.ok && empty(r)) {
    // Not "OK" first: a script that greps for it would pass an emptied log.
    lines.push(`EMPTY: ${what}, no records: nothing was verified (exit status 4)`)
  } else if (r.ok) {
    lines.push(`OK: ${what}, ${r.records} record(s) (${r.decisions} decision(s), ${r.shadows > 0 ? `${r.shadows} shadow comparison(s), ` : ''}${r.markers} drop marker(s)), ${range}`)
    if (r.last_hash !== null) lines.push(`head hash: ${r.last_hash}`)
  } else {
    const b = r.break!
    lines.push(`BROKEN at seq ${b.seq ?? '?'}: ${b.reason}`)
    lines.push(`  ${b.message}`)
    lines.push(`  checked before the break: ${r.records} record(s), ${range}`)
  }
  if (r.acked_seq !== undefined) lines.push(`acknowledged up to seq ${r.acked_seq}${r.undelivered !== undefined ? `, ${r.undelivered} undelivered` : ''}`)
  for (const d of r.declared_drops) {
    lines.push(`declared drop: seq ${d.from_seq}..${d.to_seq} (${d.count} event(s), ${d.reason})`)
  }
  if (r.ok && r.declared_drops.length > 0) {
    const lost = r.declared_drops.reduce((n, d) => n + d.count, 0)
    lines.push(`INCOMPLETE: drop markers declare ${lost} lost event(s); the chain holds together, but this is not a complete record (exit status 3)`)
  }
  if (r.anchored === 'none') {
    lines.push(`NOT ANCHORED: the first record is seq ${r.first_seq}, not seq 1, and no spool state anchors it: records before it (a cut-off head included) are not in this input; its prev_hash ${r.first_prev_hash} must be the head hash of the export before it`)
  }
  if (r.torn_tail === true) lines.push('note: the last segment ends in an incomplete line (cut off when the spool is next opened)')
  if (r.duplicates_skipped !== undefined) lines.push(`note: ${r.duplicates_skipped} record(s) read again exactly as already checked (delivered twice), skipped`)
  return lines.join('\n') + '\n'
}
