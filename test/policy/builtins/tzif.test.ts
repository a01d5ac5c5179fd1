// Zones from the tz database's TZif files, found and read as Go's time.LoadLocation does, so the
// time.* builtins print the abbreviations OPA prints ("CET", "JST") rather than Intl's ("+01").
//
// Expectations were checked independently of this code: the system zones against Python's
// zoneinfo (its own TZif reader; 312 zones x 60 random instants, 1811-2286, all equal), `zdump -v`
// and `TZ=... date` (glibc); the synthetic footers against glibc's TZ parser (`TZ='<rule>' date
// -d @sec`) at each transition; instants before the first transition and the wall-time
// resolution (Date) against Go's own rules and test cases (lookupFirstZone, time_test.go's
// dateTests), since Python and glibc pick differently there.
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { E, table, V } from './helpers.js'
import { clearZoneCache, fromCivil, loadZone, toCivil } from '../../../src/policy/builtins/tz.js'
import { parseTzif, setZoneSources } from '../../../src/policy/builtins/tzif.js'
import { formatCivil } from '../../../src/policy/builtins/golayout.js'

const S = 1_000_000_000n

/** A TZif file: types [offset, isDST, abbreviation], transitions [when, type]; version 2 (64-bit block and footer) or 1. */
function tzif (o: { types: Array<[number, boolean, string]>, trans: Array<[number, number]>, footer?: string, version?: 1 | 2 }): Buffer {
  const chars: number[] = []
  const at: number[] = []
  for (const [, , n] of o.types) { at.push(chars.length); chars.push(...Buffer.from(n), 0) }
  const block = (size: 4 | 8): Buffer => {
    const b: number[] = []
    const u32 = (v: number): void => { const x = Buffer.alloc(4); x.writeUInt32BE(v); b.push(...x) }
    for (const n of [0, 0, 0, o.trans.length, o.types.length, chars.length]) u32(n)
    for (const [w] of o.trans) {
      const x = Buffer.alloc(size)
      if (size === 4) x.writeInt32BE(w); else x.writeBigInt64BE(BigInt(w))
      b.push(...x)
    }
    for (const [, i] of o.trans) b.push(i)
    o.types.forEach(([off, dst], i) => { const x = Buffer.alloc(4); x.writeInt32BE(off); b.push(...x, dst ? 1 : 0, at[i]) })
    b.push(...chars)
    return Buffer.from(b)
  }
  const head = (v: number): Buffer => Buffer.concat([Buffer.from('TZif'), Buffer.from([v]), Buffer.alloc(15)])
  if (o.version === 1) return Buffer.concat([head(0), block(4)])
  // the 32-bit block is left empty: Go skips it by its counts and reads the 64-bit one
  return Buffer.concat([head(0x32), Buffer.alloc(24), head(0x32), block(8), Buffer.from(`\n${o.footer ?? ''}\n`)])
}

/** "2006-01-02 15:04:05 MST -07:00:00" of an instant (seconds) in a zone. */
const show = (sec: number, zone: string): string => formatCivil(toCivil(BigInt(sec) * S, loadZone(zone)), '2006-01-02 15:04:05 MST -07:00:00')

/** Runs fn with $ZONEINFO and the system directories replaced, then restores both and the zone cache. */
async function withSources<T> (zoneinfo: string | undefined, dirs: string[] | undefined, fn: () => Promise<T> | T): Promise<T> {
  const saved = process.env.ZONEINFO
  if (zoneinfo === undefined) delete process.env.ZONEINFO
  else process.env.ZONEINFO = zoneinfo
  setZoneSources(dirs)
  clearZoneCache()
  try {
    return await fn()
  } finally {
    if (saved === undefined) delete process.env.ZONEINFO
    else process.env.ZONEINFO = saved
    setZoneSources()
    clearZoneCache()
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'bouncer-tzif-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))

t.test('system zones: tz database abbreviations and offsets, as Go prints them', async t => {
  // the system directories only, whatever $ZONEINFO the test runs with
  await withSources(undefined, undefined, () => table(t, [
    // Intl's short names outside the US are numeric ("+01", "GMT+9"); the tz database's are not
    ['time.format([1765000000000000000, "Europe/Paris", "2006-01-02 15:04 MST"])', V('2025-12-06 06:46 CET')],
    ['time.format([1750000000000000000, "Europe/Paris", "2006-01-02 15:04 MST -07:00"])', V('2025-06-15 17:06 CEST +02:00')],
    ['time.format([1765000000000000000, "Asia/Tokyo", "2006-01-02 15:04 MST"])', V('2025-12-06 14:46 JST')],
    ['time.format([1765000000000000000, "Australia/Sydney", "2006-01-02 15:04 MST"])', V('2025-12-06 16:46 AEDT')],
    ['time.format([1750000000000000000, "Australia/Sydney", "2006-01-02 15:04 MST"])', V('2025-06-16 01:06 AEST')],
    ['time.format([1765000000000000000, "Asia/Kolkata", "2006-01-02 15:04 MST"])', V('2025-12-06 11:16 IST')],
    ['time.format([1765000000000000000, "America/New_York", "2006-01-02 15:04 MST"])', V('2025-12-06 00:46 EST')],
    ['time.format([1750000000000000000, "America/New_York", "2006-01-02 15:04 MST"])', V('2025-06-15 11:06 EDT')],
    // after the files' last transition (2037): the footer rule ("CET-1CEST,M3.5.0,M10.5.0/3", ...)
    ['time.format([4119724800000000000, "Europe/Paris", "2006-01-02 15:04:05 MST -07:00"])', V('2100-07-20 02:00:00 CEST +02:00')],
    ['time.format([7274534400000000000, "America/New_York", "2006-01-02 15:04:05 MST"])', V('2200-07-09 20:00:00 EDT')],
    ['time.format([7258982400000000000, "Australia/Sydney", "2006-01-02 15:04:05 MST"])', V('2200-01-11 11:00:00 AEDT')],
    // before the first transition: local mean time, to the second
    ['time.format([-3000000000000000000, "Europe/Paris", "2006-01-02 15:04:05 MST -07:00:00"])', V('1874-12-07 18:49:21 LMT +00:09:21')],
    ['time.format([-3000000000000000000, "America/New_York", "2006-01-02 15:04:05 MST -07:00:00"])', V('1874-12-07 13:43:58 LMT -04:56:02')],
    ['time.clock([-3000000000000000000, "Europe/Paris"])', V([18, 49, 21])],
    // history: Paris on Western European Summer Time in 1938, India's war time, London's BST
    ['time.format([-1000000000000000000, "Europe/Paris", "2006-01-02 15:04:05 MST"])', V('1938-04-24 23:13:20 WEST')],
    ['time.format([-800000000000000000, "Asia/Kolkata", "2006-01-02 15:04:05 MST -07:00"])', V('1944-08-26 00:16:40 +0630 +06:30')],
    ['time.format([-3000000000000000000, "Asia/Kolkata", "2006-01-02 15:04:05 MST"])', V('1874-12-08 00:01:10 MMT')],
    ['time.format([-700000000000000000, "Europe/London", "2006-01-02 15:04:05 MST"])', V('1947-10-27 04:33:20 BST')],
    ['time.date([-3000000000000000000, "America/New_York"])', V([1874, 12, 7])],
    // Go's Date for a wall time in the spring-forward gap: 02:30 the next day is 01:30 EST
    ['time.add_date([1709969400000000000, "America/New_York"], 0, 0, 1)', V(1710052200000000000)],
    // names Go refuses before looking anything up
    ['time.date([0, "../etc/passwd"])', E(/^eval_builtin_error: time\.date: time: invalid location name$/)],
    ['time.format([0, "/etc/localtime", "MST"])', E(/^eval_builtin_error: time\.format: time: invalid location name$/)],
    ['time.clock([0, "\\\\etc"])', E(/^eval_builtin_error: time\.clock: time: invalid location name$/)],
    ['time.clock([0, "Europe/..Paris"])', E(/time: invalid location name$/)],
    // a directory of the database is no zone
    ['time.clock([0, "Europe"])', E(/^eval_builtin_error: time\.clock: unknown time zone Europe$/)],
  ]))
})

t.test("Go's Date resolution of wall times (time_test.go's dateTests, Local = America/Los_Angeles)", async t => {
  await withSources(undefined, undefined, () => {
    const la = loadZone('America/Los_Angeles')
    const cases: Array<[number[], number, string]> = [
      [[2011, 11, 6, 1, 0, 0], 1320566400, '1:00:00 PDT (ambiguous: the first)'],
      [[2011, 11, 6, 1, 59, 59], 1320569999, '1:59:59 PDT'],
      [[2011, 11, 6, 2, 0, 0], 1320573600, '2:00:00 PST'],
      [[2011, 3, 13, 1, 0, 0], 1300006800, '1:00:00 PST'],
      [[2011, 3, 13, 1, 59, 59], 1300010399, '1:59:59 PST'],
      [[2011, 3, 13, 3, 0, 0], 1300010400, '3:00:00 PDT'],
      [[2011, 3, 13, 2, 30, 0], 1300008600, '2:30:00 PDT ≡ 1:30 PST (in the gap)'],
      [[2011, 11, 19, -17, 56, 35], 1321631795, 'Nov 19 -17:56:35'],
    ]
    for (const [[y, mo, d, h, mi, s], want, what] of cases) t.equal(fromCivil(y, mo, d, h, mi, s, 0, la), BigInt(want) * S, what)
  })
})

t.test('footer TZ strings as Go reads them (synthetic zones in $ZONEINFO)', async t => {
  const dir = join(tmp, 'footers')
  mkdirSync(join(dir, 'Test'), { recursive: true })
  const one = (name: string, footer: string): void => writeFileSync(join(dir, 'Test', name), tzif({ types: [[0, false, 'ZZZ']], trans: [[0, 0]], footer }))
  one('Beyond24', 'IST-2IDT,M3.4.4/26,M10.5.0') // Jerusalem's: a rule time past 24:00
  one('Negative', '<-02>2<-01>,M3.5.0/-1,M10.5.0/0') // Nuuk's: a negative rule time, quoted names
  one('Julian', '<+0330>-3:30<+0430>,J79/24,J263/24') // Tehran's old rule: Jn never counts Feb 29
  one('Doy', 'XST3XDT,59/1:30:15,300') // n counts Feb 29 (day 59 of 2032 is Feb 29); h:mm:ss
  one('Southern', 'AEST-10AEDT,M10.1.0,M4.1.0/3') // daylight time across the new year
  one('Fixed', '<-0930>9:30')
  one('DefaultRules', 'EST5EDT') // no rules: tzcode's default ,M3.2.0,M11.1.0
  one('BadFooter', 'XX1') // a name under 3 letters: Go ignores the footer
  await withSources(dir, [], () => {
    // each change checked one second before and at it (glibc agrees on every one)
    const cases: Array<[string, number, string]> = [
      ['Beyond24', 1900972799, '2030-03-29 01:59:59 IST +02:00:00'],
      ['Beyond24', 1900972800, '2030-03-29 03:00:00 IDT +03:00:00'],
      ['Beyond24', 1919285999, '2030-10-27 01:59:59 IDT +03:00:00'],
      ['Beyond24', 1919286000, '2030-10-27 01:00:00 IST +02:00:00'],
      ['Negative', 1901149199, '2030-03-30 22:59:59 -02 -02:00:00'],
      ['Negative', 1901149200, '2030-03-31 00:00:00 -01 -01:00:00'],
      ['Negative', 1919293199, '2030-10-26 23:59:59 -01 -01:00:00'],
      ['Negative', 1919293200, '2030-10-26 23:00:00 -02 -02:00:00'],
      ['Julian', 1963427399, '2032-03-20 23:59:59 +0330 +03:30:00'],
      ['Julian', 1963427400, '2032-03-21 01:00:00 +0430 +04:30:00'],
      ['Julian', 1979321399, '2032-09-20 23:59:59 +0430 +04:30:00'],
      ['Julian', 1979321400, '2032-09-20 23:00:00 +0330 +03:30:00'],
      ['Doy', 1961641814, '2032-02-29 01:30:14 XST -03:00:00'],
      ['Doy', 1961641815, '2032-02-29 02:30:15 XDT -02:00:00'],
      ['Doy', 1982462399, '2032-10-27 01:59:59 XDT -02:00:00'],
      ['Doy', 1982462400, '2032-10-27 01:00:00 XST -03:00:00'],
      ['Southern', 1901721599, '2030-04-07 02:59:59 AEDT +11:00:00'],
      ['Southern', 1901721600, '2030-04-07 02:00:00 AEST +10:00:00'],
      ['Southern', 1917446399, '2030-10-06 01:59:59 AEST +10:00:00'],
      ['Southern', 1917446400, '2030-10-06 03:00:00 AEDT +11:00:00'],
      ['Fixed', 1900000000, '2030-03-17 08:16:40 -0930 -09:30:00'],
      ['DefaultRules', 1900000000, '2030-03-17 13:46:40 EDT -04:00:00'],
      ['DefaultRules', 1920000000, '2030-11-04 00:20:00 EST -05:00:00'],
      ['BadFooter', 1900000000, '2030-03-17 17:46:40 ZZZ +00:00:00'],
      // before 1970 (the one transition): the zone's only type
      ['Beyond24', -1, '1969-12-31 23:59:59 ZZZ +00:00:00'],
    ]
    for (const [zone, sec, want] of cases) t.equal(show(sec, 'Test/' + zone), want, `${zone} at ${sec}`)
  })
})

t.test("instants before the first transition: Go's lookupFirstZone", async t => {
  const dir = join(tmp, 'first')
  mkdirSync(join(dir, 'Test'), { recursive: true })
  // 1. the first type, when no transition uses it (a version 1 file: 32-bit times, no footer)
  writeFileSync(join(dir, 'Test', 'Unused'), tzif({ version: 1, types: [[-36000, false, 'AAA'], [-32400, true, 'BBB'], [-36000, false, 'CCC']], trans: [[-100000000, 1], [100000000, 2]] }))
  // 2. the first transition is to daylight time: the standard type closest before it (YST, not XST)
  writeFileSync(join(dir, 'Test', 'DstFirst'), tzif({ types: [[3600, false, 'XST'], [7200, true, 'XDT'], [14400, false, 'YST'], [18000, true, 'YDT']], trans: [[1000000000, 3], [1100000000, 0]] }))
  // 3. else the first standard type (SST, not the first transition's TST)
  writeFileSync(join(dir, 'Test', 'StdFirst'), tzif({ types: [[7200, true, 'PDT'], [3600, false, 'SST'], [10800, false, 'TST']], trans: [[0, 2], [500000000, 0]] }))
  // 4. else the first type
  writeFileSync(join(dir, 'Test', 'AllDst'), tzif({ types: [[7200, true, 'ADT'], [10800, true, 'BDT']], trans: [[0, 1], [500000000, 0]] }))
  await withSources(dir, [], () => {
    t.equal(show(-200000000, 'Test/Unused'), '1963-08-30 18:26:40 AAA -10:00:00')
    t.equal(show(0, 'Test/Unused'), '1969-12-31 15:00:00 BBB -09:00:00')
    t.equal(show(200000000, 'Test/Unused'), '1976-05-03 09:33:20 CCC -10:00:00')
    t.equal(show(999999999, 'Test/DstFirst'), '2001-09-09 05:46:39 YST +04:00:00')
    t.equal(show(1000000000, 'Test/DstFirst'), '2001-09-09 06:46:40 YDT +05:00:00')
    t.equal(show(1200000000, 'Test/DstFirst'), '2008-01-10 22:20:00 XST +01:00:00')
    t.equal(show(-1, 'Test/StdFirst'), '1970-01-01 00:59:59 SST +01:00:00')
    t.equal(show(0, 'Test/StdFirst'), '1970-01-01 03:00:00 TST +03:00:00')
    t.equal(show(-1, 'Test/AllDst'), '1970-01-01 01:59:59 ADT +02:00:00')
  })
})

t.test('where Go looks: $ZONEINFO first, then the system directories; a file that does not parse is passed over', async t => {
  const dir = join(tmp, 'zoneinfo')
  mkdirSync(join(dir, 'Europe'), { recursive: true })
  mkdirSync(join(dir, 'Asia'), { recursive: true })
  // "Europe/Paris" here is Tokyo's file: $ZONEINFO wins over /usr/share/zoneinfo
  writeFileSync(join(dir, 'Europe', 'Paris'), readFileSync('/usr/share/zoneinfo/Asia/Tokyo'))
  // a malformed "Asia/Tokyo" (TZif version 4, which Go refuses): the system's file is used
  writeFileSync(join(dir, 'Asia', 'Tokyo'), Buffer.concat([Buffer.from('TZif4'), readFileSync('/usr/share/zoneinfo/Asia/Tokyo').subarray(5)]))
  // a valid zone file just outside $ZONEINFO: "../Outside" is still refused, as Go refuses it
  writeFileSync(join(tmp, 'Outside'), readFileSync('/usr/share/zoneinfo/Asia/Tokyo'))
  await withSources(dir, undefined, () => table(t, [
    ['time.format([1765000000000000000, "Europe/Paris", "15:04 MST"])', V('14:46 JST')],
    ['time.format([1765000000000000000, "Asia/Tokyo", "15:04 MST"])', V('14:46 JST')],
    ['time.format([1765000000000000000, "Europe/Berlin", "15:04 MST"])', V('06:46 CET')],
    ['time.format([0, "../Outside", "15:04 MST"])', E(/^eval_builtin_error: time\.format: time: invalid location name$/)],
  ]))
})

t.test('no zone file (a minimal container): Intl as before', async t => {
  // $ZONEINFO unset and no system directories: nothing to read
  await withSources(undefined, [], async () => {
    await table(t, [
      ['time.format([1765000000000000000, "Europe/Paris", "2006-01-02 15:04 MST"])', V('2025-12-06 06:46 +01')],
      ['time.format([1765000000000000000, "America/New_York", "2006-01-02 15:04 MST"])', V('2025-12-06 00:46 EST')],
      ['time.clock([1765000000000000000, "Asia/Kolkata"])', V([11, 16, 40])],
      ['time.clock([0, "Mars/Olympus"])', E(/unknown time zone Mars\/Olympus$/)],
      ['time.clock([0, "../etc/passwd"])', E(/time: invalid location name$/)],
    ])
    t.equal(loadZone('Europe/Paris').lookup, undefined, 'an Intl zone')
  })
  // and a file that exists is read again once the directories are back
  await withSources(undefined, undefined, () => { t.equal(show(1765000000, 'Europe/Paris'), '2025-12-06 06:46:40 CET +01:00:00') })
})

t.test('malformed data is refused as Go refuses it', async t => {
  const good = tzif({ types: [[3600, false, 'ONE']], trans: [[0, 0]], footer: 'ONE-1' })
  t.ok(parseTzif(good), 'the well-formed file parses')
  t.equal(parseTzif(Buffer.from('TZxf' + good.toString('latin1').slice(4), 'latin1')), null, 'bad magic')
  const v4 = Buffer.from(good); v4[4] = 0x34
  t.equal(parseTzif(v4), null, 'version 4')
  t.equal(parseTzif(good.subarray(0, good.length - 12)), null, 'truncated')
  t.equal(parseTzif(tzif({ types: [], trans: [] })), null, 'no local time types')
  const badIndex = tzif({ types: [[3600, false, 'ONE']], trans: [[0, 1]] })
  t.equal(parseTzif(badIndex), null, 'a transition to a type that does not exist')
  // no transitions at all (as Etc/GMT-3): the one type throughout
  const fixed = parseTzif(tzif({ types: [[10800, false, '+03']], trans: [] }))!
  t.same([fixed.lookup(-1e10).name, fixed.lookup(1e10).offset], ['+03', 10800])
})
