// Integers past 2^53 reach the policy as the upstream will read them. JSON.parse would make
// 9007199254740993 into 9007199254740992: a policy comparing account ids would then judge an
// id other than the one the upstream acts on, and two ids would share a cached decision. OPA
// reads JSON numbers exactly; so does the proxy (src/exact-json.ts).
import { createHmac } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { parseJsonExact } from '../../src/exact-json.js'
import { verifyLog } from '../../src/decision-log/index.js'
import { startBouncer, startUpstream } from '../helpers/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

const POLICY = `package bouncer

default decision := {"allow": false}

decision := {"allow": true} if input.parsed_body.account == data.owner.account

decision := {"allow": true} if input.identity.account == data.owner.account

decision := {"allow": true} if {
  input.parsed_path[0] == "pay"
  input.parsed_body.amount < 100
}
`
// 2^53 and 2^63 - 1: the owner's ids. One more than 2^53 is another account.
const OWNER = '9007199254740992'
const OTHER = '9007199254740993'
const DATA = parseJsonExact(`{"owner": {"account": ${OWNER}}}`) as Record<string, unknown>

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  request(`${url}/transfer`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })

t.test('parsed_body: a big integer is the one the upstream receives', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, data: DATA, config: { policy: { parsed_body: { enabled: true } } } })
  t.teardown(async () => { await b.close(); await up.close() })

  const mine = await post(b.url, `{"account": ${OWNER}}`)
  t.equal(mine.statusCode, 200, 'the owner\'s own account')
  await mine.body.dump()
  const other = await post(b.url, `{"account": ${OTHER}}`)
  t.equal(other.statusCode, 403, 'one more than 2^53 is another account: denied (a double would read it as the owner\'s)')
  await other.body.dump()
  t.same(up.requests.map((r) => r.body.toString()), [`{"account": ${OWNER}}`], 'only the allowed request reached the upstream, byte for byte')

  // Within 64 bits, all the way up: 2^63 - 1 against 2^63 - 2.
  const i64 = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY }, data: parseJsonExact('{"owner": {"account": 9223372036854775806}}') as Record<string, unknown>,
    config: { policy: { parsed_body: { enabled: true } } },
  })
  t.teardown(() => i64.close())
  const near = await post(i64.url, '{"account": 9223372036854775807}')
  t.equal(near.statusCode, 403, '2^63 - 1 is not 2^63 - 2')
  await near.body.dump()
  const same = await post(i64.url, '{"account": 9223372036854775806}')
  t.equal(same.statusCode, 200)
  await same.body.dump()
})

t.test('parsed_body: a number past the double range is a number, not null', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, data: DATA, config: { policy: { parsed_body: { enabled: true } } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const pay = (amount: string) => request(`${b.url}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"amount": ${amount}}` })
  const small = await pay('42')
  t.equal(small.statusCode, 200)
  await small.body.dump()
  // JSON.parse reads 1e400 as Infinity, which reached the policy as null: null < 100 in Rego.
  for (const amount of ['1e400', '2E+308', '123456789e300']) {
    const r = await pay(amount)
    t.equal(r.statusCode, 403, `amount ${amount} is not under 100`)
    await r.body.dump()
  }
  const negative = await pay('-1e400')
  t.equal(negative.statusCode, 200, '-1e400 is under 100 (as in OPA)')
  await negative.body.dump()
  t.same(up.requests.map((r) => r.body.toString()), ['{"amount": 42}', '{"amount": -1e400}'], 'only those reached the upstream')
})

t.test('parsed_body: a fraction is compared as the decimal it is, as OPA compares it', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY }, data: DATA,
    config: { policy: { parsed_body: { enabled: true } }, cache: { enabled: true, l1: { enabled: true }, redis: { enabled: false } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  const pay = (amount: string) => request(`${b.url}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"amount": ${amount}}` })
  // A double reads 100.00000000000000001 as 100 and 99.999999999999999999 as 100: both would be
  // "not under 100" alike, and 1e-400 would be 0. OPA compares the decimals.
  for (const [amount, status] of [
    ['99.99999999999999999', 200], ['100.00000000000000001', 403], ['99.99999999999999999', 200], ['100', 403],
    ['1e-400', 200], ['-1e-400', 200], ['0.30000000000000004', 200],
  ] as const) {
    const r = await pay(amount)
    t.equal(r.statusCode, status, `amount ${amount} → ${status} (the cache keeps them apart too)`)
    await r.body.dump()
  }
  t.same(up.requests.map((r) => r.body.toString()),
    ['{"amount": 99.99999999999999999}', '{"amount": 99.99999999999999999}', '{"amount": 1e-400}', '{"amount": -1e-400}', '{"amount": 0.30000000000000004}'],
    'the allowed requests reached the upstream byte for byte')
})

t.test('decision cache: two big integers a double cannot tell apart get their own decisions', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY }, data: DATA,
    config: { policy: { parsed_body: { enabled: true } }, cache: { enabled: true, l1: { enabled: true }, redis: { enabled: false } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  for (const [account, status] of [[OWNER, 200], [OTHER, 403], [OWNER, 200], [OTHER, 403]] as const) {
    const r = await post(b.url, `{"account": ${account}}`)
    t.equal(r.statusCode, status, `account ${account} → ${status}`)
    await r.body.dump()
  }
})

t.test('parsed_body: 22.0 is not 22 where OPA tells them apart, and the cache keeps them apart', async (t) => {
  // OPA keeps a number's text: sprintf's %d of 22.0 is "%!d(float64=22)", and an array index
  // of 1.0 is undefined. A policy pinning the port by its printed form denies 22.0.
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': `package bouncer

default decision := {"allow": false}

decision := {"allow": true} if sprintf("%d", [input.parsed_body.port]) == "22"
` },
    config: { policy: { parsed_body: { enabled: true } }, cache: { enabled: true, l1: { enabled: true }, redis: { enabled: false } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  for (const [port, status] of [['22', 200], ['22.0', 403], ['22', 200], ['2.2e1', 403], ['22.0', 403]] as const) {
    const r = await request(`${b.url}/ssh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"port": ${port}}` })
    t.equal(r.statusCode, status, `port ${port} → ${status}`)
    await r.body.dump()
  }
  t.same(up.requests.map((r) => r.body.toString()), ['{"port": 22}', '{"port": 22}'], 'only 22 reached the upstream')
})

t.test('JWT claims: a numeric claim past 2^53 is read exactly', async (t) => {
  const secret = 'exact-numbers-test-secret-0123456789abcdef'
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY }, data: DATA,
    config: { auth: { jwt: { enabled: true, keys: [{ alg: 'HS256', secret }] } } },
  })
  t.teardown(async () => { await b.close(); await up.close() })
  // Signed by hand: jose's SignJWT copies the claims as JS values, which cannot hold the digits.
  const token = async (account: string) => {
    const b64 = (s: string) => Buffer.from(s).toString('base64url')
    const signing = `${b64('{"alg":"HS256"}')}.${b64(`{"sub":"alice","exp":${Math.floor(Date.now() / 1000) + 3600},"account":${account}}`)}`
    return `${signing}.${createHmac('sha256', secret).update(signing).digest('base64url')}`
  }
  const mine = await request(`${b.url}/x`, { headers: { authorization: `Bearer ${await token(OWNER)}` } })
  t.equal(mine.statusCode, 200)
  await mine.body.dump()
  const other = await request(`${b.url}/x`, { headers: { authorization: `Bearer ${await token(OTHER)}` } })
  t.equal(other.statusCode, 403, 'the token names another account')
  await other.body.dump()
})

t.test('decision log: the event keeps the digits and the chain verifies', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url, rego: { 'p.rego': POLICY }, data: DATA,
    config: {
      policy: { parsed_body: { enabled: true } },
      decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'export.jsonl'), spool_dir: spool },
    },
  })
  t.teardown(async () => { await up.close() })
  for (const account of [OWNER, OTHER]) {
    const r = await post(b.url, `{"account": ${account}, "note": "n"}`)
    await r.body.dump()
  }
  await b.close()
  let text = ''
  for (const n of readdirSync(spool)) if (n.startsWith('seg-')) text += readFileSync(join(spool, n), 'utf8')
  t.match(text, `"parsed_body":{"account":${OWNER},"note":"n"}`, 'the owner\'s event')
  t.match(text, `"parsed_body":{"account":${OTHER},"note":"n"}`, 'the other event, with its own digits')
  const spooled = await verifyLog(spool)
  t.ok(spooled.ok, 'the spooled chain verifies')
  t.equal(spooled.decisions, 2)
  const exported = await verifyLog(join(dir, 'export.jsonl'))
  t.ok(exported.ok, 'the exported chain verifies (read with the digits intact)')
  t.equal(exported.decisions, 2)
})

t.test('a limit on a computed amount: the policy computes as OPA does, so what reaches the upstream is what OPA would let through', async (t) => {
  const up = await startUpstream()
  // Orders below the minimum total are refused. 0.01 * 10 is 0.099999999999999999995 in OPA
  // (64-bit big.Float): below 0.1. A double makes it exactly 0.1, and let it through.
  const policy = `package bouncer

default decision := {"allow": false}

decision := {"allow": true} if input.parsed_body.unit_price * input.parsed_body.quantity >= 0.1
`
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': policy }, config: { policy: { parsed_body: { enabled: true } } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const below = await post(b.url, '{"unit_price": 0.01, "quantity": 10}')
  t.equal(below.statusCode, 403, '0.01 * 10 is below 0.1 in OPA')
  await below.body.dump()
  const above = await post(b.url, '{"unit_price": 0.011, "quantity": 10}')
  t.equal(above.statusCode, 200)
  await above.body.dump()
  t.same(up.requests.map((r) => r.body.toString()), ['{"unit_price": 0.011, "quantity": 10}'], 'only the order OPA allows reached the upstream')
})
