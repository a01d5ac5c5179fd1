// verify-log against tampered exports and spools: each kind of tampering is named, with the
// seq where the chain breaks; declared drops are accepted; re-serialised exports still verify.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import { main as verifyLogCli } from '../../src/cli/verify-log.js'
import { computeHash, DecisionLogger, GENESIS_HASH, sealEvent, verifyLog } from '../../src/decision-log/index.js'
import type { DropDeclaration } from '../../src/decision-log/event.js'
import { sampleInput, tempDir } from './fixtures/control-plane.js'

/** n sealed lines, seq 1..n, as the file sink or a control plane would export them. */
function chain (n: number, start = { seq: 0, hash: GENESIS_HASH }): string[] {
  const lines: string[] = []
  let head = start
  for (let i = 0; i < n; i++) {
    const s = sealEvent({ decision_id: `d${head.seq + 1}`, path: 'envoy/authz/allow', input: { i: head.seq + 1 }, result: { allow: true }, labels: { id: 'x' }, timestamp: '2024-01-01T00:00:00.000000000Z' }, head.seq + 1, head.hash)
    lines.push(s.line)
    head = { seq: s.seq, hash: s.hash }
  }
  return lines
}

function file (t: Test, lines: string[], name = 'export.jsonl'): string {
  const f = join(tempDir(t), name)
  writeFileSync(f, lines.join('\n') + '\n')
  return f
}

const edit = (line: string, f: (e: Record<string, any>) => void, rehash = false): string => {
  const e = JSON.parse(line) as Record<string, any>
  f(e)
  if (rehash) e.hash = computeHash(e)
  return JSON.stringify(e)
}

t.test('an intact export verifies', async (t) => {
  const r = await verifyLog(file(t, chain(10)))
  t.ok(r.ok)
  t.match(r, { kind: 'export', records: 10, decisions: 10, markers: 0, first_seq: 1, last_seq: 10 })
})

t.test('a record read again exactly as checked (a batch delivered twice) is skipped, not a break', async (t) => {
  const l = chain(10)
  const resent = [...l.slice(0, 8), ...l.slice(4, 8), ...l.slice(8)] // seq 5..8 twice, as a re-sent upload
  const r = await verifyLog(file(t, resent))
  t.equal(r.ok, true)
  t.equal(r.duplicates_skipped, 4)
  t.equal(r.records, 10)
  const adjacent = await verifyLog(file(t, [...l.slice(0, 5), l[4]!, ...l.slice(5)]))
  t.equal(adjacent.ok, true, 'the same record twice in a row')
  t.equal(adjacent.duplicates_skipped, 1)
})

t.test('tampering is named with the seq of the first break', async (t) => {
  const cases: Array<[string, (l: string[]) => string[], number, string, RegExp]> = [
    ['edited field', (l) => { l[4] = edit(l[4]!, (e) => { e.result.allow = false }); return l }, 5, 'edit', /content does not match its hash/],
    ['edited and re-hashed', (l) => { l[4] = edit(l[4]!, (e) => { e.result.allow = false }, true); return l }, 6, 'link', /prev_hash is not the hash of seq 5/],
    ['removed', (l) => { l.splice(4, 1); return l }, 6, 'gap', /seq 5\.\.5 are missing/],
    ['removed several', (l) => { l.splice(3, 3); return l }, 7, 'gap', /seq 4\.\.6 are missing/],
    ['swapped', (l) => { [l[4], l[5]] = [l[5]!, l[4]!]; return l }, 6, 'reorder', /seq 6 follows seq 4, but seq 5 appears later/],
    ['moved back', (l) => { const [x] = l.splice(2, 1); l.push(x!); return l }, 4, 'reorder', /seq 4 follows seq 2, but seq 3 appears later/],
    ['a second version of a seq', (l) => { l.splice(7, 0, edit(l[4]!, (e) => { e.result.allow = false }, true)); return l }, 5, 'reorder', /seq 5 comes after seq 7/],
    ['chain restarted', (l) => [...l, ...chain(2).map((x) => edit(x, (e) => { e.timestamp = '2024-01-02T00:00:00.000000000Z' }, true))], 1, 'restart', /restarts at seq 1/],
    ['seq renumbered', (l) => { l[4] = edit(l[4]!, (e) => { e.seq = 50 }, true); return l }, 50, 'reorder', /seq 50 follows seq 4, but seq 6 appears later/],
    ['last removed, seq renumbered', (l) => { l[8] = edit(l[8]!, (e) => { e.seq = 50 }, true); l.pop(); return l }, 50, 'gap', /seq 9\.\.49 are missing/],
    ['not JSON', (l) => { l[6] = l[6]!.slice(0, 40); return l }, 0, 'malformed', /export\.jsonl:7: not valid JSON/],
    ['chain fields stripped', (l) => { l[2] = edit(l[2]!, (e) => { delete e.prev_hash }); return l }, 3, 'malformed', /valid seq \/ prev_hash \/ hash/],
    ['bad genesis', (l) => { l[0] = edit(l[0]!, (e) => { e.prev_hash = '1'.repeat(64) }, true); return l }, 1, 'link', /genesis/],
  ]
  for (const [name, tamper, seq, reason, message] of cases) {
    const r = await verifyLog(file(t, tamper(chain(10))))
    t.equal(r.ok, false, `${name}: detected`)
    t.equal(r.break?.reason, reason, `${name}: reason ${reason}`)
    if (seq > 0) t.equal(r.break?.seq, seq, `${name}: at seq ${seq}`)
    t.match(r.break?.message, message, `${name}: message`)
  }
})

t.test('re-serialised exports verify: batches per line, one array, gzip, a directory of batch files', async (t) => {
  const lines = chain(9)
  const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  const pretty = events.map((e) => Object.fromEntries(Object.entries(e).reverse()))
  const dir = tempDir(t)
  const batches = join(dir, 'batches.jsonl')
  writeFileSync(batches, [pretty.slice(0, 4), pretty.slice(4)].map((b) => JSON.stringify(b)).join('\n'))
  t.ok((await verifyLog(batches)).ok, 'one JSON array per line, keys reordered')
  const arr = join(dir, 'all.json.gz')
  writeFileSync(arr, gzipSync(JSON.stringify(pretty, null, 2)))
  t.ok((await verifyLog(arr)).ok, 'one gzip\'d pretty-printed array')
  const exports = join(dir, 'exports')
  mkdirSync(exports)
  writeFileSync(join(exports, '001.json'), JSON.stringify(events.slice(0, 3)))
  writeFileSync(join(exports, '002.json'), JSON.stringify(events.slice(3, 6)))
  writeFileSync(join(exports, '003.json.gz'), gzipSync(JSON.stringify(events.slice(6))))
  writeFileSync(join(exports, 'README.txt'), 'not an export')
  const r = await verifyLog(exports)
  t.ok(r.ok)
  t.equal(r.records, 9)
  t.equal(r.files.length, 3, 'other files ignored')
})

t.test('declared drops are accepted when the marker joins the chain on both sides', async (t) => {
  const lines = chain(10)
  const ev = lines.map((l) => JSON.parse(l) as Record<string, any>)
  // Drop 4..6 and chain a marker after 10, as the logger does.
  const marker = sealEvent({ decision_id: 'm', labels: { id: 'x' }, timestamp: '2024-01-01T00:00:00.000000000Z', drop: { reason: 'spool_full', from_seq: 4, to_seq: 6, count: 3, from_prev_hash: ev[2].hash, to_hash: ev[5].hash } }, 11, ev[9].hash)
  const kept = [...lines.slice(0, 3), ...lines.slice(6), marker.line]
  const r = await verifyLog(file(t, kept))
  t.ok(r.ok, 'declared gap is fine')
  t.match(r, { records: 8, decisions: 7, markers: 1 })
  t.match(r.declared_drops, [{ from_seq: 4, to_seq: 6, count: 3, reason: 'spool_full' }])
  // Intact is not complete: the CLI says so, with its own exit status (a marker needs no secret).
  const out: string[] = []
  t.equal(await verifyLogCli([file(t, kept)], { stdout: (s: string) => { out.push(s) }, stderr: () => {} }), 3, 'exit status 3: intact, losses declared')
  t.match(out.join(''), /INCOMPLETE: drop markers declare 3 lost event\(s\)/)

  const lying = sealEvent({ decision_id: 'm', labels: {}, timestamp: 'x', drop: { reason: 'spool_full', from_seq: 4, to_seq: 6, count: 3, from_prev_hash: ev[2].hash, to_hash: 'f'.repeat(64) } }, 11, ev[9].hash)
  const r2 = await verifyLog(file(t, [...lines.slice(0, 3), ...lines.slice(6), lying.line]))
  t.equal(r2.break?.reason, 'link', 'a marker that does not match the dropped range is caught')
  t.equal(r2.break?.seq, 7)

  const partial = sealEvent({ decision_id: 'm', labels: {}, timestamp: 'x', drop: { reason: 'spool_full', from_seq: 4, to_seq: 5, count: 2, from_prev_hash: ev[2].hash, to_hash: ev[4].hash } }, 11, ev[9].hash)
  const r3 = await verifyLog(file(t, [...lines.slice(0, 3), ...lines.slice(6), partial.line]))
  t.equal(r3.break?.reason, 'gap', 'an undeclared part of a gap is still a gap')
  t.match(r3.break?.message, /seq 6\.\.6 are missing/)
})

t.test('a marker\'s also ranges (lost markers\' ranges declared again) declare gaps as its own range does, and are checked the same way', async (t) => {
  const lines = chain(20)
  const ev = lines.map((l) => JSON.parse(l) as Record<string, any>)
  // 4..6 dropped and declared by a marker that was itself lost; 8..9 delivered meanwhile; 11..13
  // dropped: the next marker declares 10..13 and, in also, 4..6 again.
  const also = [{ from_seq: 4, to_seq: 6, from_prev_hash: ev[2].hash, to_hash: ev[5].hash }]
  const marker = (a: unknown[]) => sealEvent({ decision_id: 'm', labels: { id: 'x' }, timestamp: '2024-01-01T00:00:00.000000000Z', drop: { reason: 'spool_full', from_seq: 10, to_seq: 13, count: 7, from_prev_hash: ev[8].hash, to_hash: ev[12].hash, also: a } }, 21, ev[19].hash).line
  const kept = (m: string) => [...lines.slice(0, 3), ...lines.slice(6, 9), ...lines.slice(13), m]
  const r = await verifyLog(file(t, kept(marker(also))))
  t.ok(r.ok, r.break?.message ?? 'both gaps declared')
  t.same(r.declared_drops.map((d) => [d.from_seq, d.to_seq, d.count]), [[4, 6, 0], [10, 13, 7]], 'listed; the count is the marker\'s')
  const { buildEvidence } = await import('../../src/evidence/index.js')
  const e = await buildEvidence({ logs: [file(t, kept(marker(also)), 'e.jsonl')] })
  t.same(e.integrity.findings.filter((f) => f.severity === 'break'), [], 'evidence: no break')
  t.equal(e.integrity.decisions_dropped, 7)
  t.match(e.integrity.findings.find((f) => f.kind === 'drop')?.message, /and again, from lost markers: 4\.\.6/)

  // Without it, 4..6 is a removal.
  const none = await verifyLog(file(t, kept(marker([]))))
  t.equal(none.break?.reason, 'gap')
  t.match(none.break?.message, /seq 4\.\.6 are missing/)
  // An also range must join the chain like any declaration...
  const lying = await verifyLog(file(t, kept(marker([{ ...also[0], to_hash: 'f'.repeat(64) }]))))
  t.equal(lying.break?.reason, 'link')
  // ...and declares only seqs before its marker: one reaching past it excuses nothing.
  const late = await verifyLog(file(t, kept(marker([{ from_seq: 4, to_seq: 40, from_prev_hash: ev[2].hash, to_hash: ev[5].hash }]))))
  t.equal(late.break?.reason, 'gap')
  // A marker without a valid range of its own declares nothing, its also included: verify-log
  // read its also while evidence called the marker malformed (review, session 54).
  const ownless = (drop: Record<string, unknown>) => sealEvent({ decision_id: 'm', labels: { id: 'x' }, timestamp: '2024-01-01T00:00:00.000000000Z', drop: { reason: 'spool_full', count: 0, also, ...drop } }, 21, ev[19].hash).line
  const keptAlso = (m: string) => [...lines.slice(0, 3), ...lines.slice(6), m] // only 4..6 missing
  t.ok((await verifyLog(file(t, keptAlso(ownless({ from_seq: 10, to_seq: 10, from_prev_hash: ev[8].hash, to_hash: ev[9].hash }))))).ok, 'with a valid own range, its also declares 4..6')
  for (const [what, drop] of [['no range', {}], ['from after to', { from_seq: 13, to_seq: 12 }]] as const) {
    const v = await verifyLog(file(t, keptAlso(ownless(drop))))
    t.equal(v.ok, false, `${what}: the also declares nothing`)
    t.equal(v.break?.reason, 'gap')
  }
})

async function spoolWithEvents (t: Test, n: number): Promise<string> {
  const dir = join(tempDir(t), 'spool')
  // A sink that never takes anything: events stay in the spool.
  const lg = new DecisionLogger({ spool_dir: dir, sinks: ['console'], segment_max_bytes: 4096, max_bytes: 1 << 20, min_delay_seconds: 3600, max_delay_seconds: 3600 },
    { sink: { kind: 'none', batchBytes: () => 1 << 20, send: async () => ({ ok: false, error: 'down' }), probe: async () => ({ ok: false, error: 'down' }), close: async () => {} } })
  await lg.start()
  for (let i = 0; i < n; i++) lg.record({ path: 'envoy/authz/allow', input: sampleInput(i), result: true })
  await lg.stop(0)
  return dir
}

t.test('a spool verifies, and tampering with it is named', async (t) => {
  const dir = await spoolWithEvents(t, 30)
  const segs = readdirSync(dir).filter((n) => n.startsWith('seg-')).sort()
  t.ok(segs.length >= 3, `${segs.length} segments`)
  const ok = await verifyLog(dir)
  t.match(ok, { ok: true, kind: 'spool', records: 30, acked_seq: 0, undelivered: 30 })

  // Flip one character of an event in the middle of the second segment.
  const seg = join(dir, segs[1]!)
  const original = readFileSync(seg, 'utf8')
  const lines = original.split('\n')
  const victim = JSON.parse(lines[1]!) as { seq: number }
  writeFileSync(seg, original.replace(lines[1]!, lines[1]!.replace('"allow"', '"alloW"').replace('req-', 'REQ-')))
  const edited = await verifyLog(dir)
  t.equal(edited.break?.reason, 'edit')
  t.equal(edited.break?.seq, victim.seq)
  t.match(edited.break?.message, new RegExp(`^${segs[1]}:2: `), 'names the segment file and line')
  writeFileSync(seg, original)

  // Delete a whole segment.
  unlinkSync(seg)
  const removed = await verifyLog(dir)
  t.equal(removed.break?.reason, 'gap')
  t.equal(removed.break?.seq, victim.seq + lines.filter(Boolean).length - 1, 'the first seq after the missing segment')
})

t.test('a torn last line in a spool is reported but is not a break', async (t) => {
  const dir = await spoolWithEvents(t, 5)
  const seg = join(dir, readdirSync(dir).filter((n) => n.startsWith('seg-')).sort().pop()!)
  appendFileSync(seg, '{"seq":6,"prev_hash":"00')
  const r = await verifyLog(dir)
  t.ok(r.ok)
  t.equal(r.torn_tail, true)
  t.equal(r.records, 5)
})

t.test('verify-log CLI: exit status and report', async (t) => {
  const out: string[] = []
  const err: string[] = []
  const io = { stdout: (s: string) => { out.push(s) }, stderr: (s: string) => { err.push(s) } }
  const good = file(t, chain(4))
  t.equal(await verifyLogCli([good], io), 0)
  t.match(out.join(''), /^OK: 1 file\(s\), 4 record\(s\) \(4 decision\(s\), 0 drop marker\(s\)\), seq 1\.\.4\nhead hash: [0-9a-f]{64}\n$/)

  out.length = 0
  const lines = chain(6)
  lines[2] = edit(lines[2]!, (e) => { e.input.i = 999 })
  t.equal(await verifyLogCli([file(t, lines)], io), 1)
  t.match(out.join(''), /^BROKEN at seq 3: edit\n {2}export\.jsonl:3: seq 3: content does not match its hash/)

  out.length = 0
  t.equal(await verifyLogCli([good, '--json'], io), 0)
  t.match(JSON.parse(out.join('')), { ok: true, records: 4 })

  t.equal(await verifyLogCli([], io), 2)
  t.equal(await verifyLogCli(['--frobnicate', good], io), 2)
  t.equal(await verifyLogCli([join(tempDir(t), 'missing.jsonl')], io), 2)
  t.match(err.join(''), /cannot read .*missing\.jsonl/)

  // An emptied export verifies nothing: its own exit status, not "OK".
  out.length = 0
  t.equal(await verifyLogCli([file(t, [], 'empty.jsonl')], io), 4, 'an empty file: exit 4')
  t.match(out.join(''), /^EMPTY: 1 file\(s\), no records: nothing was verified \(exit status 4\)\n$/)
  t.notMatch(out.join(''), /OK/, 'no line says OK')
  out.length = 0
  t.equal(await verifyLogCli([file(t, [], 'empty2.jsonl'), '--json'], io), 4)
  t.match(JSON.parse(out.join('')), { records: 0, empty: true }, '--json says empty too')
  const emptyDir = tempDir(t)
  t.equal(await verifyLogCli([emptyDir], io), 4, 'a directory with no export in it: exit 4')
  // A spool whose records were all delivered and deleted holds none, and that is its normal state.
  const spool = tempDir(t)
  const lg = new DecisionLogger({ spool_dir: spool, sinks: ['console'], console: { write: () => {} } } as never)
  await lg.start()
  await lg.stop(1000)
  t.equal(await verifyLogCli([spool], io), 0, 'an empty spool: exit 0')
})

t.test('an export that starts after a drop: the declared loss is reported (exit 3) and the start is said to be unanchored', async (t) => {
  const lines = chain(30)
  const ev = lines.map((l) => JSON.parse(l) as Record<string, any>)
  // The control plane never got 1..20 (dropped while it was away); the marker after 30 says so.
  const marker = sealEvent({ decision_id: 'm', labels: { id: 'x' }, timestamp: '2024-01-01T00:00:00.000000000Z', drop: { reason: 'spool_full', from_seq: 1, to_seq: 20, count: 20, from_prev_hash: GENESIS_HASH, to_hash: ev[19].hash } }, 31, ev[29].hash)
  const copy = [...lines.slice(20), marker.line, marker.line]
  const r = await verifyLog(file(t, copy))
  t.ok(r.ok, 'the chain that is there holds together')
  t.match(r, { first_seq: 21, anchored: 'none', first_prev_hash: ev[19].hash })
  t.same(r.declared_drops.map((d) => [d.from_seq, d.to_seq, d.count]), [[1, 20, 20]], 'the marker\'s declaration, once')
  const out: string[] = []
  const io = { stdout: (s: string) => { out.push(s) }, stderr: () => {} }
  t.equal(await verifyLogCli([file(t, copy)], io), 3, 'exit 3: losses declared (it was 0)')
  t.match(out.join(''), /INCOMPLETE: drop markers declare 20 lost event\(s\)/)
  t.match(out.join(''), new RegExp(`NOT ANCHORED: the first record is seq 21, not seq 1.*prev_hash ${ev[19].hash}`))

  // The head cut off: nothing in the input can show it, so verify-log says it cannot.
  out.length = 0
  const cut = lines.slice(5)
  t.equal(await verifyLogCli([file(t, cut)], io), 0)
  t.match(out.join(''), /NOT ANCHORED: the first record is seq 6/)
  out.length = 0
  t.equal(await verifyLogCli([file(t, lines)], io), 0)
  t.notMatch(out.join(''), /NOT ANCHORED/, 'a chain from seq 1 is anchored by the genesis hash')
  t.equal((await verifyLog(file(t, lines))).anchored, 'genesis')
})

t.test('a top-level "__proto__" member added to a stored record is an edit (consumers outside JavaScript read it)', async (t) => {
  const lines = chain(4)
  const smuggled = lines[2]!.slice(0, -1) + ',"__proto__":{"result":{"allow":true},"comment":"approved"}}'
  t.equal(JSON.parse(smuggled).__proto__.comment, 'approved', 'JSON.parse keeps it as an own member')
  const r = await verifyLog(file(t, [lines[0]!, lines[1]!, smuggled, lines[3]!]))
  t.equal(r.break?.reason, 'edit')
  t.equal(r.break?.seq, 3)
})

t.test('a member named twice in a record is an edit: JSON.parse keeps the last, other readers the first', async (t) => {
  const lines = chain(4)
  const e = JSON.parse(lines[2]!) as Record<string, any>
  // The hashed record's result stays last (what JSON.parse and the hash see); a first-wins reader sees allow: false.
  const twice = lines[2]!.replace('"result":', '"result":{"allow":false},"result":')
  t.same(JSON.parse(twice).result, e.result, 'JSON.parse sees the record as hashed')
  const r = await verifyLog(file(t, [lines[0]!, lines[1]!, twice, lines[3]!]))
  t.equal(r.break?.reason, 'malformed')
  t.match(r.break?.message, /export\.jsonl:3: member \/result appears twice/)
  const nested = lines[1]!.replace('"input":{"i":2}', '"input":{"i":2,"\\u0069":2}')
  t.not(nested, lines[1], 'the nested copy is in place')
  t.match((await verifyLog(file(t, [lines[0]!, nested]))).break?.message, /member \/input\/i appears twice/, 'nested, and compared decoded')
  const arrayFile = file(t, [`[${lines[0]},${twice.replace('"seq":3', '"seq":3')}]`], 'upload.json')
  t.match((await verifyLog(arrayFile)).break?.message, /element 1: member \/result appears twice/, 'in an upload body saved as one array')
})

t.test('an intact record holding an empty object before a string in a list verifies (the duplicate check once threw on it)', async (t) => {
  const s = sealEvent({ decision_id: 'd1', path: 'p', input: { parsed_body: [{}, 'x'] }, result: { allow: true }, labels: { id: 'x' }, timestamp: '2024-01-01T00:00:00.000000000Z' }, 1, GENESIS_HASH)
  const r = await verifyLog(file(t, [s.line]))
  t.ok(r.ok, r.break?.message ?? 'intact')
  t.equal(r.records, 1)
})

t.test('declared gaps: the indexed check answers as a scan of every declaration would, on random declarations', async (t) => {
  const { indexDeclarations, checkDeclaredGap } = await import('../../src/decision-log/verify.js')
  type D = DropDeclaration
  // The reference: every declaration that touches the gap, walked in from_seq order.
  const reference = (from: number, to: number, before: string, after: string, declared: D[]): string | null => {
    const covering = declared.filter((d) => d.to_seq >= from && d.from_seq <= to).sort((a, b) => a.from_seq - b.from_seq)
    let next = from
    for (const d of covering) { if (d.from_seq > next) break; next = Math.max(next, d.to_seq + 1) }
    if (next <= to) return `gap ${next}`
    const start = covering.find((d) => d.from_seq === from)
    if (start !== undefined && start.from_prev_hash !== before) return `link start ${start.to_seq}`
    const end = covering.find((d) => d.to_seq === to)
    if (end !== undefined && end.to_hash !== after) return 'link end'
    return null
  }
  let seed = 7
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return (seed >>> 16) % n }
  const hashes = ['a', 'b'].map((c) => c.repeat(64))
  const outcomes = new Set<string>()
  for (let trial = 0; trial < 3000; trial++) {
    const declared: D[] = Array.from({ length: rnd(6) }, () => {
      const from = 1 + rnd(20)
      return { from_seq: from, to_seq: from + rnd(8) - 1, from_prev_hash: hashes[rnd(2)]!, to_hash: hashes[rnd(2)]!, reason: 'spool_full', count: 1 }
    })
    const index = indexDeclarations(declared)
    for (let g = 0; g < 4; g++) {
      // half the gaps are (or start inside) a declared range, so covered gaps come up too
      const near = declared.length > 0 && rnd(2) === 0 ? declared[rnd(declared.length)]! : null
      const from = near !== null ? near.from_seq + rnd(2) : 1 + rnd(20)
      const to = near !== null ? Math.max(from, near.to_seq) : from + rnd(6)
      const before = hashes[rnd(2)]!
      const after = hashes[rnd(2)]!
      const want = reference(from, to, before, after, declared)
      const brk = checkDeclaredGap(from, to, before, after, index)
      const got = brk === null ? null : brk.reason === 'gap' ? `gap ${/seq (\d+)\./.exec(brk.message)![1]}` : /continue from/.test(brk.message) ? `link start ${/\.\.(\d+)/.exec(brk.message)![1]}` : 'link end'
      if (got !== want) { t.fail(`declarations ${JSON.stringify(declared)}, gap ${from}..${to}: ${got} ≠ ${want}`); return }
      outcomes.add(want === null ? 'ok' : want.startsWith('gap') ? 'gap' : want.startsWith('link start') ? 'link start' : 'link end')
    }
  }
  t.same([...outcomes].sort(), ['gap', 'link end', 'link start', 'ok'], 'every outcome came up')
})

t.test('an export of many declared gaps verifies (each gap is one lookup, not a pass over every marker)', async (t) => {
  const dir = tempDir(t)
  const lines: string[] = []
  let prev = GENESIS_HASH
  let seq = 1
  for (let k = 0; k < 3000; k++) {
    const e = sealEvent({ decision_id: `e${k}`, labels: {}, timestamp: 't' }, seq, prev)
    const dropped = sealEvent({ decision_id: `d${k}`, labels: {}, timestamp: 't' }, seq + 1, e.hash)
    const m = sealEvent({ decision_id: `m${k}`, labels: {}, timestamp: 't', drop: { reason: 'spool_full', from_seq: seq + 1, to_seq: seq + 1, count: 1, from_prev_hash: e.hash, to_hash: dropped.hash } }, seq + 2, dropped.hash)
    lines.push(e.line, m.line)
    prev = m.hash
    seq += 3
  }
  writeFileSync(join(dir, 'export.jsonl'), lines.join('\n') + '\n')
  const r = await verifyLog(join(dir, 'export.jsonl'))
  t.equal(r.ok, true)
  t.equal(r.markers, 3000)
  t.equal(r.declared_drops.length, 3000)
  // one marker's to_hash altered (and re-sealed): the gap it declares no longer joins the chain
  const k = 1500
  const bad = JSON.parse(lines[2 * k + 1]!) as Record<string, unknown> & { drop: Record<string, unknown> }
  const forged = sealEvent({ decision_id: bad.decision_id, labels: {}, timestamp: 't', drop: { ...bad.drop, to_hash: 'f'.repeat(64) } }, bad.seq as number, bad.prev_hash as string)
  lines[2 * k + 1] = forged.line
  writeFileSync(join(dir, 'export.jsonl'), lines.join('\n') + '\n')
  const r2 = await verifyLog(join(dir, 'export.jsonl'))
  t.equal(r2.break?.reason, 'link')
  t.equal(r2.break?.seq, 3 * k + 3)
})

t.test('a declaration reaching past 2^53 ends the coverage walk (adding one no longer moves it)', async (t) => {
  const { indexDeclarations, checkDeclaredGap } = await import('../../src/decision-log/verify.js')
  const h = 'a'.repeat(64)
  const big = 2 ** 53
  const brk = checkDeclaredGap(2, big + 2, h, h, indexDeclarations([{ reason: 'spool_full', from_seq: 2, to_seq: big, count: 1, from_prev_hash: h, to_hash: h }]))
  t.equal(brk?.reason, 'gap')
})

t.test('a spool is checked against its acknowledged point: state.json must hold one, and the records must reach it', async (t) => {
  const lines = chain(10)
  const spool = (name: string, first: number, recs: string[], state: unknown): string => {
    const d = join(tempDir(t), name)
    mkdirSync(d)
    writeFileSync(join(d, `seg-${String(first).padStart(20, '0')}.jsonl`), recs.map((l) => l + '\n').join(''))
    writeFileSync(join(d, 'state.json'), JSON.stringify(state))
    return d
  }
  const hashOf = (i: number) => (JSON.parse(lines[i - 1]!) as { hash: string }).hash
  // seq 1..3 deleted; state.json without a usable acknowledged point
  for (const state of [{}, { acked_seq: '0', acked_hash: GENESIS_HASH }, { acked_seq: 0 }, { acked_seq: 1.5, acked_hash: GENESIS_HASH }]) {
    const r = await verifyLog(spool('s', 4, lines.slice(3, 6), state))
    t.equal(r.break?.reason, 'malformed', `${JSON.stringify(state)} is refused`)
    t.match(r.break?.message, /state\.json: acked_seq \/ acked_hash missing or invalid/)
  }
  const zero = await verifyLog(spool('z', 4, lines.slice(3, 6), { acked_seq: 0, acked_hash: GENESIS_HASH }))
  t.equal(zero.break?.reason, 'gap', 'acknowledged up to 0: seq 1..3 are missing')
  // records that end before the acknowledged point
  const below = await verifyLog(spool('b', 1, lines.slice(0, 5), { acked_seq: 8, acked_hash: hashOf(8) }))
  t.equal(below.break?.reason, 'gap')
  t.match(below.break?.message, /end at seq 5, but state\.json acknowledges seq 8: seq 6\.\.8 are not in the spool \(removed, or lost to a power loss/)
  // the acknowledged record inside the spool (not its first line) must be the acknowledged one
  const other = await verifyLog(spool('o', 1, lines.slice(0, 6), { acked_seq: 4, acked_hash: 'c'.repeat(64) }))
  t.equal(other.break?.reason, 'link')
  t.equal(other.break?.seq, 4)
  const good = await verifyLog(spool('g', 1, lines.slice(0, 6), { acked_seq: 4, acked_hash: hashOf(4) }))
  t.equal(good.ok, true)
  t.equal(good.undelivered, 2)
})

t.test('a file that decompresses past what verify-log can hold is refused by name, without filling memory', async (t) => {
  const dir = tempDir(t)
  // ten gzip members of 64 MiB of zeros each (about 64 KB apiece): 640 MiB once decompressed
  const member = gzipSync(Buffer.alloc(64 * 2 ** 20))
  writeFileSync(join(dir, 'bomb.jsonl.gz'), Buffer.concat(Array.from({ length: 10 }, () => member)))
  const r = await verifyLog(join(dir, 'bomb.jsonl.gz'))
  t.equal(r.break?.reason, 'malformed')
  t.match(r.break?.message, /bomb\.jsonl\.gz: more than 512 MiB once decompressed; verify-log reads a file whole/)
})

t.test('a directory of upload batches whose names do not sort as they were sent verifies (checked by first seq); a restart is still one', async (t) => {
  const dir = join(tempDir(t), 'exports')
  mkdirSync(dir)
  const chain = (tag: string, n: number): string[] => {
    const out: string[] = []
    let prev = GENESIS_HASH
    for (let seq = 1; seq <= n; seq++) {
      const s = sealEvent({ decision_id: `${tag}${seq}`, labels: { id: 'x' }, timestamp: '2025-01-01T00:00:00Z', result: { allow: true } }, seq, prev)
      out.push(s.line)
      prev = s.hash
    }
    return out
  }
  const lines = chain('d', 30)
  // upload ids: the name order is 2nd, 3rd, 1st batch
  writeFileSync(join(dir, '3f2a.jsonl'), lines.slice(10, 20).join('\n') + '\n')
  writeFileSync(join(dir, '9c01.jsonl'), lines.slice(20).join('\n') + '\n')
  writeFileSync(join(dir, 'e7b4.jsonl'), lines.slice(0, 10).join('\n') + '\n')
  const r = await verifyLog(dir)
  t.ok(r.ok, r.break?.message ?? 'verifies')
  t.same([r.first_seq, r.last_seq, r.records], [1, 30, 30])
  // a second chain from seq 1 under the same id (spool state lost), whatever the names
  writeFileSync(join(dir, '0000.jsonl'), chain('n', 5).join('\n') + '\n')
  const r2 = await verifyLog(dir)
  t.equal(r2.ok, false)
  t.equal(r2.break?.reason, 'restart', r2.break?.message ?? 'restart')
})

t.test('a directory of exports with an unreadable line: the break is that line, not the seqs of the files left unread', async (t) => {
  const dir = join(tempDir(t), 'exports')
  mkdirSync(dir)
  const lines: string[] = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= 30; seq++) {
    const s = sealEvent({ decision_id: `d${seq}`, labels: { id: 'x' }, timestamp: '2025-01-01T00:00:00Z', result: { allow: true } }, seq, prev)
    lines.push(s.line)
    prev = s.hash
  }
  writeFileSync(join(dir, 'a.jsonl'), lines.slice(20).join('\n') + '\n')
  writeFileSync(join(dir, 'b.jsonl'), [...lines.slice(0, 5), '{not json', ...lines.slice(5, 10)].join('\n') + '\n')
  writeFileSync(join(dir, 'c.jsonl'), lines.slice(10, 20).join('\n') + '\n')
  const r = await verifyLog(dir)
  t.equal(r.ok, false)
  t.equal(r.break?.reason, 'malformed', r.break?.message ?? 'malformed')
  t.match(r.break?.file ?? '', /b\.jsonl$/)
})
