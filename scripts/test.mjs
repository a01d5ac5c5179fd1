#!/usr/bin/env node
// Runs the tap suite and ends with the plain summary line CI reads: "N passed, N failed".
// tap's own summary counts files; we count every assertion line so the number means something.
import { spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { readdirSync } from 'node:fs'
import path from 'node:path'

// Every *.test.ts under test/ (tap does not expand a bare directory argument).
function findTests (dir) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...findTests(p))
    else if (/\.test\.ts$/.test(e.name)) out.push(p)
  }
  return out.sort()
}

// bin/bouncer.js runs dist/: compile it first so tests that start the CLI run today's
// sources (incremental: only changed files are emitted). Type errors do not stop the run —
// `npm run typecheck` reports them — since tsc emits regardless.
if (process.env.BOUNCER_TEST_SKIP_BUILD !== '1') {
  const tsc = new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname
  const r = spawnSync(process.execPath, [tsc, '-p', new URL('../tsconfig.build.json', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) console.error(`# tsc -p tsconfig.build.json exited ${r.status}: dist/ built with type errors (see npm run typecheck)`)
}

const args = process.argv.slice(2)
const child = spawn(process.execPath, [
  new URL('../node_modules/.bin/tap', import.meta.url).pathname,
  '--reporter=tap', ...(args.length ? args : findTests('test')),
], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env })

let passed = 0, failed = 0, skipped = 0
// Where each failed assertion sits (file > subtests > assertion) and what it compared, repeated
// just above the summary: CI shows the tail of a long log. A result's YAML diagnostics (from
// its "---" to the "..." at the same indent) are never read as results: a source excerpt may
// hold text shaped like one.
const subtests = []
const failures = []
let last = null // the result line just read: { indent, failure }
let yaml = null // the diagnostics block being read: { indent, failure, skip, stackLines }
// What a digest entry leaves out: the source excerpt (in the full log), and a failed file's command line.
const DIGEST_SKIP = new Set(['source', 'at', 'stdio', 'cwd', 'externalID', 'command', 'args'])
// Leaf failures in the file being read: a file that fails with none (a crash, a timeout, a
// plan not met) is a failure of its own.
let fileFailures = 0
// A SKIP or TODO directive; tap writes a "#" inside a description as "\#".
const DIRECTIVE = /(?<!\\)# (SKIP|TODO)\b/
const rl = createInterface({ input: child.stdout })
rl.on('line', (line) => {
  process.stdout.write(line + '\n')
  try { read(line) } catch (e) { console.error(`# scripts/test.mjs could not read a line (${e.message}); counted as nothing`) }
})
function read (line) {
  const previous = last
  last = null
  if (yaml !== null) {
    if (line === yaml.indent + '...') { yaml = null; return }
    const f = yaml.failure
    if (f === null || f.lines.length >= 30) return
    if (line.startsWith(yaml.indent) && /^\S/.test(line.slice(yaml.indent.length))) {
      const key = /^([\w-]+):/.exec(line.slice(yaml.indent.length))?.[1]
      yaml.skip = key !== undefined && DIGEST_SKIP.has(key)
      yaml.stackLines = key === 'stack' ? 0 : -1
    } else if (yaml.stackLines >= 0 && ++yaml.stackLines > 2) return // the first two frames say where
    if (!yaml.skip) f.lines.push(line.slice(yaml.indent.length))
    return
  }
  if (previous !== null && line === previous.indent + '  ---') { yaml = { indent: previous.indent + '  ', failure: previous.failure, skip: false, stackLines: -1 }; return }
  const sub = /^(\s*)# Subtest: (.*)$/.exec(line)
  if (sub) {
    if (sub[1] === '') fileFailures = 0
    subtests.length = Math.min(subtests.length, Math.floor(sub[1].length / 4)); subtests.push(sub[2]); return
  }
  const m = /^(\s*)(ok|not ok) \d+ (?:- )?(.*)$/.exec(line)
  if (!m) return
  last = { indent: m[1], failure: null }
  // Subtest summary lines end with "# time=..." — count only leaf assertions.
  if (/# time=[\d.]+m?s\s*$/.test(line) && !DIRECTIVE.test(line)) {
    if (m[1] === '' && m[2] === 'not ok' && fileFailures === 0) {
      failed++
      last.failure = { at: `${m[3].replace(/ # time=.*$/, '')} (the file failed with no assertion failing: a crash, a timeout or its plan)`, lines: [] }
      if (failures.length < 20) failures.push(last.failure)
    }
    return
  }
  // A TODO is not done yet, failing or not: counted with the skipped, never as a failure.
  if (DIRECTIVE.test(line)) { skipped++; return }
  if (m[2] === 'ok') { passed++; return }
  failed++
  fileFailures++
  if (failures.length < 20) {
    last.failure = { at: [...subtests.slice(0, Math.floor(m[1].length / 4)), m[3]].join(' > '), lines: [] }
    failures.push(last.failure)
  }
}
child.on('close', (code) => {
  rl.close()
  setImmediate(() => {
    if (failures.length) {
      console.log(`# ${failed} failed assertion(s)${failed > failures.length ? `, the first ${failures.length}` : ''}:`)
      for (const f of failures) {
        console.log(`#   ${f.at}`)
        for (const l of f.lines) console.log(`#       ${l}`)
      }
    }
    if (code !== 0 && failed === 0) failed = 1
    console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
    process.exit(code ?? 1)
  })
})
