// The breaker state machine on its own, with a scripted probe: short real timers where only
// the order of events matters, a hand-driven timer where the waits themselves are checked.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { CircuitBreaker, type BreakerState } from '../../src/cache/index.js'

function make (probeResults: boolean[], opts = { failureThreshold: 3, openMs: 20, maxOpenMs: 80 }, initial: 'closed' | 'open' = 'closed') {
  const changes: BreakerState[] = []
  const b = new CircuitBreaker(opts, async () => probeResults.shift() ?? true, s => changes.push(s), initial)
  t.teardown(() => b.dispose())
  return { b, changes }
}

async function until (cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(2)
  }
}

t.test('consecutive failures open it; a success in between resets the count', async t => {
  const { b } = make([])
  b.failure(); b.failure(); b.success(); b.failure(); b.failure()
  t.equal(b.state, 'closed', 'two failures after a success are not three')
  b.failure()
  t.equal(b.state, 'open')
  t.notOk(b.allow())
})

t.test('open → half-open probe → closed', async t => {
  const { b, changes } = make([true])
  b.trip()
  t.equal(b.state, 'open')
  await until(() => b.state === 'closed')
  t.same(changes, ['open', 'half-open', 'closed'])
  t.ok(b.allow())
})

t.test('failed probes back off (doubling, capped) and half-open lets no request through', async t => {
  // The open period's timer is driven by hand: the waits asked for are recorded exactly and
  // each one "elapses" when the test says so; nothing depends on the machine's speed.
  const waits: number[] = []
  let due: (() => void) | undefined
  const timers = {
    set: (fn: () => void, ms: number) => { waits.push(ms); due = fn; return fn },
    clear: (h: unknown) => { if (h === due) due = undefined },
  }
  const results = [false, false, false, true]
  const changes: BreakerState[] = []
  let changed: (() => void) | undefined
  const b = new CircuitBreaker({ failureThreshold: 3, openMs: 20, maxOpenMs: 80, timers }, async () => results.shift() ?? true, s => { changes.push(s); changed?.() })
  t.teardown(() => b.dispose())
  /** Lets the pending wait elapse, then waits for the probe's verdict (open or closed). */
  const elapse = async (): Promise<void> => {
    const fn = due
    if (fn === undefined) throw new Error('no wait pending')
    due = undefined
    const verdict = new Promise<void>(resolve => { changed = () => { if (b.state !== 'half-open') { changed = undefined; resolve() } } })
    fn()
    t.equal(b.state, 'half-open')
    t.notOk(b.allow(), 'half-open does not let requests through')
    await verdict
  }
  b.trip()
  for (let i = 0; i < 4; i++) await elapse()
  t.equal(b.state, 'closed')
  t.same(changes, ['open', 'half-open', 'open', 'half-open', 'open', 'half-open', 'open', 'half-open', 'closed'])
  t.same(waits, [20, 40, 80, 80], 'the wait doubles after each failed probe and stops at maxOpenMs')
  t.equal(due, undefined, 'closed: nothing scheduled')
  b.trip()
  t.same(waits.at(-1), 20, 'after recovering, the next opening waits openMs again')
})

t.test('probeSoon skips the wait (client reconnected) and a thrown probe counts as failed', async t => {
  let calls = 0
  const b = new CircuitBreaker({ openMs: 60_000 }, () => { calls++; if (calls === 1) throw new Error('sync'); return Promise.resolve(true) }, undefined, 'open')
  t.teardown(() => b.dispose())
  b.probeSoon()
  await until(() => b.state === 'open' && calls === 1)
  b.probeSoon()
  await until(() => b.state === 'closed')
  t.equal(calls, 2)
})

t.test('failures while not closed are ignored; stale probe results do not act', async t => {
  let release: (ok: boolean) => void = () => {}
  const b = new CircuitBreaker({ openMs: 10 }, () => new Promise<boolean>(resolve => { release = resolve }), undefined, 'open')
  t.teardown(() => b.dispose())
  await until(() => b.state === 'half-open')
  b.failure()
  t.equal(b.state, 'half-open')
  b.dispose()
  release(true)
  await sleep(5)
  t.equal(b.state, 'half-open', 'a disposed breaker does not move')
})

t.test('bad options are refused', async t => {
  t.throws(() => new CircuitBreaker({ openMs: 0 }, async () => true), { code: 'BOUNCER_ERR_CACHE_OPTIONS' })
  t.throws(() => new CircuitBreaker({ failureThreshold: -1 }, async () => true), { code: 'BOUNCER_ERR_CACHE_OPTIONS' })
})
