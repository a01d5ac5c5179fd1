// Keeps a floor under OPA-conformance: a regression below the checked-in number fails CI.
// The corpus lives outside the repo (../shared/opa-conformance); without it the test skips.
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { caseRegoVersion, runConformance } from '../../src/conformance/runner.js'
import { DEFAULT_CORPUS, loadDisputed } from '../../src/cli/conformance.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const floor = JSON.parse(readFileSync(path.join(here, '../conformance-floor.json'), 'utf8')) as { total_passed: number; categories: Record<string, number> }
// Every case we fail, each with why: a new failure or a fixed one both fail this test, so
// the list stays the exact set of known differences from OPA.
const known = JSON.parse(readFileSync(path.join(here, '../conformance-known-differences.json'), 'utf8')) as Record<string, string>

const skip = existsSync(DEFAULT_CORPUS) ? false : `conformance corpus not found at ${DEFAULT_CORPUS}`
{
  t.test('conformance floor', { skip }, async t => {
    const report = await runConformance({ dir: DEFAULT_CORPUS, disputed: await loadDisputed() })
    t.ok(report.total.cases > 900, `corpus has ${report.total.cases} cases`)
    t.ok(report.total.passed >= floor.total_passed, `passed ${report.total.passed} >= floor ${floor.total_passed}`)
    for (const [cat, min] of Object.entries(floor.categories)) {
      const got = report.categories[cat]?.passed ?? 0
      t.ok(got >= min, `${cat}: passed ${got} >= floor ${min}`)
    }
    const failed = report.results.filter(r => r.outcome === 'failed').map(r => r.note).sort()
    t.same(failed, Object.keys(known).sort(), 'the failing cases are exactly test/conformance-known-differences.json')
    // disputed and unsupported cases never count as passed
    for (const r of report.results) {
      if (r.outcome === 'disputed' || r.outcome === 'unsupported') t.not(r.outcome, 'passed')
    }
  })
}

t.test('a case runs as v0 when all its modules parse as v0 and some only as v0 (an empty module does not decide)', async t => {
  t.equal(caseRegoVersion('x/v1/c.yaml', { modules: ['package a\n\n# empty\n', 'package x\n\np { true }\n'] }), 0, 'an empty module beside a v0 one')
  t.equal(caseRegoVersion('x/v1/c.yaml', { modules: ['package a\n\n# empty\n', 'package x\n\np if { true }\n'] }), 1)
  t.equal(caseRegoVersion('x/v1/c.yaml', { modules: ['package x\n\np if { true }\n', 'package y\n\nq { true }\n'] }), 1, 'a v1-only module and a v0-only module: v1 (it fails, as it would in OPA)')
  t.equal(caseRegoVersion('x/v0/c.yaml', { modules: ['package x\n\np if { true }\n'] }), 0, 'the v0 tree is v0')
})
