// The inputs bouncer evidence reads besides control-plane uploads: a spool directory (with its
// acknowledged point, a drop marker, a torn tail, a deleted segment), file-sink exports (a
// restart under the same labels.id, chains of two pods interleaved), and bad input.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { computeHash, DecisionLogger, verifyLog } from '../../src/decision-log/index.js'
import { isBouncerError } from '../../src/errors.js'
import { buildEvidence, readLogFile, recordHash } from '../../src/evidence/index.js'
import { readerStats, readInWorker } from '../../src/evidence/parallel.js'
import { sampleInput, tempDir } from '../decision-log/fixtures/control-plane.js'

const T0 = Date.UTC(2025, 0, 6)
const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n
const down = { kind: 'none', batchBytes: () => 1 << 20, send: async () => ({ ok: false as const, error: 'down' }), probe: async () => ({ ok: false as const, error: 'down' }), close: async () => {} }

function rec (lg: DecisionLogger, i: number, extra: Record<string, unknown> = {}): void {
  lg.record({ path: 'bouncer/decision', input: sampleInput(i, { identity: { sub: `user-${i % 4}`, email: `u${i % 4}@example.com` }, ...extra }), result: { allow: i % 3 !== 0 }, bundles: { main: { revision: 'v7' } }, timestamp_ns: ns(T0 + i * 60_000) })
}

/** n sealed records of one chain (labels.id x), seq 1..n, one timestamp, as lines. */
async function sealedLines (n: number): Promise<string[]> {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const lines: string[] = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= n; seq++) {
    const s = sealEvent({ decision_id: `d${seq}`, labels: { id: 'x' }, timestamp: '2025-01-01T00:00:00Z', result: { allow: true } }, seq, prev)
    lines.push(s.line)
    prev = s.hash
  }
  return lines
}

t.test('a spool the control plane never took: drop marker and torn tail reported, anchored at state.json', async (t) => {
  const dir = join(tempDir(t), 'spool')
  const lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], overflow: 'drop_oldest', max_bytes: 32768, segment_max_bytes: 4096, min_delay_seconds: 3600, max_delay_seconds: 3600 }, { sink: down })
  await lg.start()
  for (let i = 0; i < 120; i++) rec(lg, i)
  await lg.written()
  const dropped = lg.status().dropped
  await lg.stop(0)
  t.ok(dropped > 0, `${dropped} dropped`)
  const segs = readdirSync(dir).filter((n) => n.startsWith('seg-')).sort()
  appendFileSync(join(dir, segs[segs.length - 1]!), '{"seq":999,"prev_hash":"00')

  const r = await buildEvidence({ logs: [dir] })
  const drops = r.integrity.findings.filter((f) => f.kind === 'drop')
  t.ok(drops.length > 0)
  t.equal(drops.reduce((n, f) => n + (f.count ?? 0), 0), dropped, 'declared losses add up to the logger\'s count')
  t.ok(r.integrity.findings.some((f) => f.kind === 'torn_tail' && f.severity === 'note'), 'torn tail noted')
  t.same(r.integrity.findings.filter((f) => f.severity === 'break'), [], 'no break')
  t.equal(r.integrity.chains.length, 1)
  t.equal(r.integrity.chains[0]!.anchored_at, JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).acked_seq)
  t.equal(r.summary.decisions + dropped, 120)
  t.equal(r.integrity.complete, false)

  // a segment deleted by hand is a gap
  unlinkSync(join(dir, segs[1]!))
  const g = await buildEvidence({ logs: [dir] })
  const gap = g.integrity.findings.filter((f) => f.kind === 'gap')
  t.equal(gap.length, 1)
  t.match(gap[0]!.message, /no drop marker declares/)
  t.match(gap[0]!.at, new RegExp(`^${segs[2]}:1$`), 'named at the first line after the hole')
})

/** Two pods' logs in `dir` (a.jsonl from event 0, b.jsonl from event `bFrom`, `n` each), with their lines. */
async function twoPods (t: Test, dir: string, bFrom: number, n: number): Promise<{ a: string; b: string; la: string[]; lb: string[] }> {
  const a = join(dir, 'a.jsonl')
  const b = join(dir, 'b.jsonl')
  await fileSinkLog(t, join(dir, 'sa'), a, {}, 0, n)
  await fileSinkLog(t, join(dir, 'sb'), b, {}, bFrom, n)
  return { a, b, la: readFileSync(a, 'utf8').trim().split('\n'), lb: readFileSync(b, 'utf8').trim().split('\n') }
}

async function fileSinkLog (_t: Test, spool: string, file: string, labels: Record<string, string>, from: number, n: number): Promise<void> {
  const lg = new DecisionLogger({ spool_dir: spool, sinks: ['file'], file_path: file, labels, min_delay_seconds: 0.01, max_delay_seconds: 0.05 })
  await lg.start()
  for (let i = from; i < from + n; i++) rec(lg, i)
  await lg.written()
  const until = Date.now() + 10000
  while (lg.status().pending_events > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10))
  await lg.stop(2000)
}

t.test('a restart under the same labels.id (spool state lost) is a break; a new pod is not', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'decisions.jsonl')
  await fileSinkLog(t, join(dir, 's1'), file, { id: 'payments-0' }, 0, 10)
  await fileSinkLog(t, join(dir, 's2'), file, { id: 'payments-0' }, 10, 10) // same id, fresh spool
  const r = await buildEvidence({ logs: [file] })
  const restart = r.integrity.findings.filter((f) => f.kind === 'restart')
  t.equal(restart.length, 1)
  t.equal(restart[0]!.severity, 'break')
  t.match(restart[0]!.message, /starts again at seq 1 after seq 10/)
  t.match(restart[0]!.at, /^decisions\.jsonl:11$/)
  t.same(r.integrity.chains.map((c) => c.id), ['payments-0', 'payments-0#2'])
  t.equal(r.summary.decisions, 20)
  t.equal(r.integrity.complete, false)

  const file2 = join(dir, 'pods.jsonl')
  await fileSinkLog(t, join(dir, 's3'), file2, {}, 0, 10)
  await fileSinkLog(t, join(dir, 's4'), file2, {}, 10, 10) // a new pod: a new labels.id
  const r2 = await buildEvidence({ logs: [file2] })
  t.same(r2.integrity.findings.map((f) => f.kind), ['new_chain'])
  t.equal(r2.integrity.complete, true)
})

t.test('two pods interleaved in one export are checked chain by chain', async (t) => {
  const dir = tempDir(t)
  const { la, lb } = await twoPods(t, dir, 100, 12)
  const mixed: string[] = []
  for (let i = 0; i < 12; i++) mixed.push(la[i]!, lb[i]!)
  const out = join(dir, 'mixed.jsonl')
  writeFileSync(out, mixed.join('\n') + '\n')
  const r = await buildEvidence({ logs: [out], subjectClaim: 'email' })
  t.equal(r.integrity.chains.length, 2)
  t.same(r.integrity.findings.filter((f) => f.severity !== 'note'), [])
  t.equal(r.integrity.complete, true)
  t.equal(r.subjects.claim, 'email')
  t.same(r.subjects.list.map((s) => s.subject), ['u0@example.com', 'u1@example.com', 'u2@example.com', 'u3@example.com'])
})

t.test('a chain that begins inside a requested period after seq 1 leaves the start uncovered', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'd.jsonl')
  await fileSinkLog(t, join(dir, 's'), file, {}, 0, 30)
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  const tail = join(dir, 'tail.jsonl')
  writeFileSync(tail, lines.slice(10).join('\n') + '\n')
  const r = await buildEvidence({ logs: [tail], from: T0, to: T0 + 3_600_000 })
  const start = r.integrity.findings.find((f) => f.kind === 'chain_start')!
  t.equal(start.severity, 'uncovered')
  t.equal(r.integrity.complete, false)
  t.match(r.integrity.statement, /begin inside the period after seq 1/)
  // without --from, the report covers what the log holds
  const r2 = await buildEvidence({ logs: [tail] })
  t.equal(r2.integrity.complete, true)
  t.equal(r2.integrity.findings[0]!.severity, 'note')
})

t.test('without --from, an instance\'s opening records cut while another instance\'s log covers that time leave the period incomplete', async (t) => {
  // Two pods logging at the same times; the export of b lacks its first 10 records. The period
  // starts at a's first decision, so b's seq 1..10 fall inside it (before 2026-12-07 this read
  // as complete: the start was checked only against --from).
  const dir = tempDir(t)
  const { a, b, la, lb } = await twoPods(t, dir, 0, 20)
  const bcut = join(dir, 'bcut.jsonl')
  writeFileSync(bcut, lb.slice(10).join('\n') + '\n')
  const r = await buildEvidence({ logs: [a, bcut] })
  t.same(r.integrity.findings.filter((f) => f.kind === 'chain_start').map((f) => [f.seq, f.severity]), [[11, 'uncovered']])
  t.equal(r.integrity.complete, false)
  t.match(r.integrity.statement, /NOT complete.*1 chain\(s\) begin inside the period after seq 1/)
  // the same with --from at a's first decision
  const r1 = await buildEvidence({ logs: [a, bcut], from: Date.parse(JSON.parse(la[0]!).timestamp) })
  t.equal(r1.integrity.complete, false)
  // both cut at the same point: each begins at the period's start, so what came before is before
  // the period (as with --from at that time), and the record is complete from there on
  const acut = join(dir, 'acut.jsonl')
  writeFileSync(acut, la.slice(10).join('\n') + '\n')
  const r2 = await buildEvidence({ logs: [acut, bcut] })
  t.same(r2.integrity.findings.filter((f) => f.kind === 'chain_start').map((f) => f.severity), ['note', 'note'])
  t.equal(r2.integrity.complete, true)
  t.match(r2.integrity.statement, /begin at the period's start/)
  // a's tail alone and b whole: a begins after the period's start (b's first decision)
  const r3 = await buildEvidence({ logs: [acut, b] })
  t.same(r3.integrity.findings.filter((f) => f.kind === 'chain_start').map((f) => f.severity), ['uncovered'])
  t.equal(r3.integrity.complete, false)
})

t.test('bad input: precise errors', async (t) => {
  const dir = tempDir(t)
  const code = async (opts: Parameters<typeof buildEvidence>[0]): Promise<[string, string]> => {
    try { await buildEvidence(opts) } catch (e) {
      if (isBouncerError(e)) return [e.code, e.message]
      throw e
    }
    return ['none', '']
  }
  t.match(await code({ logs: [join(dir, 'missing')] }), ['BOUNCER_ERR_EVIDENCE_INPUT', /missing: no such file or directory/])
  mkdirSync(join(dir, 'empty'))
  writeFileSync(join(dir, 'empty', 'notes.txt'), 'hello')
  t.match(await code({ logs: [join(dir, 'empty')] }), ['BOUNCER_ERR_EVIDENCE_INPUT', /no decision-log files in this directory/])
  writeFileSync(join(dir, 'config.json'), '{"server": {"port": 8080}}\n{"another": 1}\n')
  t.match(await code({ logs: [join(dir, 'config.json')] }), ['BOUNCER_ERR_EVIDENCE_NOT_A_LOG', /no decision-log record in 1 file\(s\) \(first problem: config\.json:1: not a decision-log record/])
  writeFileSync(join(dir, 'binary.log'), Buffer.from([0, 1, 2, 3, 255, 10, 200]))
  t.match(await code({ logs: [join(dir, 'binary.log')] }), ['BOUNCER_ERR_EVIDENCE_NOT_A_LOG', /binary\.log:1: not (valid JSON|a JSON object or array)/])
  const file = join(dir, 'ok.jsonl')
  await fileSinkLog(t, join(dir, 's'), file, {}, 0, 5)
  t.match(await code({ logs: [file], from: Date.UTC(2030, 0, 1) }), ['BOUNCER_ERR_EVIDENCE_EMPTY_PERIOD', /decisions start at 2025-01-06T00:00:00\.000Z; none falls between 2030-01-01/])
  t.match(await code({ logs: [file], from: T0 + 10, to: T0 }), ['BOUNCER_ERR_EVIDENCE_OPTIONS', /the period is empty/])
  t.match(await code({ logs: [file], bundles: [file] }), ['BOUNCER_ERR_EVIDENCE_OPTIONS', /ok\.jsonl is not a bundle archive/])
})

t.test('recordHash is computeHash, the fast way only when that is the same', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'd.jsonl')
  await fileSinkLog(t, join(dir, 's'), file, {}, 0, 5)
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const o = JSON.parse(line) as Record<string, unknown>
    t.equal(recordHash(o), o.hash)
    const reordered = Object.fromEntries(Object.entries(o).reverse().map(([k, v]) => [k, v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v]))
    t.equal(recordHash(reordered), computeHash(reordered))
    t.equal(recordHash(reordered), o.hash, 'keys reordered at two levels: same hash')
  }
  const odd = { seq: 1, prev_hash: '0'.repeat(64), input: { parsed_query: { 10: ['a'], 9: ['b'], b: 1, a: 2 }, n: 1e21, s: 'é\u2028"\\' } }
  t.equal(recordHash(odd), computeHash(odd), 'integer-like keys and escapes')
})

t.test('records split across read chunks anywhere come out the same', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'd.jsonl')
  await fileSinkLog(t, join(dir, 's'), file, {}, 0, 12)
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  const variants: Array<[string, string | Buffer]> = [
    ['lines.jsonl', lines.join('\r\n') + '\n'],
    ['batches.jsonl', JSON.stringify(events.slice(0, 5)) + '\n' + JSON.stringify(events.slice(5)) + '\n'],
    ['pretty.json', JSON.stringify(events, null, 2)],
    ['pretty-objects.jsonl', events.map((e) => JSON.stringify(e, null, 1)).join('\n')],
    ['upload.json.gz', gzipSync(JSON.stringify(events))],
    ['utf8.jsonl', lines.map((l) => l.replace('"acme"', '"ac\u00e9m\u00e9 \u2603 \ud83d\ude00"')).join('\n') + '\n'],
    ['escapes.json', JSON.stringify(events.map((e, k) => ({ ...e, note: k % 2 === 0 ? `say "hi" \\ ${'x'.repeat(k * 40)} \\"` : '\n\t\\' })), null, 2)],
  ]
  for (const [name, content] of variants) {
    const p = join(dir, name)
    writeFileSync(p, content)
    const read = async (chunkBytes?: number): Promise<unknown[]> => {
      const out: unknown[] = []
      const bad: string[] = []
      await readLogFile({ path: p, name, bytes: statSync(p).size }, { item: (v, pos) => out.push([v, pos.line, pos.element]), malformed: (_p, m) => bad.push(m) }, chunkBytes !== undefined ? { chunkBytes } : {})
      t.same(bad, [], `${name}: nothing unreadable`)
      return out
    }
    const whole = await read()
    t.equal(whole.length, 12, `${name}: 12 records`)
    for (const n of [1, 7, 64, 333]) t.same(await read(n), whole, `${name}: ${n}-byte chunks`)
  }
})

t.test('a long record in an array is read in one pass over the chunks, whatever their size', async (t) => {
  const dir = tempDir(t)
  // 1 MB: strings with escapes and brackets, many small members, then a primitive element that
  // spans chunks (reported, not read) and a short record.
  const big = { decision_id: 'big', input: { s: '[{\\"}]'.repeat(40_000), list: Array.from({ length: 20_000 }, (_, k) => ({ k, v: `x${k}` })) } }
  const text = '[' + JSON.stringify(big) + ',\n"' + 'p'.repeat(5000) + '",\n{"decision_id":"small"}]'
  const p = join(dir, 'upload.json.gz')
  writeFileSync(p, gzipSync(text))
  const read = async (chunkBytes?: number): Promise<unknown[]> => {
    const out: unknown[] = []
    await readLogFile({ path: p, name: 'upload.json.gz', bytes: statSync(p).size }, {
      item: (v, pos) => out.push([(v as { decision_id?: string }).decision_id ?? typeof v, JSON.stringify(v).length, pos.line, pos.element]),
      malformed: (pos, m) => out.push(['malformed', pos.line, pos.element, m]),
    }, chunkBytes !== undefined ? { chunkBytes } : {})
    return out
  }
  const whole = await read()
  t.same(whole.map((r) => (r as unknown[])[0]), ['big', 'string', 'small'])
  t.equal((whole[0] as unknown[])[1], JSON.stringify(big).length, 'the long record whole')
  for (const n of [256, 4099]) t.same(await read(n), whole, `${n}-byte chunks`)
})

t.test('a line holding an array whose element names a member twice is an edit, read on either thread', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'd.jsonl')
  await fileSinkLog(t, join(dir, 's'), file, {}, 0, 3)
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  // seq 2 wrapped in an array, a forged "result" first: JSON.parse keeps the hashed (last) one
  lines[1] = '[' + lines[1]!.replace(/^\{"seq":2,/, '{"seq":2,"result":{"allow":true},') + ']'
  writeFileSync(file, lines.join('\n') + '\n')
  for (const parallel of [false, true]) {
    const r = await buildEvidence({ logs: [file], parallel })
    t.equal(r.integrity.complete, false, `parallel ${parallel}: not complete`)
    t.ok(r.integrity.findings.some((f) => f.kind === 'malformed' && /member \/result appears twice/.test(f.message)), `parallel ${parallel}: the duplicate is named`)
  }
})

t.test('forged records cannot take findings out of the period or hide what a spool lost', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const ev = (i: number, extra: Record<string, unknown> = {}) => ({ decision_id: `d${i}`, labels: { id: 'inst' }, path: 'bouncer/decision', input: { i }, result: { allow: true }, timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString().replace('Z', '000000Z'), ...extra })
  const seal = (events: Array<Record<string, unknown>>, seq = 1, prev = GENESIS_HASH) => events.map((e) => { const x = sealEvent(e, seq++, prev); prev = x.hash; return x })
  const dir = tempDir(t)
  const orig = seal(Array.from({ length: 10 }, (_, k) => ev(k + 1)))
  const period = { from: Date.parse('2025-01-01T00:00:00Z'), to: Date.parse('2025-01-02T00:00:00Z') }

  // 1. seq 5 removed; a forged seq 4 in front whose timestamp does not read ("x")
  const forged = sealEvent({ labels: { id: 'inst' }, decision_id: 'f', timestamp: 'x', shadow: { agreement: 'agree' } }, 4, 'e'.repeat(64))
  writeFileSync(join(dir, 'x.jsonl'), [forged.line, ...orig.slice(5).map((e) => e.line)].join('\n') + '\n')
  const r1 = await buildEvidence({ logs: [join(dir, 'x.jsonl')], ...period })
  t.equal(r1.integrity.complete, false, 'an unreadable time next to a gap does not take the gap out of the period')
  t.ok(r1.integrity.findings.some((f) => f.kind === 'gap' && f.in_period === true))

  // 2. a spool whose state.json acknowledges seq 0 and whose first segment (seq 1..3) is gone
  const s0 = join(dir, 'spool0')
  mkdirSync(s0)
  writeFileSync(join(s0, `seg-${'4'.padStart(20, '0')}.jsonl`), orig.slice(3, 6).map((e) => e.line + '\n').join(''))
  writeFileSync(join(s0, 'state.json'), JSON.stringify({ version: 1, instance_id: 'inst', acked_seq: 0, acked_hash: GENESIS_HASH }))
  const r2 = await buildEvidence({ logs: [s0] })
  t.equal(r2.integrity.complete, false, 'acknowledged up to 0: seq 1..3 are missing')
  t.same(r2.integrity.findings.filter((f) => f.kind === 'gap').map((f) => [f.seq, f.to_seq]), [[1, 3]])

  // 3. a spool of forged records all below the acknowledged point
  const s1 = join(dir, 'spool1')
  mkdirSync(s1)
  writeFileSync(join(s1, `seg-${'50'.padStart(20, '0')}.jsonl`), seal([50, 51, 52, 53].map((i) => ev(i)), 50, 'e'.repeat(64)).map((e) => e.line + '\n').join(''))
  writeFileSync(join(s1, 'state.json'), JSON.stringify({ version: 1, instance_id: 'inst', acked_seq: 100, acked_hash: 'c'.repeat(64) }))
  const r3 = await buildEvidence({ logs: [s1] })
  t.equal(r3.integrity.complete, false, 'records end before the acknowledged point')
  t.same(r3.integrity.findings.filter((f) => f.kind === 'gap').map((f) => [f.seq, f.to_seq]), [[54, 100]])

  // 4. the record at the acknowledged point, not the first one read, is not the one acknowledged
  const s2 = join(dir, 'spool2')
  mkdirSync(s2)
  writeFileSync(join(s2, `seg-${'1'.padStart(20, '0')}.jsonl`), orig.slice(0, 6).map((e) => e.line + '\n').join(''))
  writeFileSync(join(s2, 'state.json'), JSON.stringify({ version: 1, instance_id: 'inst', acked_seq: 4, acked_hash: 'c'.repeat(64) }))
  const r4 = await buildEvidence({ logs: [s2] })
  t.ok(r4.integrity.findings.some((f) => f.kind === 'link' && f.seq === 4), 'seq 4 is not the acknowledged record')

  // 5. one spool, labels.id changed at a restart (seq 1..10 under one id, 11..15 under another),
  // everything delivered: intact, whichever chain the records go to
  const relabelled = seal(Array.from({ length: 15 }, (_, k) => ev(k + 1, k >= 10 ? { labels: { id: 'inst-renamed' } } : {})))
  const s3 = join(dir, 'spool3')
  mkdirSync(s3)
  writeFileSync(join(s3, `seg-${'1'.padStart(20, '0')}.jsonl`), relabelled.map((e) => e.line + '\n').join(''))
  writeFileSync(join(s3, 'state.json'), JSON.stringify({ version: 1, instance_id: 'inst', acked_seq: 15, acked_hash: relabelled[14]!.hash }))
  const r5 = await buildEvidence({ logs: [s3] })
  t.same(r5.integrity.findings.filter((f) => f.kind === 'gap' || f.kind === 'link'), [], 'no gap: the records reach the acknowledged point under the new id')

  // 6. an export read first does not excuse the spool read after it
  const s4 = join(dir, 'spool4')
  mkdirSync(s4)
  writeFileSync(join(s4, `seg-${'1'.padStart(20, '0')}.jsonl`), orig.slice(0, 8).map((e) => e.line + '\n').join(''))
  writeFileSync(join(s4, 'state.json'), JSON.stringify({ version: 1, instance_id: 'inst', acked_seq: 10, acked_hash: orig[9]!.hash }))
  writeFileSync(join(dir, 'early.jsonl'), orig.slice(0, 5).map((e) => e.line).join('\n') + '\n')
  for (const logs of [[s4, join(dir, 'early.jsonl')], [join(dir, 'early.jsonl'), s4]]) {
    const r6 = await buildEvidence({ logs })
    t.same(r6.integrity.findings.filter((f) => f.kind === 'gap').map((f) => [f.seq, f.to_seq]), [[9, 10]], `${logs.map((l) => l.split('/').pop()).join(', ')}: seq 9..10 not in the spool`)
  }

  // 7. the same removal, with a self-hashed record under another labels.id appended above it
  const s5 = join(dir, 'spool5')
  mkdirSync(s5)
  const above = sealEvent({ ...ev(11), labels: { id: 'other' } }, 11, orig[9]!.hash)
  writeFileSync(join(s5, `seg-${'1'.padStart(20, '0')}.jsonl`), [...orig.slice(0, 8).map((e) => e.line), above.line].map((l) => l + '\n').join(''))
  writeFileSync(join(s5, 'state.json'), JSON.stringify({ version: 1, instance_id: 'inst', acked_seq: 10, acked_hash: orig[9]!.hash }))
  const r7 = await buildEvidence({ logs: [s5] })
  t.equal(r7.integrity.complete, false, 'a record above the removed ones does not continue the spool')
  t.same(r7.integrity.findings.filter((f) => f.kind === 'gap').map((f) => [f.seq, f.to_seq]), [[9, 10]])
})

t.test('a spool given before an export of its chain\'s start: read after it, not as a restart', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const dir = tempDir(t)
  const recs: Array<{ line: string; hash: string }> = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= 15; seq++) {
    const s = sealEvent({ decision_id: `d${seq}`, labels: { id: 'x' }, timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString().replace('Z', '000000Z'), result: { allow: true } }, seq, prev)
    recs.push(s)
    prev = s.hash
  }
  const spool = join(dir, 'spool')
  mkdirSync(spool)
  // delivered up to 12; the segments before seq 11 deleted
  writeFileSync(join(spool, `seg-${'11'.padStart(20, '0')}.jsonl`), recs.slice(10).map((l) => l.line + '\n').join(''))
  writeFileSync(join(spool, 'state.json'), JSON.stringify({ version: 1, instance_id: 'x', acked_seq: 12, acked_hash: recs[11]!.hash }))
  writeFileSync(join(dir, 'export.jsonl'), recs.slice(0, 12).map((l) => l.line).join('\n') + '\n')
  for (const logs of [[spool, join(dir, 'export.jsonl')], [join(dir, 'export.jsonl'), spool]]) {
    const r = await buildEvidence({ logs })
    t.equal(r.integrity.complete, true, logs.map((l) => l.split('/').pop()).join(', '))
    t.same(r.integrity.findings.map((f) => f.kind), [])
  }
})

t.test('many declared gaps: each is checked against an index of the markers, with the same findings', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const dir = tempDir(t)
  const lines: string[] = []
  let prev = GENESIS_HASH
  let seq = 1
  const ts = '2025-01-01T00:00:01.000000000Z'
  for (let k = 0; k < 3000; k++) {
    const e = sealEvent({ decision_id: `e${k}`, labels: { id: 'x' }, timestamp: ts, result: { allow: true } }, seq, prev)
    const dropped = sealEvent({ decision_id: `d${k}`, labels: { id: 'x' }, timestamp: ts }, seq + 1, e.hash)
    // every 1000th marker's to_hash is forged: the record after its gap does not link to it
    const toHash = k % 1000 === 999 ? 'f'.repeat(64) : dropped.hash
    const m = sealEvent({ decision_id: `m${k}`, labels: { id: 'x' }, timestamp: ts, drop: { reason: 'spool_full', from_seq: seq + 1, to_seq: seq + 1, count: 1, from_prev_hash: e.hash, to_hash: toHash } }, seq + 2, dropped.hash)
    lines.push(e.line, m.line)
    prev = m.hash
    seq += 3
  }
  writeFileSync(join(dir, 'x.jsonl'), lines.join('\n') + '\n')
  const r = await buildEvidence({ logs: [join(dir, 'x.jsonl')] })
  const kinds = (k: string) => r.integrity.findings.filter((f) => f.kind === k)
  t.equal(kinds('drop').length, 3000)
  t.equal(kinds('gap').length, 0, 'every gap is declared')
  t.same(kinds('link').map((f) => f.seq), [3 * 999 + 3, 3 * 1999 + 3, 3 * 2999 + 3], 'the forged markers')
})

t.test('chain fields that are not hex are malformed records, not edits', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'd.jsonl')
  await fileSinkLog(t, join(dir, 's'), file, {}, 0, 6)
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  const tamper = (i: number, f: (o: Record<string, unknown>) => void): void => { const o = JSON.parse(lines[i]!) as Record<string, unknown>; f(o); lines[i] = JSON.stringify(o) }
  tamper(2, (o) => { o.hash = 'X'.repeat(64) })
  tamper(4, (o) => { o.prev_hash = 'g'.repeat(64) })
  writeFileSync(file, lines.join('\n') + '\n')
  const r = await buildEvidence({ logs: [file] })
  const bad = r.integrity.findings.filter((f) => f.kind === 'malformed')
  t.same(bad.map((f) => f.at), ['d.jsonl:3', 'd.jsonl:5'])
  t.ok(bad.every((f) => /no valid seq \/ prev_hash \/ hash/.test(f.message)))
  t.equal(r.integrity.findings.filter((f) => f.kind === 'edit').length, 0)
  t.equal(r.integrity.complete, false)
})

t.test('integers past 2^53 keep their digits, read here or on the second thread', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'export.json')
  // A JSON line, then a line holding an array (its elements are parsed with it, no text each).
  const text = '{"seq":1,"input":{"account":9007199254740993}}\n[{"seq":2,"input":{"account":-12345678901234567890}},{"seq":3,"n":1}]\n'
  writeFileSync(path, text)
  const file = { path, name: 'export.json', bytes: statSync(path).size }
  const collect = async (read: (h: { item (v: unknown): void; malformed (): void }) => Promise<unknown>): Promise<string[]> => {
    const out: string[] = []
    await read({ item: (v) => { out.push(JSON.stringify(v)) }, malformed: () => { out.push('malformed') } })
    return out
  }
  const want = ['{"seq":1,"input":{"account":9007199254740993}}', '{"seq":2,"input":{"account":-12345678901234567890}}', '{"seq":3,"n":1}']
  t.same(await collect((h) => readLogFile(file, h, { allowTornTail: false })), want, 'here')
  const before = readerStats.inWorker
  const w = readInWorker([{ file, allowTornTail: false }])
  try {
    t.same(await collect((h) => w.read(0, file, h, { allowTornTail: false })), want, 'on the reading thread (its values cross as text)')
  } finally { await w.close() }
  t.equal(readerStats.inWorker, before + 1, 'the worker read it')
})

t.test('an edited copy of a record read before is an edit, not a re-delivered duplicate', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'd.jsonl')
  await fileSinkLog(t, join(dir, 's'), file, {}, 0, 5)
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  const copy = JSON.parse(lines[2]!) as Record<string, any>
  copy.decision_id = 'forged'
  const tampered = join(dir, 'tampered.jsonl')
  writeFileSync(tampered, [...lines, JSON.stringify(copy)].join('\n') + '\n')
  const r = await buildEvidence({ logs: [tampered] })
  const edits = r.integrity.findings.filter((f) => f.kind === 'edit')
  t.equal(edits.length, 1, 'the edited copy is named')
  t.equal(edits[0]!.seq, copy.seq)
  t.equal(r.integrity.complete, false)
  const exact = join(dir, 'again.jsonl')
  writeFileSync(exact, [...lines, lines[2]].join('\n') + '\n')
  const r2 = await buildEvidence({ logs: [exact] })
  t.same(r2.integrity.findings.filter((f) => f.kind === 'edit'), [], 'an exact copy is still a duplicate')
  t.equal(r2.integrity.complete, true)
})

t.test('a record with a member named twice is an edit (JSON.parse keeps the last, which matches the hash)', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'd.jsonl')
  await fileSinkLog(t, join(dir, 's'), file, {}, 0, 4)
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  const twice = lines[1]!.replace('"result":', '"result":"forged","result":')
  t.not(twice, lines[1])
  const tampered = join(dir, 'tampered.jsonl')
  writeFileSync(tampered, [lines[0], twice, ...lines.slice(2)].join('\n') + '\n')
  const r = await buildEvidence({ logs: [tampered] })
  const edits = r.integrity.findings.filter((f) => f.kind === 'edit')
  t.equal(edits.length, 1)
  t.equal(edits[0]!.seq, 2)
  t.equal(r.integrity.complete, false)
})

t.test('exports of one chain given late-first: the earlier records link to the later ones, no restart and nothing left out', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const dir = tempDir(t)
  const recs: Array<{ line: string; hash: string }> = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= 30; seq++) {
    const s = sealEvent({ decision_id: `d${seq}`, labels: { id: 'x' }, timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(), result: { allow: true } }, seq, prev)
    recs.push(s)
    prev = s.hash
  }
  const write = (name: string, from: number, to: number): string => {
    writeFileSync(join(dir, name), recs.slice(from - 1, to).map((l) => l.line).join('\n') + '\n')
    return join(dir, name)
  }
  const a = write('a.jsonl', 1, 10)
  const b = write('b.jsonl', 11, 20)
  const c = write('c.jsonl', 21, 30)
  const inOrder = await buildEvidence({ logs: [a, b, c] })
  t.equal(inOrder.integrity.complete, true)
  for (const logs of [[c, b, a], [b, a, c], [c, a, b], [b, c, a]]) {
    const name = logs.map((l) => l.split('/').pop()).join(', ')
    const r = await buildEvidence({ logs })
    t.same(r.integrity.findings.filter((f) => f.severity !== 'note').map((f) => f.kind), [], `${name}: no break`)
    t.equal(r.integrity.complete, true, name)
    t.equal(r.summary.decisions, 30, `${name}: every record counted`)
    t.same(r.integrity.chains.map((ch) => [ch.id, ch.first.seq, ch.last.seq, ch.records, ch.starts_at_genesis]), [['x', 1, 30, 30, true]], name)
    t.ok(r.integrity.findings.some((f) => f.kind === 'reorder'), `${name}: the order is noted`)
    t.notOk(r.integrity.findings.some((f) => f.kind === 'chain_start'), `${name}: the chain starts at seq 1 in the input`)
  }
  // four parts in every order: merged whatever came first (a front's own front included)
  const b1 = write('b1.jsonl', 11, 15)
  const b2 = write('b2.jsonl', 16, 20)
  const perms = (xs: string[]): string[][] => xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]))
  for (const logs of perms([a, b1, b2, c])) {
    const name = logs.map((l) => l.split('/').pop()).join(', ')
    const r = await buildEvidence({ logs })
    t.same(r.integrity.findings.filter((f) => f.severity !== 'note').map((f) => f.kind), [], `${name}: no break`)
    t.same([r.integrity.complete, r.summary.decisions, r.integrity.chains.length, r.integrity.chains[0]!.first.seq, r.integrity.chains[0]!.last.seq], [true, 30, 1, 1, 30], name)
    t.notOk(r.integrity.findings.some((f) => f.kind === 'chain_start'), `${name}: no chain_start note left`)
  }
  // without its start: the chain begins at seq 11 in the input (a note), whatever the order
  const r2 = await buildEvidence({ logs: [c, b] })
  t.same(r2.integrity.findings.filter((f) => f.severity !== 'note').map((f) => f.kind), [])
  t.same(r2.integrity.findings.filter((f) => f.kind === 'chain_start').map((f) => f.seq), [11])
  t.same(r2.integrity.chains.map((ch) => [ch.first.seq, ch.last.seq, ch.records]), [[11, 30, 20]])
  // the earlier part with a hole: the missing seqs are a gap (a break), the rest is counted
  const holed = join(dir, 'holed.jsonl')
  writeFileSync(holed, recs.slice(0, 10).concat(recs.slice(11, 20)).map((l) => l.line).join('\n') + '\n')
  const r3 = await buildEvidence({ logs: [c, holed] })
  t.same(r3.integrity.findings.filter((f) => f.severity === 'break').map((f) => [f.kind, f.seq, f.to_seq ?? f.seq]), [['gap', 11, 11]])
  t.equal(r3.summary.decisions, 29)
  // the earlier part stops short of the later one: nothing links them, so seq 1 on is a restart
  // (a break either way; timestamps, which a forger writes, do not decide it)
  const r4 = await buildEvidence({ logs: [c, a] })
  t.same(r4.integrity.findings.filter((f) => f.severity === 'break').map((f) => f.kind), ['restart'])
  t.equal(r4.summary.decisions, 20)
  t.equal(r4.integrity.complete, false)
  // a real restart after an export that began mid-chain: still a restart (a break)
  const other: Array<{ line: string }> = []
  let p2 = GENESIS_HASH
  for (let seq = 1; seq <= 5; seq++) {
    const s = sealEvent({ decision_id: `n${seq}`, labels: { id: 'x' }, timestamp: new Date(Date.UTC(2025, 0, 2, 0, 0, seq)).toISOString(), result: { allow: false } }, seq, p2)
    other.push(s)
    p2 = s.hash
  }
  const fresh = join(dir, 'fresh.jsonl')
  writeFileSync(fresh, other.map((l) => l.line).join('\n') + '\n')
  const r5 = await buildEvidence({ logs: [c, fresh] })
  t.same(r5.integrity.findings.filter((f) => f.severity === 'break').map((f) => f.kind), ['restart'])
  t.same(r5.integrity.chains.map((ch) => [ch.id, ch.first.seq, ch.last.seq]), [['x', 21, 30], ['x#2', 1, 5]])
  t.equal(r5.summary.decisions, 15)
  // ...and one that runs past where the export began
  const longer: Array<{ line: string }> = []
  p2 = GENESIS_HASH
  for (let seq = 1; seq <= 25; seq++) {
    const s = sealEvent({ decision_id: `m${seq}`, labels: { id: 'x' }, timestamp: new Date(Date.UTC(2025, 0, 2, 0, 0, seq)).toISOString(), result: { allow: false } }, seq, p2)
    longer.push(s)
    p2 = s.hash
  }
  writeFileSync(fresh, longer.map((l) => l.line).join('\n') + '\n')
  const r6 = await buildEvidence({ logs: [c, fresh] })
  t.same(r6.integrity.findings.filter((f) => f.severity === 'break').map((f) => f.kind), ['restart'])
  t.same(r6.integrity.chains.map((ch) => [ch.id, ch.first.seq, ch.last.seq, ch.records]), [['x', 21, 30, 10], ['x#2', 1, 25, 25]])
  t.equal(r6.summary.decisions, 35)
})

t.test('forged records cannot use the late-first reading: a marker declares only seqs before it, a seq-1 front links or is a restart, a chain_start is always listed', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const dir = tempDir(t)
  const T = (s: number): string => new Date(Date.UTC(2025, 0, 1) + s * 1000).toISOString()
  const chainOf = (id: string, from: number, to: number, ts: (seq: number) => string): Array<{ line: string; hash: string; prev: string }> => {
    const out: Array<{ line: string; hash: string; prev: string }> = []
    let prev = GENESIS_HASH
    for (let seq = 1; seq <= to; seq++) {
      const s = sealEvent({ decision_id: `${id}${seq}`, labels: { id }, timestamp: ts(seq), path: 'bouncer/decision', input: {}, result: { allow: true } }, seq, prev)
      if (seq >= from) out.push({ ...s, prev })
      prev = s.hash
    }
    return out
  }
  // The real chain x: seq 100..300, all inside the period; 1..99 are not in the input.
  const real = chainOf('x', 100, 300, (s) => T(100_000 + s))
  const realFile = join(dir, 'real.jsonl')
  writeFileSync(realFile, real.map((r) => r.line).join('\n') + '\n')
  // A forger's seq 1..4 under x dated before the period, and at seq 5 a "drop marker" declaring
  // seq 4..99 up to the real seq 100 (whose prev_hash is public).
  let prev = GENESIS_HASH
  const forged: string[] = []
  for (let seq = 1; seq <= 4; seq++) {
    const s = sealEvent({ decision_id: `f${seq}`, labels: { id: 'x' }, timestamp: T(seq), path: 'bouncer/decision', input: {}, result: { allow: true } }, seq, prev)
    forged.push(s.line)
    prev = s.hash
  }
  forged.push(sealEvent({ decision_id: 'm', labels: { id: 'x' }, timestamp: T(5), drop: { reason: 'spool_full', from_seq: 4, to_seq: 99, count: 96, from_prev_hash: prev, to_hash: real[0]!.prev } }, 5, prev).line)
  const forgedFile = join(dir, 'forged.jsonl')
  writeFileSync(forgedFile, forged.join('\n') + '\n')
  const from = Date.parse(T(50_000))
  const to = Date.parse(T(200_000))
  for (const logs of [[realFile], [realFile, forgedFile], [forgedFile, realFile]]) {
    const name = logs.map((l) => l.split('/').pop()).join(', ')
    const r = await buildEvidence({ logs, from, to })
    t.equal(r.integrity.complete, false, `${name}: not complete`)
  }
  const r1 = await buildEvidence({ logs: [forgedFile, realFile] })
  t.ok(r1.integrity.findings.some((f) => f.kind === 'malformed' && /not all before it/.test(f.message)), 'the marker declaring later seqs is refused')
  t.ok(r1.integrity.findings.some((f) => f.kind === 'gap' && f.seq === 6 && f.to_seq === 99), 'and the seqs it claimed are a gap')
  const r2 = await buildEvidence({ logs: [realFile, forgedFile] })
  t.ok(r2.integrity.findings.some((f) => f.kind === 'restart'), 'a seq-1 front that does not link is a restart, whatever its times')
  const v = await verifyLog(forgedFile)
  t.equal(v.ok, false)
  t.match(v.break?.message ?? '', /drop marker declaring seq 4\.\.99, which are not all before it/)

  // 10,001 other pods (a new_chain note each) read before the chain: its chain_start note is
  // listed past the notes' limit, and leaves the period incomplete (it was dropped unlisted)
  const pods = join(dir, 'pods.jsonl')
  writeFileSync(pods, Array.from({ length: 10_001 }, (_, i) => chainOf(`pod-${i}`, 1, 1, () => T(100_001))[0]!.line).join('\n') + '\n')
  const late = join(dir, 'late.jsonl')
  writeFileSync(late, real.slice(100).map((r) => r.line).join('\n') + '\n')
  const early = join(dir, 'early.jsonl')
  writeFileSync(early, real.slice(0, 100).map((r) => r.line).join('\n') + '\n')
  for (const logs of [[pods, realFile], [late, pods, early]]) {
    const r = await buildEvidence({ logs, from, to })
    t.same(r.integrity.findings.filter((f) => f.kind === 'chain_start').map((f) => [f.chain, f.seq, f.severity]), [['x', 100, 'uncovered']], logs.map((l) => l.split('/').pop()).join(', '))
    t.equal(r.integrity.complete, false)
  }
})

t.test('a log read newest first: each record taken below the chain at once, one reorder note', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const dir = tempDir(t)
  const lines: string[] = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= 3000; seq++) {
    const s = sealEvent({ decision_id: `d${seq}`, labels: { id: 'x' }, timestamp: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(), result: { allow: true } }, seq, prev)
    lines.push(s.line)
    prev = s.hash
  }
  const file = join(dir, 'newest-first.jsonl')
  writeFileSync(file, [...lines].reverse().join('\n') + '\n')
  const r = await buildEvidence({ logs: [file] })
  t.equal(r.integrity.complete, true)
  t.equal(r.summary.decisions, 3000)
  t.same(r.integrity.findings.map((f) => [f.kind, f.seq, f.to_seq]), [['reorder', 1, 2999]])
  t.same(r.integrity.chains.map((c) => [c.first.seq, c.last.seq, c.records, c.starts_at_genesis]), [[1, 3000, 3000, true]])
})

t.test('exports cut anywhere and given in any order read as the one intact chain; a removal among them is still found', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const dir = tempDir(t)
  const N = 60
  const recs: string[] = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= N; seq++) {
    const s = sealEvent({ decision_id: `d${seq}`, labels: { id: 'x' }, timestamp: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(), result: { allow: true } }, seq, prev)
    recs.push(s.line)
    prev = s.hash
  }
  // a deterministic generator: the same cuts and orders on every run
  let state = 12345
  const rand = (n: number): number => { state = (state * 1103515245 + 12345) % 2147483648; return state % n }
  const write = (name: string, lines: string[]): string => { writeFileSync(join(dir, name), lines.join('\n') + '\n'); return join(dir, name) }
  // the five parts a review found merged out of their order (c, b2, a, b3, b1), then random ones
  const parts: Array<Array<[number, number]>> = [[[31, 60], [26, 28], [1, 10], [29, 30], [11, 25]]]
  for (let k = 0; k < 40; k++) {
    const cuts = new Set<number>()
    const n = 2 + rand(6)
    while (cuts.size < n - 1) cuts.add(1 + rand(N - 1))
    const bounds = [0, ...[...cuts].sort((a, b) => a - b), N]
    const ps: Array<[number, number]> = []
    for (let i = 0; i + 1 < bounds.length; i++) ps.push([bounds[i]! + 1, bounds[i + 1]!])
    for (let i = ps.length - 1; i > 0; i--) { const j = rand(i + 1); [ps[i], ps[j]] = [ps[j]!, ps[i]!] }
    parts.push(ps)
  }
  for (const [k, ps] of parts.entries()) {
    const name = ps.map(([a, b]) => `${a}..${b}`).join(', ')
    const logs = ps.map(([a, b], i) => write(`p${k}-${i}.jsonl`, recs.slice(a - 1, b)))
    const r = await buildEvidence({ logs })
    t.same([r.integrity.complete, r.summary.decisions, r.integrity.chains.map((c) => [c.id, c.first.seq, c.last.seq, c.records])], [true, N, [['x', 1, N, N]]], name)
    // the same parts less seq 17..19: never complete. A gap there, or, when the records before
    // the hole come after those beyond it (nothing then links seq 1..16 to the chain), a restart.
    const holed = ps.map(([a, b], i) => write(`h${k}-${i}.jsonl`, recs.slice(a - 1, b).filter((_, j) => a + j < 17 || a + j > 19)))
    const h = await buildEvidence({ logs: holed })
    const breaks = h.integrity.findings.filter((f) => f.severity === 'break').map((f) => `${f.kind} ${f.seq}..${f.to_seq ?? f.seq}`)
    t.equal(h.integrity.complete, false, `${name}, less 17..19`)
    t.ok(breaks.length === 1 && (breaks[0] === 'gap 17..19' || breaks[0] === 'restart 1..1'), `${name}, less 17..19: ${breaks.join('; ')}`)
    t.equal(h.summary.decisions, N - 3)
  }
})

t.test('two daily exports of 100 pods given late-first: every pod\'s chain is whole, no restart', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const dir = tempDir(t)
  const pods = Array.from({ length: 100 }, (_, i) => {
    const out: string[] = []
    let prev = GENESIS_HASH
    for (let seq = 1; seq <= 20; seq++) {
      const s = sealEvent({ decision_id: `p${i}-${seq}`, labels: { id: `pod-${i}` }, timestamp: new Date(Date.UTC(2025, 0, 1) + seq * 60_000 + i).toISOString(), result: { allow: true } }, seq, prev)
      out.push(s.line)
      prev = s.hash
    }
    return out
  })
  const day = (a: number, b: number): string[] => { const out: string[] = []; for (let s = a; s <= b; s++) for (const p of pods) out.push(p[s - 1]!); return out }
  writeFileSync(join(dir, 'day1.jsonl'), day(1, 10).join('\n') + '\n')
  writeFileSync(join(dir, 'day2.jsonl'), day(11, 20).join('\n') + '\n')
  const r = await buildEvidence({ logs: [join(dir, 'day2.jsonl'), join(dir, 'day1.jsonl')] })
  t.equal(r.integrity.complete, true)
  t.equal(r.integrity.chains.length, 100)
  t.ok(r.integrity.chains.every((c) => c.first.seq === 1 && c.last.seq === 20 && c.records === 20))
  t.same(r.integrity.findings.filter((f) => f.severity !== 'note'), [])
})

t.test('a finding made under a front is filed under the chain it merges into', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const dir = tempDir(t)
  const chainOf = (id: string, n: number): string[] => {
    const out: string[] = []
    let prev = GENESIS_HASH
    for (let seq = 1; seq <= n; seq++) {
      const s = sealEvent({ decision_id: `${id}${seq}`, labels: { id }, timestamp: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(), result: { allow: true } }, seq, prev)
      out.push(s.line)
      prev = s.hash
    }
    return out
  }
  const y = chainOf('y', 20)
  const x = chainOf('x', 10)
  const edited = y[1]!.replace('"allow":true', '"allow":false')
  writeFileSync(join(dir, 'f1.jsonl'), [...y.slice(10), ...x.slice(1)].join('\n') + '\n')
  writeFileSync(join(dir, 'f2.jsonl'), [y[0]!, edited, x[0]!, ...y.slice(2, 10)].join('\n') + '\n')
  const r = await buildEvidence({ logs: [join(dir, 'f1.jsonl'), join(dir, 'f2.jsonl')] })
  t.same(r.integrity.chains.map((c) => c.id).sort(), ['x', 'y'])
  t.same(r.integrity.findings.filter((f) => f.kind === 'edit').map((f) => [f.chain, f.seq]), [['y', 2]])
})

t.test('overlapping exports read out of order: a record sent twice is a duplicate, however far apart its copies are read', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const dir = tempDir(t)
  const recs: string[] = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= 400; seq++) {
    const s = sealEvent({ decision_id: `d${seq}`, labels: { id: 'x' }, timestamp: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(), result: { allow: true } }, seq, prev)
    recs.push(s.line)
    prev = s.hash
  }
  const write = (name: string, a: number, b: number): string => { writeFileSync(join(dir, name), recs.slice(a - 1, b).join('\n') + '\n'); return join(dir, name) }
  // a gap while reading (1..7, then 23..30), then the middle re-sending seq 7
  const r1 = await buildEvidence({ logs: [write('a.jsonl', 1, 7), write('c.jsonl', 23, 30), write('b.jsonl', 7, 22)] })
  t.same([r1.integrity.complete, r1.summary.decisions, r1.integrity.duplicates_skipped], [true, 30, 1])
  // a front merged, then the same export again
  const late = write('late.jsonl', 301, 400)
  const early = write('early.jsonl', 1, 300)
  const r2 = await buildEvidence({ logs: [late, early, early] })
  t.same([r2.integrity.complete, r2.summary.decisions, r2.integrity.duplicates_skipped], [true, 400, 300])
  // 140 two-record parts in an order that opens fronts one after another (never more than two
  // open at once): their depth is counted from the links as they are now
  const M = 140
  const order = [M, M - 2]
  for (let j = 0; ; j++) {
    const lo = M - 4 - 2 * j
    const hi = M - 1 - 2 * j
    if (lo >= 1) order.push(lo)
    if (hi >= 1) order.push(hi)
    if (lo < 1 && hi < 1) break
  }
  const longer: string[] = []
  prev = GENESIS_HASH
  for (let seq = 1; seq <= 2 * M; seq++) {
    const s = sealEvent({ decision_id: `e${seq}`, labels: { id: 'y' }, timestamp: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(), result: { allow: true } }, seq, prev)
    longer.push(s.line)
    prev = s.hash
  }
  const files = order.map((k, i) => { const f = join(dir, `p${i}.jsonl`); writeFileSync(f, longer.slice(2 * (k - 1), 2 * k).join('\n') + '\n'); return f })
  const r3 = await buildEvidence({ logs: files })
  t.same([r3.integrity.complete, r3.summary.decisions], [true, 2 * M])
})

t.test('a large front merged, then an overlapping export of the newest records: re-sent copies, not breaks', async (t) => {
  const dir = tempDir(t)
  const N = 40_000
  const lines = await sealedLines(N)
  const write = (name: string, a: number, b: number): string => { writeFileSync(join(dir, name), lines.slice(a - 1, b).join('\n') + '\n'); return join(dir, name) }
  const later = write('later.jsonl', 20_001, N)
  const earlier = write('earlier.jsonl', 1, 20_000)
  const again = write('again.jsonl', 39_000, N)
  const r = await buildEvidence({ logs: [later, earlier, again] })
  t.same([r.integrity.complete, r.summary.decisions, r.integrity.duplicates_skipped], [true, N, 1001])
  // read newest first, then the same newest records again
  const backwards = join(dir, 'backwards.jsonl')
  writeFileSync(backwards, [...lines].reverse().join('\n') + '\n')
  const r2 = await buildEvidence({ logs: [backwards, again] })
  t.same([r2.integrity.complete, r2.summary.decisions, r2.integrity.duplicates_skipped], [true, N, 1001])
})

t.test('a front merged into its chain hands over its newest hashes: a batch re-sent across the join is a duplicate, not a break', async (t) => {
  // Review, session 54: the merge kept the front's oldest hashes, and a batch re-sent across the
  // join of an intact log of more than 16,384 records was "too far back to compare".
  const N = 20_000
  const lines = await sealedLines(N)
  // Files given one by one keep their order: the later half first, then the earlier, then a
  // batch re-sent across their join. The earlier half's newest hashes are the ones kept.
  const files = join(tempDir(t), 'files')
  mkdirSync(files)
  const put = (name: string, a: number, b: number): string => { writeFileSync(join(files, name), lines.slice(a - 1, b).join('\n') + '\n'); return join(files, name) }
  const late = put('late.jsonl', 10_001, N)
  const early = put('early.jsonl', 1, 10_000)
  const across = put('across.jsonl', 9_990, 10_010)
  const rf = await buildEvidence({ logs: [late, early, across] })
  t.same([rf.integrity.complete, rf.summary.decisions, rf.integrity.duplicates_skipped], [true, N, 21], 'a batch re-sent across the join of a merged front')
})

t.test('uploads either side of a declared drop, given late-first: joined through the marker, one chain, the drop reported', async (t) => {
  const { sealEvent, GENESIS_HASH } = await import('../../src/decision-log/index.js')
  const dir = tempDir(t)
  // seq 1..420; 100..150 dropped (spool full) and declared by a marker at seq 400, as the logger
  // writes it: from the last record delivered (99) to the last one dropped (150)
  const hashes: string[] = [GENESIS_HASH]
  const lines = new Map<number, string>()
  for (let seq = 1; seq <= 420; seq++) {
    const ev: Record<string, unknown> = seq === 400
      ? { decision_id: 'm', labels: { id: 'x' }, timestamp: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(), drop: { reason: 'spool_full', from_seq: 100, to_seq: 150, count: 51, from_prev_hash: hashes[99], to_hash: hashes[150] } }
      : { decision_id: `d${seq}`, labels: { id: 'x' }, timestamp: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(), result: { allow: true } }
    const s = sealEvent(ev, seq, hashes[seq - 1]!)
    hashes.push(s.hash)
    if (seq < 100 || seq > 150) lines.set(seq, s.line)
  }
  const write = (name: string, a: number, b: number): string => {
    const out: string[] = []
    for (let q = a; q <= b; q++) if (lines.has(q)) out.push(lines.get(q)!)
    writeFileSync(join(dir, name), out.join('\n') + '\n')
    return join(dir, name)
  }
  const a = write('a.jsonl', 1, 99)
  const b = write('b.jsonl', 151, 420)
  for (const logs of [[a, b], [b, a]]) {
    const name = logs.map((l) => l.split('/').pop()).join(', ')
    const r = await buildEvidence({ logs })
    t.same(r.integrity.findings.filter((f) => f.severity !== 'note').map((f) => [f.kind, f.severity, f.seq, f.to_seq]), [['drop', 'loss', 100, 150]], name)
    t.same(r.integrity.chains.map((c) => [c.id, c.first.seq, c.last.seq, c.records]), [['x', 1, 420, 369]], name)
  }
  // the same front without the marker's edge matching (its last record is not the one declared before the drop): a restart
  const a2 = write('a2.jsonl', 1, 98)
  const r2 = await buildEvidence({ logs: [b, a2] })
  t.ok(r2.integrity.findings.some((f) => f.kind === 'restart'), 'a front that stops short of the declared range is not joined')
})
