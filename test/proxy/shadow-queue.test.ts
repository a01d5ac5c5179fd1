// The shadow queue is bounded in bytes as well as in decisions (MAX_QUEUE_BYTES beside
// MAX_QUEUE): a waiting decision keeps its whole input alive (headers, parsed_body), so a shadow
// slower than traffic with large bodies must not hold 4096 of them. Past the byte cap a decision
// is skipped (queue_full). A real bouncer with policies compiled by the project's compiler, a
// real upstream, real requests.
import { mkdirSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { parseDecision } from '../../src/proxy/decision.js'
import { buildInput, type PolicyInput } from '../../src/proxy/input.js'
import { compileInputView, inputBytes } from '../../src/proxy/projection.js'
import { MAX_QUEUE } from '../../src/proxy/shadow.js'
import { startBouncer, startUpstream } from '../helpers/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

// Reads one field of the input: its text is a projection that leaves the parsed body out.
const ACTIVE_PROJECTED = `package bouncer

default decision := {"allow": false, "status": 403}

decision := {"allow": true} if input.attributes.request.http.method == "POST"
`

// Reads the whole input: its text is the whole input.
const ACTIVE_WHOLE = `package bouncer

default decision := {"allow": false, "status": 403}

decision := {"allow": true} if count(input) > 0
`

// Slower than the traffic (each evaluation takes longer than a slice), and disagrees with both.
const SLOW_SHADOW = `package bouncer

default decision := {"allow": false, "status": 403}

decision := {"allow": false, "status": 401} if {
	n := count([x | some x in numbers.range(1, 200000 + count(input.parsed_path)); x % 7 == 0])
	n > 0
}
`

/** The value of one sample in the Prometheus text (0 when absent). */
function sample (text: string, name: string, labels = ''): number {
  const re = new RegExp(`^${name}${labels.replace(/[{}"]/g, (c) => '\\' + c)} (\\S+)$`, 'm')
  const m = re.exec(text)
  return m ? Number(m[1]) : 0
}

function policyDirs (t: { teardown: (fn: () => void) => void }, active: string, shadow: string): { active: string; shadow: string } {
  const dir = tempDir(t)
  const a = join(dir, 'active')
  const s = join(dir, 'shadow')
  mkdirSync(a); mkdirSync(s)
  writeFileSync(join(a, 'policy.rego'), active)
  writeFileSync(join(s, 'policy.rego'), shadow)
  return { active: a, shadow: s }
}

/** `n` keep-alive connections to the proxy port, open. */
async function connections (t: { teardown: (fn: () => void) => void }, port: number, n: number): Promise<Socket[]> {
  const sockets = await Promise.all(Array.from({ length: n }, () => new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.on('error', reject)
  })))
  t.teardown(() => { for (const s of sockets) s.destroy() })
  return sockets
}

/**
 * One request on each connection, each written in one go and all in the same turn (on
 * connections that have served a request already, so the bouncer reads them together: faster
 * than a slow shadow drains its queue). Resolves with the status codes once every response is
 * complete.
 */
async function burst (sockets: Socket[], requests: string[]): Promise<number[]> {
  const answers = sockets.map((s) => new Promise<number>((resolve) => {
    let buf = Buffer.alloc(0)
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c])
      const text = buf.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0)
      if (buf.length < end + 4 + length) return
      s.off('data', onData)
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]))
    }
    s.on('data', onData)
  }))
  sockets.forEach((s, i) => s.write(requests[i]!))
  return await Promise.all(answers)
}

/** MAX_QUEUE_BYTES and ENTRY_BYTES (src/proxy/shadow.ts). */
const CAP = 32 * 1024 * 1024
const ENTRY = 1024

const post = (body: string): string =>
  `POST /ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`

t.test('a shadow slower than the traffic, with parsed bodies the active policy\'s text leaves out: queued decisions are capped in bytes (queue_full), far below MAX_QUEUE', async (t) => {
  const dirs = policyDirs(t, ACTIVE_PROJECTED, SLOW_SHADOW)
  const up = await startUpstream()
  // Bodies up to 4 MiB are parsed: a waiting decision with a parsed body is charged that much,
  // so fewer than 8 fit in MAX_QUEUE_BYTES.
  const maxBody = 4 * 1024 * 1024
  const b = await startBouncer({
    upstream: up.url,
    policyPath: dirs.active,
    config: { policy: { shadow: dirs.shadow, shadow_eval_step_budget: 0, shadow_max_per_second: 0, eval_timeout_seconds: 5, parsed_body: { enabled: true, max_bytes: maxBody } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const fit = Math.floor(CAP / (maxBody + ENTRY))
  t.ok(fit < 8, `${fit} such decisions fit in the queue`)

  const n = 48
  const sockets = await connections(t, b.port, n)
  const get = Array.from({ length: n }, () => 'GET /ingest HTTP/1.1\r\nhost: x\r\n\r\n')
  // A connection's first request (read in a turn of its own).
  let statuses = await burst(sockets, get)
  t.same(statuses, Array(n).fill(403), 'every request answered by the active policy')
  // Without bodies the same burst fits (decisions are small): nothing is skipped.
  statuses = await burst(sockets, get)
  t.same(statuses, Array(n).fill(403), 'every request answered by the active policy')
  b.app.shadow!.drain()
  let m = await b.app.metrics.render()
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="queue_full"}'), 0, 'small decisions: none skipped')
  t.equal(sample(m, 'bouncer_shadow_decisions_total', '{agreement="status"}'), 2 * n, 'every one compared')

  // With parsed bodies: the queue takes no more than its bytes allow; the rest is skipped.
  statuses = await burst(sockets, Array.from({ length: n }, (_, i) => post(JSON.stringify({ i, items: Array.from({ length: 50 }, (_, j) => `v${j}`) }))))
  t.same(statuses, Array(n).fill(200), 'every request answered by the active policy, none delayed or refused by the shadow')
  b.app.shadow!.drain()
  m = await b.app.metrics.render()
  const full = sample(m, 'bouncer_shadow_skipped_total', '{reason="queue_full"}')
  const compared = sample(m, 'bouncer_shadow_decisions_total', '{agreement="allow_to_deny"}')
  t.ok(n < MAX_QUEUE, 'far fewer requests than MAX_QUEUE')
  t.ok(full > 0, `decisions past the byte cap are skipped as queue_full (${full} of ${n})`)
  t.equal(full + compared, n, 'each decision either compared or skipped')
  t.equal(up.requests.length, n, 'every allowed request reached the upstream')
})

t.test('the charge of a waiting decision, from the text the active policy was given (never serialised again)', async (t) => {
  const dirs = policyDirs(t, ACTIVE_WHOLE, SLOW_SHADOW)
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url,
    policyPath: dirs.active,
    config: { policy: { shadow: dirs.shadow, shadow_eval_step_budget: 0, shadow_max_per_second: 0, eval_timeout_seconds: 5, parsed_body: { enabled: true, max_bytes: 4 * 1024 * 1024 } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const active = b.app.holder.current!
  const view = compileInputView(active.inputPaths)
  t.ok(view.whole, 'the active policy reads the whole input')

  // Decisions handed to the shadow as the engine hands them (the input, the text the active
  // policy evaluated, its result), all in one turn: the queue stops at MAX_QUEUE_BYTES.
  const body = 'x'.repeat(1024 * 1024)
  const inputOf = (i: number): PolicyInput => buildInput({
    id: `r${i}`, method: 'POST', path: '/ingest', query: '', host: 'x', scheme: 'http', protocol: 'HTTP/1.1',
    headers: { 'content-type': 'application/json' }, sourceAddress: '127.0.0.1:1', destinationAddress: '127.0.0.1:2',
  }, { parsedBody: { body } })
  const n = 40
  let charged = 0
  let admitted = 0
  for (let i = 0; i < n; i++) {
    const input = inputOf(i)
    const text = view.text(input)
    const result = active.evaluate(inputBytes(text))
    const decision = parseDecision(result)
    t.equal(decision.allow, true)
    // The text is the whole input: its length is the charge.
    const bytes = ENTRY + text.length
    if (admitted === 0 || charged + bytes <= CAP) { charged += bytes; admitted++ }
    b.app.shadow!.observe(input, { id: `d${i}`, requestedBy: '127.0.0.1', startNs: 0n }, {
      verdict: { kind: 'allow', decision, mask: undefined }, cached: false, evalNs: 1, reason: undefined, revision: active.revision, result, policy: active, text,
    })
  }
  t.equal(admitted, 31, '31 decisions of 1 MiB fit')
  b.app.shadow!.drain()
  const m = await b.app.metrics.render()
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="queue_full"}'), n - admitted, 'the rest: queue_full')
  t.equal(sample(m, 'bouncer_shadow_decisions_total', '{agreement="allow_to_deny"}'), admitted, 'what was queued is evaluated')

  // The charge itself (pendingBytes).
  const { ENTRY_BYTES, MAX_QUEUE_BYTES, pendingBytes } = await import('../../src/proxy/shadow.js')
  t.same([MAX_QUEUE_BYTES, ENTRY_BYTES], [CAP, ENTRY])
  const input = inputOf(0)
  const text = view.text(input)
  t.equal(pendingBytes(input, text, true, 4096), ENTRY + text.length, 'the whole input\'s text: its length')
  // A projection (or no text, a cache hit) does not show the body: the largest one is charged.
  const headerBytes = 'content-type'.length + 'application/json'.length
  t.equal(pendingBytes(input, '{"a":1}', false, 4096), ENTRY + 7 + '/ingest'.length + headerBytes + 4096)
  t.equal(pendingBytes(input, undefined, true, 4096), ENTRY + '/ingest'.length + headerBytes + 4096)
  const noBody = buildInput({ id: 'r', method: 'GET', path: '/', query: '', host: 'x', scheme: 'http', protocol: 'HTTP/1.1', headers: {}, sourceAddress: '', destinationAddress: '' })
  t.equal(pendingBytes(noBody, '{}', false, 4096), ENTRY + 2 + 1, 'no parsed body: nothing charged for one')
})
