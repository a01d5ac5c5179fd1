import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { externalMemoryTunedByOperator, tunedByOperator } from '../../src/app/memory.js'

t.test('a maximum alone does not stop the start-up hold; other semi-space flags do', async (t) => {
  t.notOk(tunedByOperator([]))
  t.notOk(tunedByOperator(['--max-semi-space-size=16']), 'the image default (Dockerfile NODE_OPTIONS)')
  t.notOk(tunedByOperator(['--max_semi_space_size=16 --enable-source-maps']))
  t.notOk(tunedByOperator(['--max-semi-space-size 16']))
  t.ok(tunedByOperator(['--semi-space-growth-factor=4']))
  t.ok(tunedByOperator(['--max-semi-space-size=16 --min-semi-space-size=8']), 'a minimum beside the maximum')
  t.ok(tunedByOperator(['--expose-gc', '--min_semi_space_size=2']))
})

t.test('external-memory accounting is left to an operator who sets it either way', async (t) => {
  t.notOk(externalMemoryTunedByOperator([]))
  t.notOk(externalMemoryTunedByOperator(['--max-semi-space-size=16']))
  t.ok(externalMemoryTunedByOperator(['--external-memory-accounted-in-global-limit']))
  t.ok(externalMemoryTunedByOperator(['--no-external-memory-accounted-in-global-limit']), 'turned off explicitly')
  t.ok(externalMemoryTunedByOperator(['--no_external_memory_accounted_in_global_limit']))
})

t.test('with external memory accounted, short-lived Buffers no longer cost mark-compacts', async (t) => {
  const child = fileURLToPath(new URL('./fixtures/buffer-churn.ts', import.meta.url))
  const markCompacts = (mode: string): number => {
    const r = spawnSync(process.execPath, ['--trace-gc', '--import', 'tsx', child, mode], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
    t.equal(r.status, 0, `${mode}: ${r.stderr}`)
    t.match(r.stdout, /assembled 860160000/)
    return r.stdout.split('\n').filter((l) => l.includes('Mark-Compact')).length
  }
  // 8,000 x 105 KB = 860 MB of Buffers that die at once: V8 13.6's default runs a mark-compact
  // per ~64 MB of them (8-9 here); accounted in the global limit they go with scavenges.
  const off = markCompacts('off')
  const on = markCompacts('on')
  t.ok(off >= 4, `without: ${off} mark-compacts (if this fails after a Node.js upgrade, its V8 accounts external memory by default and accountExternalMemory can go)`)
  t.ok(on <= 1, `with: ${on} mark-compacts`)
})
