// parseTime reads the logger's timestamps without Date.parse, and must give Date.parse's answer
// for every string, including the ones it hands to Date.parse.
import t from 'tap'
import { rfc3339Nano } from '../../src/decision-log/index.js'
import { parseTime } from '../../src/evidence/time.js'

t.test('parseTime is Date.parse', async (t) => {
  const cases = [
    '2025-01-01T00:00:00.000000000Z', '2025-01-01T00:00:00.123999999Z', '2025-01-01T23:59:59.999Z', '2025-01-01T00:00:00Z',
    '2025-01-01T00:00:00.1Z', '2025-01-01T00:00:00.12Z', '2025-01-01T00:00:00.Z', '2025-01-01T00:00:00.1234567890Z',
    '2025-02-29T12:00:00Z', '2024-02-29T12:00:00Z', '2025-02-30T00:00:00.5Z', '2025-04-31T01:02:03Z', '2025-13-01T00:00:00Z',
    '2025-00-10T00:00:00Z', '2025-01-00T00:00:00Z', '2025-01-32T00:00:00Z', '2025-01-01T24:00:00Z', '2025-01-01T23:60:00Z',
    '2025-01-01T23:59:60Z', '2025-01-01t00:00:00Z', '2025-01-01T00:00:00z', '2025-01-01T00:00:00+00:00', '2025-01-01 00:00:00Z',
    '2025-1-01T00:00:00.000Z', '+02025-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z',
    'Sat Jan 01T00:00:00Z', '2025-01-01T0a:00:00Z', '2025-01-01T00:00:00.12a4Z', '', 'garbage', '2025-01-01',
  ]
  for (const s of cases) t.ok(Object.is(parseTime(s), Date.parse(s)), `${JSON.stringify(s)}: ${parseTime(s)} (Date.parse ${Date.parse(s)})`)
  // the logger's own stamps over several years, in order and out of order (the day cache)
  let x = 0x2545f491
  const next = (): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 4294967296 }
  let bad = 0
  for (let i = 0; i < 20000; i++) {
    const ms = Date.UTC(2020, 0, 1) + Math.floor(next() * 8 * 365 * 86_400_000)
    const s = rfc3339Nano(BigInt(ms) * 1_000_000n + BigInt(Math.floor(next() * 1e6)))
    const cut = i % 3 === 0 ? s.slice(0, 20 + Math.floor(next() * 10)) + 'Z' : s
    if (!Object.is(parseTime(cut), Date.parse(cut))) bad++
  }
  t.equal(bad, 0, 'generated stamps, whole and with shorter fractions')
})
