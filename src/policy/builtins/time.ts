// time.* builtins on exact nanoseconds (BigInt) with Go's semantics: layouts, durations,
// IANA zones via Intl, int64 range checks ("time outside of valid range").
//
// Precision: the SDK passes arguments as float64, which rounds a timestamp beyond 2^53 ns (any
// current one) to a multiple of 256 ns; with modules of Bouncer's runtime, guard() reads them
// again exactly (context.ts), so nanoseconds arrive as their digits. Results are exact (exactInt).
import { builtinError, evaluationNowNs, type HostBuiltin } from './context.js'
import { exactInt, int, num, operandTypeError, str } from './args.js'
import { integerOf, isRawJson } from '../../exact-json.js'
import { NAMED_LAYOUTS, TimeParseError, WEEKDAYS, formatCivil, namedLayout, parseLayout } from './golayout.js'
import { MAX_NS, MIN_NS, NS_PER_SECOND, UnknownZoneError, daysIn, fromCivil, loadZone, toCivil, utcZone, type Civil, type Zone } from './tz.js'

const TWO63 = 2 ** 63
const MIN_INT64 = -(2n ** 63n)

/** A number (exact digits, or an integral float64) as int64 ns ("timestamp too big" otherwise, as OPA). */
function nsOf (name: string, v: unknown): bigint {
  if (isRawJson(v)) {
    // an integer however written (1e18, 1000000000000000000.0): OPA reads it as a big.Float
    // and takes it when it is an exact int64
    const ns = integerOf(v.rawJSON, 30)
    if (ns === undefined || ns < MIN_INT64 || ns > MAX_NS) throw builtinError(name, 'timestamp too big')
    return ns
  }
  const x = num(name, 1, v)
  if (!Number.isInteger(x) || x < -TWO63 || x > TWO63) throw builtinError(name, 'timestamp too big')
  // 2^63 is how float64 carries int64's maximum (2^63 - 1) through the SDK
  return x === TWO63 ? MAX_NS : BigInt(x)
}

function inRange (name: string, ns: bigint): bigint {
  if (ns < MIN_NS || ns > MAX_NS) throw builtinError(name, 'time outside of valid range')
  return ns
}

function zone (name: string, tz: string): Zone {
  try {
    return loadZone(tz)
  } catch (e) {
    if (e instanceof UnknownZoneError) throw builtinError(name, e.message)
    throw e
  }
}

/** OPA's tzTime: number (ns) | [ns] | [ns, tz] | [ns, tz, layout]. */
function tzTime (name: string, v: unknown): { ns: bigint; zone: Zone; layout: string } {
  const want = 'either number (ns) or [number (ns), string (tz)]'
  let nsVal: unknown
  let z = utcZone
  let layout = NAMED_LAYOUTS.RFC3339Nano
  if (Array.isArray(v)) {
    if (v.length === 0) throw operandTypeError(name, 1, v, want)
    nsVal = v[0]
    if (v.length > 1) z = zone(name, str(name, 1, v[1]))
    if (v.length > 2) {
      // OPA's time.format: an empty layout is RFC3339Nano
      const l = str(name, 1, v[2])
      layout = l === '' ? NAMED_LAYOUTS.RFC3339Nano : namedLayout(l)
    }
  } else if (typeof v === 'number' || isRawJson(v)) {
    nsVal = v
  } else {
    throw operandTypeError(name, 1, v, want)
  }
  return { ns: nsOf(name, nsVal), zone: z, layout }
}

function civil (name: string, v: unknown): Civil {
  const t = tzTime(name, v)
  return toCivil(t.ns, t.zone)
}

function parse (name: string, layout: string, value: string): number | ArrayBuffer {
  let ns: bigint
  try {
    ns = parseLayout(layout, value)
  } catch (e) {
    if (e instanceof TimeParseError) throw builtinError(name, e.message)
    throw e
  }
  return exactInt(inRange(name, ns))
}

// Go's time.ParseDuration, plus the days, weeks and years OPA added (1.16, issue 2719): a day is
// 24h, a week 7 days, a year 365 days
const HOUR = 3600n * NS_PER_SECOND
const UNITS: Record<string, bigint> = {
  ns: 1n, us: 1000n, 'µs': 1000n, 'μs': 1000n, ms: 1_000_000n, s: NS_PER_SECOND, m: 60n * NS_PER_SECOND, h: HOUR,
  d: 24n * HOUR, w: 7n * 24n * HOUR, y: 365n * 24n * HOUR,
}

// Go's time package quotes the text in its errors itself: bytes of non-ASCII characters and of
// controls as \xNN, `"` and `\` escaped.
function timeQuote (s: string): string {
  let out = '"'
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (cp < 0x20 || cp >= 0x80) for (const b of Buffer.from(ch, 'utf8')) out += '\\x' + b.toString(16).padStart(2, '0')
    else out += (ch === '"' || ch === '\\' ? '\\' : '') + ch
  }
  return out + '"'
}

const TWO63N = 1n << 63n

/**
 * Go's time.ParseDuration. The integer part is exact (more than 2^63 is an error); of the
 * fraction, Go keeps the digits while they fit (up to 2^63, at most 19), ignores the rest, and adds
 * the float64 product fraction × (unit / 10^digits) truncated: "1.9999999999999999999s" is 2s
 * (review helper, 2026-12-07: the fraction was added exactly, 1999999999).
 */
export function parseDuration (s: string): bigint {
  const orig = s
  const bad = (): Error => new Error(`time: invalid duration ${timeQuote(orig)}`)
  let neg = false
  if (s !== '' && (s[0] === '-' || s[0] === '+')) { neg = s[0] === '-'; s = s.slice(1) }
  if (s === '0') return 0n
  if (s === '') throw bad()
  let total = 0n
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!
    if (m[1] === '' && (m[2] ?? '') === '') throw bad() // no digits before or after the point
    s = s.slice(m[0].length)
    let whole = 0n
    for (const d of m[1]!) {
      whole = whole * 10n + BigInt(d.charCodeAt(0) - 48)
      if (whole > TWO63N) throw bad()
    }
    let frac = 0n
    let scale = 1
    let full = false
    for (const d of m[2] ?? '') {
      if (full) continue
      const next = frac * 10n + BigInt(d.charCodeAt(0) - 48)
      if (frac > (TWO63N - 1n) / 10n || next > TWO63N) { full = true; continue }
      frac = next
      scale *= 10
    }
    const u = /^[^\d.]+/.exec(s)
    if (!u) throw new Error(`time: missing unit in duration ${timeQuote(orig)}`)
    const unit = UNITS[u[0]]
    if (unit === undefined) throw new Error(`time: unknown unit ${timeQuote(u[0])} in duration ${timeQuote(orig)}`)
    s = s.slice(u[0].length)
    if (whole > TWO63N / unit) throw bad()
    let v = whole * unit
    if (frac > 0n) {
      v += BigInt(Math.trunc(Number(frac) * (Number(unit) / scale)))
      if (v > TWO63N) throw bad()
    }
    total += v
    if (total > TWO63N) throw bad()
  }
  if (!neg && total > MAX_NS) throw bad()
  return neg ? -total : total
}

function diff (a: unknown, b: unknown): number[] {
  const name = 'time.diff'
  const t1 = tzTime(name, a)
  const t2 = tzTime(name, b)
  // both in the first argument's zone, earlier first
  let x = t1.ns
  let y = t2.ns
  if (x > y) [x, y] = [y, x]
  const c1 = toCivil(x, t1.zone)
  const c2 = toCivil(y, t1.zone)
  let year = c2.year - c1.year
  let month = c2.month - c1.month
  let day = c2.day - c1.day
  let hour = c2.hour - c1.hour
  let min = c2.minute - c1.minute
  let sec = c2.second - c1.second
  if (sec < 0) { sec += 60; min-- }
  if (min < 0) { min += 60; hour-- }
  if (hour < 0) { hour += 24; day-- }
  if (day < 0) {
    // days in c1's month, as Go's time.Date(y1, M1, 32).Day() trick gives
    day += daysIn(c1.month, c1.year)
    month--
  }
  if (month < 0) { month += 12; year-- }
  return [year, month, day, hour, min, sec]
}

function addDate (ns: unknown, years: unknown, months: unknown, days: unknown): number | ArrayBuffer {
  const name = 'time.add_date'
  // OPA reads the time through tzTime ([ns, tz] too) and adds on that zone's wall clock
  const t = tzTime(name, ns)
  const y = int(name, 2, years)
  const m = int(name, 3, months)
  const d = int(name, 4, days)
  const c = toCivil(t.ns, t.zone)
  return exactInt(inRange(name, fromCivil(c.year + y, c.month + m, c.day + d, c.hour, c.minute, c.second, c.nanos, t.zone)))
}

export const timeBuiltins: Record<string, HostBuiltin> = {
  'time.now_ns': () => exactInt(evaluationNowNs()),
  'time.parse_rfc3339_ns': (v: unknown) => parse('time.parse_rfc3339_ns', NAMED_LAYOUTS.RFC3339, str('time.parse_rfc3339_ns', 1, v)),
  'time.parse_ns': (layout: unknown, value: unknown) => {
    const l = str('time.parse_ns', 1, layout)
    return parse('time.parse_ns', namedLayout(l), str('time.parse_ns', 2, value))
  },
  'time.parse_duration_ns': (v: unknown) => {
    const s = str('time.parse_duration_ns', 1, v)
    try {
      return exactInt(parseDuration(s))
    } catch (e) {
      throw builtinError('time.parse_duration_ns', (e as Error).message)
    }
  },
  'time.date': (v: unknown) => { const c = civil('time.date', v); return [c.year, c.month, c.day] },
  'time.clock': (v: unknown) => { const c = civil('time.clock', v); return [c.hour, c.minute, c.second] },
  'time.weekday': (v: unknown) => WEEKDAYS[civil('time.weekday', v).weekday],
  'time.add_date': addDate,
  'time.diff': diff,
  'time.format': (v: unknown) => {
    const t = tzTime('time.format', v)
    return formatCivil(toCivil(t.ns, t.zone), t.layout)
  },
}
