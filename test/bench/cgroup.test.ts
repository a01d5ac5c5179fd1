// bench/lib/cgroup.ts: the soak's memory limit. Needs root and a cgroup memory controller; the
// child must see the limit the way Node sizes its heap from it (process.constrainedMemory()).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { createMemoryCgroup, inCgroup } from '../../bench/lib/cgroup.js'

const root = process.getuid?.() === 0
const made = root ? createMemoryCgroup(`bouncer-test-${process.pid}`, 300) : { error: 'needs root to create a cgroup' }

t.test('a child started through inCgroup runs inside the limit', { skip: 'error' in made ? made.error : false }, async (t) => {
  const cg = made as Exclude<typeof made, { error: string }>
  t.teardown(() => cg.remove())
  t.equal(cg.limitBytes, 300 * 1048576)
  const run = inCgroup(cg, process.execPath, ['-e', 'const v8 = require("node:v8"); console.log(JSON.stringify({ limit: process.constrainedMemory(), heap: v8.getHeapStatistics().heap_size_limit, pid: process.pid, cgroup: require("node:fs").readFileSync("/proc/self/cgroup", "utf8") }))'])
  const r = spawnSync(run.cmd, run.args, { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  const seen = JSON.parse(r.stdout) as { limit: number; heap: number; cgroup: string }
  t.equal(seen.limit, 300 * 1048576, 'Node sees the cgroup limit')
  t.ok(seen.heap < 300 * 1048576, `V8's heap limit (${Math.round(seen.heap / 1048576)} MB) is sized from it`)
  t.match(seen.cgroup, `bouncer-test-${process.pid}`, 'the process is in the group')
  t.type(cg.peakBytes(), 'number')
})
