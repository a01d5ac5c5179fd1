// Go's reference-time layouts ("2006-01-02T15:04:05Z07:00"): tokenizing, parsing (time.Parse)
// and formatting (Time.Format), on exact nanoseconds. Messages follow Go's ParseError.
import { type Civil, daysIn, fixedZone, fromCivil, toCivil, utcZone, loadZone } from './tz.js'

type Std =
  | 'LongMonth' | 'Month' | 'NumMonth' | 'ZeroMonth' | 'LongWeekDay' | 'WeekDay'
  | 'Day' | 'UnderDay' | 'ZeroDay' | 'UnderYearDay' | 'ZeroYearDay'
  | 'Hour' | 'Hour12' | 'ZeroHour12' | 'Minute' | 'ZeroMinute' | 'Second' | 'ZeroSecond'
  | 'LongYear' | 'Year' | 'PM' | 'pm' | 'TZ'
  | 'ISO8601TZ' | 'ISO8601SecondsTZ' | 'ISO8601ShortTZ' | 'ISO8601ColonTZ' | 'ISO8601ColonSecondsTZ'
  | 'NumTZ' | 'NumSecondsTz' | 'NumShortTZ' | 'NumColonTZ' | 'NumColonSecondsTZ'
  | 'FracSecond0' | 'FracSecond9'

export interface Chunk { text: string; std?: Std; digits?: number; sep?: string }

// The layout names OPA's time.go accepts (acceptedTimeFormats); any other string, Go's other
// names included ("Kitchen", "DateOnly"), is a layout itself.
export const NAMED_LAYOUTS: Record<string, string> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
}

/** A layout as OPA's time builtins take it: a name above, or the layout text itself. */
export function namedLayout (l: string): string {
  return Object.prototype.hasOwnProperty.call(NAMED_LAYOUTS, l) ? NAMED_LAYOUTS[l] : l
}

const LONG_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
export const WEEKDAYS = LONG_DAYS

const isDigit = (s: string, i: number): boolean => i < s.length && s[i] >= '0' && s[i] <= '9'

/** Splits a layout into literal text and std chunks (Go's nextStdChunk). */
export function tokenize (layout: string): Chunk[] {
  const out: Chunk[] = []
  let lit = ''
  const push = (text: string, std: Std, extra: Partial<Chunk> = {}): void => {
    if (lit) { out.push({ text: lit }); lit = '' }
    out.push({ text, std, ...extra })
  }
  let i = 0
  const at = (s: string): boolean => layout.startsWith(s, i)
  while (i < layout.length) {
    const c = layout[i]
    let matched: [string, Std] | null = null
    switch (c) {
      case 'J':
        if (at('January')) matched = ['January', 'LongMonth']
        else if (at('Jan')) matched = ['Jan', 'Month']
        break
      case 'M':
        if (at('Monday')) matched = ['Monday', 'LongWeekDay']
        else if (at('Mon')) matched = ['Mon', 'WeekDay']
        else if (at('MST')) matched = ['MST', 'TZ']
        break
      case '0':
        if (at('002')) matched = ['002', 'ZeroYearDay']
        else if (i + 1 < layout.length && layout[i + 1] >= '1' && layout[i + 1] <= '6') {
          matched = [layout.slice(i, i + 2), (['ZeroMonth', 'ZeroDay', 'ZeroHour12', 'ZeroMinute', 'ZeroSecond', 'Year'] as Std[])[Number(layout[i + 1]) - 1]]
        }
        break
      case '1':
        matched = at('15') ? ['15', 'Hour'] : ['1', 'NumMonth']
        break
      case '2':
        matched = at('2006') ? ['2006', 'LongYear'] : ['2', 'Day']
        break
      case '_':
        if (at('_2')) {
          if (at('_2006')) { lit += '_'; i++; continue }
          matched = ['_2', 'UnderDay']
        }
        if (at('__2')) matched = ['__2', 'UnderYearDay']
        break
      case '3': matched = ['3', 'Hour12']; break
      case '4': matched = ['4', 'Minute']; break
      case '5': matched = ['5', 'Second']; break
      case 'P': if (at('PM')) matched = ['PM', 'PM']; break
      case 'p': if (at('pm')) matched = ['pm', 'pm']; break
      case '-':
        for (const [s, std] of [['-070000', 'NumSecondsTz'], ['-07:00:00', 'NumColonSecondsTZ'], ['-0700', 'NumTZ'], ['-07:00', 'NumColonTZ'], ['-07', 'NumShortTZ']] as Array<[string, Std]>) {
          if (at(s)) { matched = [s, std]; break }
        }
        break
      case 'Z':
        for (const [s, std] of [['Z070000', 'ISO8601SecondsTZ'], ['Z07:00:00', 'ISO8601ColonSecondsTZ'], ['Z0700', 'ISO8601TZ'], ['Z07:00', 'ISO8601ColonTZ'], ['Z07', 'ISO8601ShortTZ']] as Array<[string, Std]>) {
          if (at(s)) { matched = [s, std]; break }
        }
        break
      case '.': case ',':
        if (i + 1 < layout.length && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
          const ch = layout[i + 1]
          let j = i + 1
          while (j < layout.length && layout[j] === ch) j++
          if (!isDigit(layout, j)) {
            push(layout.slice(i, j), ch === '0' ? 'FracSecond0' : 'FracSecond9', { digits: j - i - 1, sep: c })
            i = j
            continue
          }
        }
        break
    }
    if (matched) {
      push(matched[0], matched[1])
      i += matched[0].length
    } else {
      lit += c
      i++
    }
  }
  if (lit) out.push({ text: lit })
  return out
}

// ---- formatting ----

const pad = (n: number, w: number): string => {
  const s = String(Math.abs(n)).padStart(w, '0')
  return n < 0 ? '-' + s : s
}

function formatTZ (std: Std, offset: number, abbr: string): string {
  if (std === 'TZ') {
    if (abbr) return abbr
    std = 'NumTZ'
  }
  if (std.startsWith('ISO8601') && offset === 0) return 'Z'
  const sign = offset < 0 ? '-' : '+'
  const a = Math.abs(offset)
  const hh = pad(Math.floor(a / 3600), 2)
  const mm = pad(Math.floor(a / 60) % 60, 2)
  const ss = pad(a % 60, 2)
  switch (std) {
    case 'ISO8601TZ': case 'NumTZ': return sign + hh + mm
    case 'ISO8601ColonTZ': case 'NumColonTZ': return `${sign}${hh}:${mm}`
    case 'ISO8601ShortTZ': case 'NumShortTZ': return sign + hh
    case 'ISO8601SecondsTZ': case 'NumSecondsTz': return sign + hh + mm + ss
    default: return `${sign}${hh}:${mm}:${ss}`
  }
}

export function formatCivil (t: Civil, layout: string): string {
  let out = ''
  for (const ch of tokenize(layout)) {
    if (!ch.std) { out += ch.text; continue }
    switch (ch.std) {
      case 'LongMonth': out += LONG_MONTHS[t.month - 1]; break
      case 'Month': out += LONG_MONTHS[t.month - 1].slice(0, 3); break
      case 'NumMonth': out += t.month; break
      case 'ZeroMonth': out += pad(t.month, 2); break
      case 'LongWeekDay': out += LONG_DAYS[t.weekday]; break
      case 'WeekDay': out += LONG_DAYS[t.weekday].slice(0, 3); break
      case 'Day': out += t.day; break
      case 'UnderDay': out += t.day < 10 ? ' ' + t.day : String(t.day); break
      case 'ZeroDay': out += pad(t.day, 2); break
      case 'UnderYearDay': out += String(t.yday).padStart(3, ' '); break
      case 'ZeroYearDay': out += pad(t.yday, 3); break
      case 'Hour': out += pad(t.hour, 2); break
      case 'Hour12': out += (t.hour % 12) || 12; break
      case 'ZeroHour12': out += pad((t.hour % 12) || 12, 2); break
      case 'Minute': out += t.minute; break
      case 'ZeroMinute': out += pad(t.minute, 2); break
      case 'Second': out += t.second; break
      case 'ZeroSecond': out += pad(t.second, 2); break
      case 'LongYear': out += pad(t.year, 4); break
      case 'Year': out += pad(((t.year % 100) + 100) % 100, 2); break
      case 'PM': out += t.hour >= 12 ? 'PM' : 'AM'; break
      case 'pm': out += t.hour >= 12 ? 'pm' : 'am'; break
      case 'FracSecond0': out += ch.sep! + String(t.nanos).padStart(9, '0').slice(0, ch.digits); break
      case 'FracSecond9': {
        const f = String(t.nanos).padStart(9, '0').slice(0, ch.digits).replace(/0+$/, '')
        if (f) out += ch.sep! + f
        break
      }
      default:
        out += formatTZ(ch.std, t.offset, t.zone.abbreviation(t.unix))
    }
  }
  return out
}

// ---- parsing ----

export class TimeParseError extends Error {}

function parseError (value: string, layout: string, valueElem: string, layoutElem: string, message = ''): TimeParseError {
  const q = (s: string): string => JSON.stringify(s)
  if (message) return new TimeParseError(`parsing time ${q(value)}${message}`)
  return new TimeParseError(`parsing time ${q(value)} as ${q(layout)}: cannot parse ${q(valueElem)} as ${q(layoutElem)}`)
}

function getnum (s: string, fixed: boolean): [number, string] | null {
  if (!isDigit(s, 0)) return null
  if (!isDigit(s, 1)) {
    if (fixed) return null
    return [Number(s[0]), s.slice(1)]
  }
  return [Number(s.slice(0, 2)), s.slice(2)]
}

function getnum3 (s: string, fixed: boolean): [number, string] | null {
  let n = 0
  let i = 0
  for (; i < 3 && isDigit(s, i); i++) n = n * 10 + Number(s[i])
  if (i === 0 || (fixed && i !== 3)) return null
  return [n, s.slice(i)]
}

function lookup (names: string[], s: string): [number, string] | null {
  for (let i = 0; i < names.length; i++) {
    if (s.length >= names[i].length && s.slice(0, names[i].length).toLowerCase() === names[i].toLowerCase()) return [i, s.slice(names[i].length)]
  }
  return null
}

/** Parses `value` with a Go layout; returns exact ns since the epoch (Go's time.Parse, UTC default). */
export function parseLayout (layout: string, value: string): bigint {
  const origValue = value
  let year = 0; let month = -1; let day = -1; let yday = -1
  let hour = 0; let min = 0; let sec = 0; let nsec = 0
  let pmSet = false; let amSet = false
  let zoneOffset: number | null = null
  let zoneName = ''
  let utc = false
  const chunks = tokenize(layout)
  for (let ci = 0; ci < chunks.length; ci++) {
    const ch = chunks[ci]
    if (!ch.std) {
      // Go skips leading spaces in both the layout literal and the value where they match
      let lit = ch.text
      let v = value
      while (lit.length && v.length) {
        if (lit[0] === ' ') {
          if (v[0] !== ' ') break
          while (lit[0] === ' ') lit = lit.slice(1)
          while (v[0] === ' ') v = v.slice(1)
          continue
        }
        if (lit[0] !== v[0]) break
        lit = lit.slice(1)
        v = v.slice(1)
      }
      if (lit.length) throw parseError(origValue, layout, value, ch.text)
      value = v
      continue
    }
    const hold = value
    const fail = (): never => { throw parseError(origValue, layout, hold, ch.text) }
    const range = (what: string): never => { throw parseError(origValue, layout, hold, ch.text, `: ${what} out of range`) }
    let r: [number, string] | null
    switch (ch.std) {
      case 'Year': {
        if (value.length < 2 || !isDigit(value, 0) || !isDigit(value, 1)) fail()
        year = Number(value.slice(0, 2))
        value = value.slice(2)
        year += year >= 69 ? 1900 : 2000
        break
      }
      case 'LongYear':
        if (value.length < 4 || ![0, 1, 2, 3].every(k => isDigit(value, k))) fail()
        year = Number(value.slice(0, 4))
        value = value.slice(4)
        break
      case 'Month': case 'LongMonth':
        r = lookup(ch.std === 'Month' ? LONG_MONTHS.map(m => m.slice(0, 3)) : LONG_MONTHS, value)
        if (!r) fail()
        month = r![0] + 1
        value = r![1]
        break
      case 'NumMonth': case 'ZeroMonth':
        r = getnum(value, ch.std === 'ZeroMonth')
        if (!r) fail()
        if (r![0] <= 0 || r![0] > 12) range('month')
        month = r![0]
        value = r![1]
        break
      case 'WeekDay': case 'LongWeekDay':
        r = lookup(ch.std === 'WeekDay' ? LONG_DAYS.map(d => d.slice(0, 3)) : LONG_DAYS, value)
        if (!r) fail()
        value = r![1]
        break
      case 'Day': case 'UnderDay': case 'ZeroDay':
        if (ch.std === 'UnderDay' && value[0] === ' ') value = value.slice(1)
        r = getnum(value, ch.std === 'ZeroDay')
        if (!r) fail()
        day = r![0]
        value = r![1]
        break
      case 'UnderYearDay': case 'ZeroYearDay':
        for (let k = 0; k < 2; k++) if (ch.std === 'UnderYearDay' && value[0] === ' ') value = value.slice(1)
        r = getnum3(value, ch.std === 'ZeroYearDay')
        if (!r) fail()
        yday = r![0]
        value = r![1]
        break
      case 'Hour':
        r = getnum(value, false)
        if (!r) fail()
        if (r![0] < 0 || r![0] >= 24) range('hour')
        hour = r![0]
        value = r![1]
        break
      case 'Hour12': case 'ZeroHour12':
        r = getnum(value, ch.std === 'ZeroHour12')
        if (!r) fail()
        if (r![0] < 0 || r![0] > 12) range('hour')
        hour = r![0]
        value = r![1]
        break
      case 'Minute': case 'ZeroMinute':
        r = getnum(value, ch.std === 'ZeroMinute')
        if (!r) fail()
        if (r![0] < 0 || r![0] >= 60) range('minute')
        min = r![0]
        value = r![1]
        break
      case 'Second': case 'ZeroSecond': {
        r = getnum(value, ch.std === 'ZeroSecond')
        if (!r) fail()
        if (r![0] < 0 || r![0] >= 60) range('second')
        sec = r![0]
        value = r![1]
        // a fractional second in the value that the layout does not mention
        if (value.length >= 2 && (value[0] === '.' || value[0] === ',') && isDigit(value, 1)) {
          const next = chunks[ci + 1]
          if (next?.std === 'FracSecond0' || next?.std === 'FracSecond9') break
          let n = 2
          while (n < value.length && isDigit(value, n)) n++
          nsec = fracNanos(value.slice(1, n))
          value = value.slice(n)
        }
        break
      }
      case 'PM': case 'pm': {
        if (value.length < 2) fail()
        const p = value.slice(0, 2)
        if (p === (ch.std === 'PM' ? 'PM' : 'pm')) pmSet = true
        else if (p === (ch.std === 'PM' ? 'AM' : 'am')) amSet = true
        else fail()
        value = value.slice(2)
        break
      }
      case 'TZ': {
        if (value.startsWith('UTC')) { utc = true; value = value.slice(3); break }
        const n = timeZoneLength(value)
        if (n === 0) fail()
        zoneName = value.slice(0, n)
        value = value.slice(n)
        break
      }
      case 'FracSecond0': {
        const nd = 1 + ch.digits!
        if (value.length < nd || (value[0] !== '.' && value[0] !== ',')) fail()
        const digits = value.slice(1, nd)
        if (!/^\d*$/.test(digits)) fail()
        nsec = fracNanos(digits)
        value = value.slice(nd)
        break
      }
      case 'FracSecond9': {
        if (value.length < 2 || (value[0] !== '.' && value[0] !== ',') || !isDigit(value, 1)) break
        let i = 1
        while (i < value.length && isDigit(value, i)) i++
        nsec = fracNanos(value.slice(1, i))
        value = value.slice(i)
        break
      }
      default: {
        // numeric zone offsets: fixed-width fields as Go reads them ("+hh", "+hhmm", "+hh:mm",
        // "+hhmmss", "+hh:mm:ss"), each field two digits
        const std = ch.std
        if (std.startsWith('ISO8601') && value[0] === 'Z') { utc = true; value = value.slice(1); break }
        const colon = std.includes('Colon')
        const withSec = std.includes('Second') || std === 'NumSecondsTz'
        const short = std.includes('Short')
        const width = short ? 3 : withSec ? (colon ? 9 : 7) : (colon ? 6 : 5)
        if (value.length < width) fail()
        if (colon && (value[3] !== ':' || (withSec && value[6] !== ':'))) fail()
        const field = (at: number): number | null => (isDigit(value, at) && isDigit(value, at + 1) ? Number(value.slice(at, at + 2)) : null)
        // Go reads hour, minute, second in turn and stops at the first bad one (the rest stay 0)
        const h = field(1)
        const m = h === null || short ? 0 : field(colon ? 4 : 3)
        const x = h === null || m === null || !withSec ? 0 : field(colon ? 7 : 5)
        const hh = h ?? 0; const mm = m ?? 0; const ss = x ?? 0
        value = value.slice(width)
        // Go checks with > (offsets of 24 hours, 60 minutes or 60 seconds are written); a range
        // error wins over a bad field or sign, and a later field's over an earlier one's
        if (ss > 60) range('time zone offset second')
        if (mm > 60) range('time zone offset minute')
        if (hh > 24) range('time zone offset hour')
        if (h === null || m === null || x === null) fail()
        const sign = hold[0]
        if (sign !== '+' && sign !== '-') fail()
        zoneOffset = (hh * 3600 + mm * 60 + ss) * (sign === '-' ? -1 : 1)
      }
    }
  }
  if (value.length) throw new TimeParseError(`parsing time ${JSON.stringify(origValue)}: extra text: ${JSON.stringify(value)}`)
  if (pmSet && hour < 12) hour += 12
  else if (amSet && hour === 12) hour = 0
  if (yday >= 0) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
    if (yday < 1 || yday > (leap ? 366 : 365)) throw new TimeParseError(`parsing time ${JSON.stringify(origValue)}: day-of-year out of range`)
    let m = 1
    let d = yday
    while (d > daysIn(m, year)) { d -= daysIn(m, year); m++ }
    if ((month >= 0 && month !== m) || (day >= 0 && day !== d)) throw new TimeParseError(`parsing time ${JSON.stringify(origValue)}: day-of-year does not match ${month >= 0 && month !== m ? 'month' : 'day'}`)
    month = m; day = d
  } else {
    if (month < 0) month = 1
    if (day < 0) day = 1
  }
  if (day < 1 || day > daysIn(month, year)) throw new TimeParseError(`parsing time ${JSON.stringify(origValue)}: day out of range`)
  if (utc) return fromCivil(year, month, day, hour, min, sec, nsec, utcZone)
  if (zoneOffset !== null) return fromCivil(year, month, day, hour, min, sec, nsec, fixedZone(zoneOffset))
  if (zoneName !== '') {
    // Go uses the local zone's offset when it knows the abbreviation; else it fabricates a zone,
    // offset 0 but for "GMT+h" / "GMT-h" ("GMT+003" is +3h)
    const local = loadZone('Local')
    const guess = fromCivil(year, month, day, hour, min, sec, nsec, local)
    if (toCivil(guess, local).zone.abbreviation(Number(guess / 1_000_000_000n)) === zoneName) return guess
    const offset = zoneName.length > 3 && zoneName.startsWith('GMT') ? Number(zoneName.slice(3)) * 3600 : 0
    return fromCivil(year, month, day, hour, min, sec, nsec, fixedZone(offset))
  }
  return fromCivil(year, month, day, hour, min, sec, nsec, utcZone)
}

/**
 * The length of the zone abbreviation `value` starts with, 0 if none (Go's parseTimeZone):
 * "ChST" or "MeST"; "GMT" with an optional signed hour offset of at most 23; a signed offset
 * ("+03", "-11"); three upper-case letters, or four or five ending in "T" ("WITA" too).
 */
function timeZoneLength (value: string): number {
  if (value.length < 3) return 0
  if (value.startsWith('ChST') || value.startsWith('MeST')) return 4
  if (value.startsWith('GMT')) return 3 + signedOffsetLength(value.slice(3))
  if (value[0] === '+' || value[0] === '-') return signedOffsetLength(value)
  let upper = 0
  while (upper < 6 && upper < value.length && value[upper] >= 'A' && value[upper] <= 'Z') upper++
  if (upper === 3) return 3
  if (upper === 4 && (value[3] === 'T' || value.startsWith('WITA'))) return 4
  if (upper === 5 && value[4] === 'T') return 5
  return 0
}

/** Go's parseSignedOffset: a sign and digits worth at most 23 (any number of them); 0 if not. */
function signedOffsetLength (value: string): number {
  if (value[0] !== '+' && value[0] !== '-') return 0
  let i = 1
  while (isDigit(value, i)) i++
  if (i === 1) return 0
  // Go's leadingInt fails past 2^63, and anything that large is past 23 anyway
  const digits = value.slice(1, i).replace(/^0+/, '')
  if (digits.length > 2 || Number(digits || '0') > 23) return 0
  return i
}

function fracNanos (digits: string): number {
  return Number((digits + '000000000').slice(0, 9))
}
