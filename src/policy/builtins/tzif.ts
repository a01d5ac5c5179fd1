// Zones from the IANA tz database files (TZif, RFC 8536), found and read as Go's time.LoadLocation
// finds and reads them, so offsets and abbreviations ("CET", "JST", "AEDT") are the ones OPA prints.
//
// Where Go looks: the directory named by $ZONEINFO (if set), then the Unix system directories
// /usr/share/zoneinfo, /usr/share/lib/zoneinfo, /usr/lib/locale/TZ, /etc/zoneinfo in that order;
// the first file that reads and parses wins. (Go would then try $GOROOT's zoneinfo.zip and an
// embedded time/tzdata; we have neither: the caller falls back to Intl.)
//
// What Go does with a file: TZif versions 1, 2 and 3 (other version bytes are malformed), the
// 64-bit block when the version is 2 or more, leap-second records skipped, and the footer TZ
// string (text between two newlines after the data) for instants after the last transition.
// Instants before the first transition take the zone tzcode's localtime.c picks (the first type
// if no transition uses it, else the standard type nearest before the first transition's type,
// else the first standard type, else the first type).
import { readFileSync } from 'node:fs'

/** One local time type of a zone file. */
export interface ZoneType {
  /** seconds east of UTC */
  offset: number
  isDST: boolean
  /** abbreviation ("CET", "+0530", "LMT") */
  name: string
}

/** What a lookup finds at an instant: the type in effect and the instants bracketing it, [start, end). */
export interface ZonePeriod extends ZoneType {
  start: number
  end: number
}

/** Beginning and end of time for transitions (Go's int64 bounds; comparisons only). */
const ALPHA = -Infinity
const OMEGA = Infinity

const SECONDS_PER_DAY = 86400

/** A parsed zone file. */
export class TzifZone {
  /** `when` (seconds since the epoch) and type index of each transition, ascending */
  private readonly when: number[]
  private readonly index: number[]
  private readonly firstType: number
  private readonly rule: FooterRule | null

  constructor (readonly types: ZoneType[], when: number[], index: number[], readonly footer: string) {
    if (when.length === 0) {
      // a file without transitions (e.g. "Etc/GMT-3") gets one at the beginning of time
      when = [ALPHA]
      index = [0]
    }
    this.when = when
    this.index = index
    this.firstType = firstZoneIndex(types, index)
    this.rule = footer === '' ? null : parseFooter(footer)
  }

  /** The type in effect at `sec` (seconds since the epoch) and its range, as Go's Location.lookup. */
  lookup (sec: number): ZonePeriod {
    const when = this.when
    if (sec < when[0]) return { ...this.types[this.firstType], start: ALPHA, end: when[0] }
    // the last transition at or before sec
    let lo = 0
    let hi = when.length
    while (hi - lo > 1) {
      const m = lo + ((hi - lo) >> 1)
      if (sec < when[m]) hi = m
      else lo = m
    }
    const start = when[lo]
    const end = hi < when.length ? when[hi] : OMEGA
    if (lo === when.length - 1 && this.rule !== null) return footerLookup(this.rule, start, sec)
    return { ...this.types[this.index[lo]], start, end }
  }
}

/** The type for instants before the first transition (tzcode's localtime.c rule, as Go). */
function firstZoneIndex (types: ZoneType[], index: number[]): number {
  if (!index.includes(0)) return 0
  if (index.length > 0 && types[index[0]].isDST) {
    for (let i = index[0] - 1; i >= 0; i--) if (!types[i].isDST) return i
  }
  const std = types.findIndex(z => !z.isDST)
  return std >= 0 ? std : 0
}

// ---- reading ----

const MAX_FILE_SIZE = 10 << 20 // as Go's readFile

/** Parses TZif data; null where Go's LoadLocationFromTZData reports malformed data. */
export function parseTzif (data: Uint8Array): TzifZone | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let pos = 0
  const need = (n: number): boolean => pos + n <= data.length
  if (!need(20) || data[0] !== 0x54 || data[1] !== 0x5a || data[2] !== 0x69 || data[3] !== 0x66) return null // "TZif"
  const v = data[4]
  const version = v === 0 ? 1 : v === 0x32 ? 2 : v === 0x33 ? 3 : 0
  if (version === 0) return null
  pos = 20
  const counts = (): number[] | null => {
    if (!need(24)) return null
    const n: number[] = []
    for (let i = 0; i < 6; i++) { n.push(view.getUint32(pos)); pos += 4 }
    return n
  }
  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  let n = counts()
  if (n === null) return null
  let size = 4
  if (version > 1) {
    // skip the 32-bit block and the second header; its counts may differ
    const [isut, isstd, leap, time, type, chars] = n
    pos += time * 4 + time + type * 6 + chars + leap * 8 + isstd + isut + 20
    n = counts()
    if (n === null) return null
    size = 8
  }
  const [isut, isstd, leap, time, type, chars] = n
  const total = time * size + time + type * 6 + chars + leap * (size + 4) + isstd + isut
  if (!need(total)) return null
  const txAt = pos
  const idxAt = txAt + time * size
  const typeAt = idxAt + time
  const charAt = typeAt + type * 6
  pos += total
  // the footer: the rest, when it is "\n...\n"
  let footer = ''
  if (data.length - pos > 2 && data[pos] === 0x0a && data[data.length - 1] === 0x0a) {
    footer = Buffer.from(data.subarray(pos + 1, data.length - 1)).toString('latin1')
  }
  if (type === 0) return null
  const abbrevs = data.subarray(charAt, charAt + chars)
  const types: ZoneType[] = []
  for (let i = 0; i < type; i++) {
    const at = typeAt + i * 6
    const ai = data[at + 5]
    if (ai >= abbrevs.length) return null
    let e = ai
    while (e < abbrevs.length && abbrevs[e] !== 0) e++
    types.push({ offset: view.getInt32(at), isDST: data[at + 4] !== 0, name: Buffer.from(abbrevs.subarray(ai, e)).toString('utf8') })
  }
  const when: number[] = []
  const index: number[] = []
  for (let i = 0; i < time; i++) {
    when.push(size === 4 ? view.getInt32(txAt + i * 4) : Number(view.getBigInt64(txAt + i * 8)))
    const k = data[idxAt + i]
    if (k >= types.length) return null
    index.push(k)
  }
  return new TzifZone(types, when, index, footer)
}

/** Go's LoadLocation refuses names containing ".." or starting with "/" or "\\". */
export function isSafeZoneName (name: string): boolean {
  return !name.includes('..') && !name.startsWith('/') && !name.startsWith('\\')
}

/** The Unix directories Go's LoadLocation searches after $ZONEINFO, in its order. */
export const SYSTEM_ZONE_SOURCES: readonly string[] = ['/usr/share/zoneinfo/', '/usr/share/lib/zoneinfo/', '/usr/lib/locale/TZ/', '/etc/zoneinfo']

let sources: readonly string[] = SYSTEM_ZONE_SOURCES

/** Replaces the system directories searched after $ZONEINFO (tests); no argument restores Go's list. */
export function setZoneSources (dirs?: readonly string[]): void {
  sources = dirs ?? SYSTEM_ZONE_SOURCES
}

function readZoneFile (dir: string, name: string): Uint8Array | null {
  // a ".zip" $ZONEINFO (Go's uncompressed zoneinfo.zip) is not read here
  if (dir.length > 4 && dir.endsWith('.zip')) return null
  try {
    const data = readFileSync(dir === '' ? name : dir + '/' + name)
    return data.length > MAX_FILE_SIZE ? null : data
  } catch {
    return null // missing, a directory, unreadable, a NUL in the name
  }
}

/**
 * The zone file `name` as Go's LoadLocation finds it: $ZONEINFO first, then the system directories;
 * the first file that parses. null if there is none (or the name is one Go refuses: check
 * isSafeZoneName first to report that as Go does).
 */
export function loadTzif (name: string): TzifZone | null {
  if (name === '' || !isSafeZoneName(name)) return null
  const env = process.env.ZONEINFO ?? ''
  for (const dir of env !== '' ? [env, ...sources] : sources) {
    const data = readZoneFile(dir, name)
    if (data === null) continue
    const z = parseTzif(data)
    if (z !== null) return z
  }
  return null
}

// ---- the footer: a POSIX TZ string with tzcode's extensions, as Go's tzset reads it ----

interface Rule {
  kind: 'julian' | 'doy' | 'mwd'
  day: number
  week: number
  mon: number
  /** local time of day of the change, seconds (may be negative or beyond 24h) */
  time: number
}

interface FooterRule {
  stdName: string
  stdOffset: number
  /** absent: no daylight saving time */
  dst?: { name: string, offset: number, start: Rule, end: Rule }
}

/** A number of digits at s[i] within [min, max]: [value, next index] or null. */
function num (s: string, i: number, min: number, max: number): [number, number] | null {
  let v = 0
  const from = i
  while (i < s.length && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + (s.charCodeAt(i) - 48)
    if (v > max) return null
    i++
  }
  if (i === from || v < min) return null
  return [v, i]
}

/** A zone name: three or more characters up to a digit, sign or comma, or "<...>". */
function zoneName (s: string, i: number): [string, number] | null {
  if (i >= s.length) return null
  if (s[i] === '<') {
    const close = s.indexOf('>', i)
    return close < 0 ? null : [s.slice(i + 1, close), close + 1]
  }
  let e = i
  while (e < s.length && !/[0-9,+-]/.test(s[e])) e++
  if (e - i < 3) return null
  return [s.slice(i, e), e]
}

/** [+|-]hh[:mm[:ss]], hours up to 24*7 as tzcode allows: seconds, as written (positive west). */
function offsetOf (s: string, i: number): [number, number] | null {
  if (i >= s.length) return null
  let neg = false
  if (s[i] === '+') i++
  else if (s[i] === '-') { neg = true; i++ }
  const h = num(s, i, 0, 24 * 7)
  if (h === null) return null
  let off = h[0] * 3600
  i = h[1]
  if (s[i] === ':') {
    const m = num(s, i + 1, 0, 59)
    if (m === null) return null
    off += m[0] * 60
    i = m[1]
    if (s[i] === ':') {
      const sec = num(s, i + 1, 0, 59)
      if (sec === null) return null
      off += sec[0]
      i = sec[1]
    }
  }
  return [neg ? -off : off, i]
}

/** Jn (1..365, no Feb 29), n (0..365), or Mm.w.d; then an optional /time (default 02:00). */
function ruleOf (s: string, i: number): [Rule, number] | null {
  if (i >= s.length) return null
  const r: Rule = { kind: 'doy', day: 0, week: 0, mon: 0, time: 2 * 3600 }
  if (s[i] === 'J') {
    const d = num(s, i + 1, 1, 365)
    if (d === null) return null
    r.kind = 'julian'; r.day = d[0]; i = d[1]
  } else if (s[i] === 'M') {
    const m = num(s, i + 1, 1, 12)
    if (m === null || s[m[1]] !== '.') return null
    const w = num(s, m[1] + 1, 1, 5)
    if (w === null || s[w[1]] !== '.') return null
    const d = num(s, w[1] + 1, 0, 6)
    if (d === null) return null
    r.kind = 'mwd'; r.mon = m[0]; r.week = w[0]; r.day = d[0]; i = d[1]
  } else {
    const d = num(s, i, 0, 365)
    if (d === null) return null
    r.day = d[0]; i = d[1]
  }
  if (s[i] === '/') {
    const t = offsetOf(s, i + 1)
    if (t === null) return null
    r.time = t[0]; i = t[1]
  }
  return [r, i]
}

/** Parses a footer TZ string; null when Go's tzset would not accept it (the footer is then unused). */
export function parseFooter (s: string): FooterRule | null {
  const std = zoneName(s, 0)
  if (std === null) return null
  const so = offsetOf(s, std[1])
  if (so === null) return null
  const stdOffset = -so[0] // TZ strings give offsets west of UTC
  let i = so[1]
  const out: FooterRule = { stdName: latin1ToUtf8(std[0]), stdOffset }
  if (i >= s.length || s[i] === ',') return out
  const dst = zoneName(s, i)
  if (dst === null) return null
  i = dst[1]
  let dstOffset = stdOffset + 3600
  if (i < s.length && s[i] !== ',') {
    const o = offsetOf(s, i)
    if (o === null) return null
    dstOffset = -o[0]
    i = o[1]
  }
  let rest = s.slice(i)
  if (rest === '') rest = ',M3.2.0,M11.1.0' // tzcode's default rules
  if (rest[0] !== ',' && rest[0] !== ';') return null
  const a = ruleOf(rest, 1)
  if (a === null || rest[a[1]] !== ',') return null
  const b = ruleOf(rest, a[1] + 1)
  if (b === null || b[1] !== rest.length) return null
  out.dst = { name: latin1ToUtf8(dst[0]), offset: dstOffset, start: a[0], end: b[0] }
  return out
}

const latin1ToUtf8 = (s: string): string => Buffer.from(s, 'latin1').toString('utf8')

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const daysInMonth = (m: number, y: number): number => m === 2 && isLeap(y) ? 29 : MONTH_DAYS[m - 1]
const daysBeforeMonth = (m: number): number => MONTH_DAYS.slice(0, m - 1).reduce((a, b) => a + b, 0)

/** Year and 1-based day of the year of a day number (days since 1970-01-01), proleptic Gregorian. */
function yearAndYday (days: number): [number, number] {
  // days since 0000-03-01, in 400-year eras (H. Hinnant's civil_from_days)
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)) // from March 1
  const year = yoe + era * 400 + (doy >= 306 ? 1 : 0)
  const yday = doy >= 306 ? doy - 306 + 1 : doy + 59 + (isLeap(year) ? 1 : 0) + 1
  return [year, yday]
}

/** Seconds from the start of `year` (UTC) to the change a rule names, for a zone at offset `off`. */
function ruleTime (year: number, r: Rule, off: number): number {
  let d: number
  if (r.kind === 'julian') {
    d = r.day - 1 + (isLeap(year) && r.day >= 60 ? 1 : 0)
  } else if (r.kind === 'doy') {
    d = r.day
  } else {
    // weekday of the first of the month (Zeller's congruence, truncating as Go's integers do)
    const m1 = ((r.mon + 9) % 12) + 1
    const yy0 = r.mon <= 2 ? year - 1 : year
    const yy1 = Math.trunc(yy0 / 100)
    const yy2 = yy0 % 100
    let dow = (Math.trunc((26 * m1 - 2) / 10) + 1 + yy2 + Math.trunc(yy2 / 4) + Math.trunc(yy1 / 4) - 2 * yy1) % 7
    if (dow < 0) dow += 7
    // 0-based day of the month of the first such weekday, then the week-th (5: the last)
    d = r.day - dow
    if (d < 0) d += 7
    for (let w = 1; w < r.week && d + 7 < daysInMonth(r.mon, year); w++) d += 7
    d += daysBeforeMonth(r.mon) + (isLeap(year) && r.mon > 2 ? 1 : 0)
  }
  return d * SECONDS_PER_DAY + r.time - off
}

/** The footer's answer at `sec` (after the last transition, at `lastTx`), with Go's ranges. */
function footerLookup (f: FooterRule, lastTx: number, sec: number): ZonePeriod {
  if (f.dst === undefined) return { name: f.stdName, offset: f.stdOffset, isDST: false, start: lastTx, end: OMEGA }
  const [year, yday] = yearAndYday(Math.floor(sec / SECONDS_PER_DAY))
  // as Go: the remainder truncates (only differs before 1970, where footers hardly apply)
  const ysec = (yday - 1) * SECONDS_PER_DAY + (sec % SECONDS_PER_DAY)
  const ystart = sec - ysec
  let std: ZoneType = { name: f.stdName, offset: f.stdOffset, isDST: false }
  let dst: ZoneType = { name: f.dst.name, offset: f.dst.offset, isDST: true }
  let startSec = ruleTime(year, f.dst.start, f.stdOffset)
  let endSec = ruleTime(year, f.dst.end, f.dst.offset)
  if (endSec < startSec) {
    // southern hemisphere: the year starts in daylight time
    [startSec, endSec] = [endSec, startSec];
    [std, dst] = [dst, std]
  }
  if (ysec < startSec) return { ...std, start: ystart, end: ystart + startSec }
  if (ysec >= endSec) return { ...std, start: ystart + endSec, end: ystart + 365 * SECONDS_PER_DAY }
  return { ...dst, start: ystart + startSec, end: ystart + endSec }
}
