// Test coverage as `opa test --coverage` reports it: a line is covered when an expression on
// it was evaluated or a rule whose head is on it produced a value; a line holding a rule head
// or an expression that never was is not covered.
//
// How it is measured: compiled with `coverage: true`, the planner numbers every expression
// and every rule ("coverage points", file and row) and emits, before each expression and
// after each rule body, a call to the host function COVERAGE_BUILTIN with the point's number.
// The loader's onCoverage hook receives the numbers hit; coverageReport() turns points and
// hits into OPA's JSON report. Modules compiled without coverage carry no such call.

/** Name of the host call the planner emits in coverage builds (never a Rego builtin). */
export const COVERAGE_BUILTIN = 'bouncer.internal.coverage_hit'

export interface CoveragePoint { file: string; row: number; kind: 'expr' | 'rule' }

export interface LineRange { start: { row: number }; end: { row: number } }

export interface FileCoverage {
  covered?: LineRange[]
  not_covered?: LineRange[]
  covered_lines?: number
  not_covered_lines?: number
  coverage?: number
}

export interface CoverageReport {
  files: Record<string, FileCoverage>
  covered_lines: number
  not_covered_lines: number
  coverage: number
}

/** OPA's coverage report for `points`, of which those numbered in `hits` were reached. */
export function coverageReport (points: readonly CoveragePoint[], hits: ReadonlySet<number>): CoverageReport {
  const covered = new Map<string, Set<number>>()
  const all = new Map<string, Set<number>>()
  const add = (m: Map<string, Set<number>>, file: string, row: number): void => {
    let s = m.get(file)
    if (s === undefined) m.set(file, (s = new Set()))
    s.add(row)
  }
  points.forEach((p, i) => {
    if (p.file === '' || p.file.startsWith('<')) return
    add(all, p.file, p.row)
    if (hits.has(i)) add(covered, p.file, p.row)
  })
  const report: CoverageReport = { files: {}, covered_lines: 0, not_covered_lines: 0, coverage: 0 }
  for (const file of [...all.keys()].sort()) {
    const c = covered.get(file) ?? new Set<number>()
    const notCovered = [...(all.get(file) ?? [])].filter(r => !c.has(r))
    const fr: FileCoverage = {}
    const cr = toRanges([...c])
    const nr = toRanges(notCovered)
    if (cr.length > 0) fr.covered = cr
    if (nr.length > 0) fr.not_covered = nr
    const nc = c.size
    const nn = notCovered.length
    if (nc > 0) fr.covered_lines = nc
    if (nn > 0) fr.not_covered_lines = nn
    if (nc > 0) fr.coverage = 100 * nc / (nc + nn)
    report.files[file] = fr
    report.covered_lines += nc
    report.not_covered_lines += nn
  }
  const total = report.covered_lines + report.not_covered_lines
  if (total > 0) report.coverage = 100 * report.covered_lines / total
  return report
}

function toRanges (rows: number[]): LineRange[] {
  const sorted = [...new Set(rows)].sort((a, b) => a - b)
  const out: LineRange[] = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined && last.end.row + 1 === r) last.end = { row: r }
    else out.push({ start: { row: r }, end: { row: r } })
  }
  return out
}
