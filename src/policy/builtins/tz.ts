// Time zones as Go's time.LoadLocation loads them: from the tz database's TZif files where they
// exist (./tzif.ts: the offsets and abbreviations Go prints, "CET", "JST"), else through Intl (IANA
// names; numeric abbreviations outside the US). Civil-date arithmetic on exact integers (BigInt
// nanoseconds, day numbers) so no Date range or precision limits apply.
import { readFileSync } from 'node:fs'
import { TZDATA_NAMES } from './tz-names.js'
import { isSafeZoneName, loadTzif, SYSTEM_ZONE_SOURCES, type ZonePeriod } from './tzif.js'

export const NS_PER_SECOND = 1_000_000_000n
export const MIN_NS = -(2n ** 63n)
export const MAX_NS = 2n ** 63n - 1n

export class UnknownZoneError extends Error {
  constructor (zone: string, message = `unknown time zone ${zone}`) { super(message) }
}

/** Go's LoadLocation error for names with ".." or a leading "/" or "\\" (never looked up). */
export class InvalidZoneNameError extends UnknownZoneError {
  constructor (zone: string) { super(zone, 'time: invalid location name') }
}

export interface Zone {
  name: string
  /** offset east of UTC in seconds at the given instant (seconds since the epoch) */
  offset (sec: number): number
  /** abbreviation at the instant, Go style ("EST", "+0530", "UTC") */
  abbreviation (sec: number): string
  /** the zone period at the instant with its range (zones from TZif files: Go's lookup exactly) */
  lookup?: (sec: number) => ZonePeriod
}

const UTC: Zone = { name: 'UTC', offset: () => 0, abbreviation: () => 'UTC' }

function intlZone (name: string): Zone {
  let parts: Intl.DateTimeFormat
  let short: Intl.DateTimeFormat
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone: name, hourCycle: 'h23', era: 'short', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    })
    short = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'short' })
  } catch {
    throw new UnknownZoneError(name)
  }
  const offset = (sec: number): number => {
    const ms = sec * 1000
    const f: Record<string, string> = {}
    for (const p of parts.formatToParts(ms)) f[p.type] = p.value
    let year = Number(f.year)
    if (f.era === 'BC' || f.era === 'B') year = 1 - year
    const local = daysFromCivil(year, Number(f.month), Number(f.day)) * 86400 + Number(f.hour) * 3600 + Number(f.minute) * 60 + Number(f.second)
    return local - sec
  }
  const abbreviation = (sec: number): string => {
    const tzn = short.formatToParts(sec * 1000).find(p => p.type === 'timeZoneName')?.value ?? ''
    const m = /^(?:GMT|UTC)([+-])(\d{1,2})(?::(\d{2}))?$/.exec(tzn)
    if (m) return m[1] + m[2].padStart(2, '0') + (m[3] ?? '')
    if (tzn === 'GMT' && name !== 'UTC' && offset(sec) !== 0) return ''
    return tzn
  }
  return { name, offset, abbreviation }
}

/** A zone from a TZif file (Go's Location): offset, abbreviation and range from one lookup. */
function tzifZone (name: string): Zone | null {
  const z = loadTzif(name)
  if (z === null) return null
  let lastSec = NaN
  let last: ZonePeriod | undefined
  const lookup = (sec: number): ZonePeriod => {
    if (sec !== lastSec || last === undefined) { last = z.lookup(sec); lastSec = sec }
    return last
  }
  return { name, offset: sec => lookup(sec).offset, abbreviation: sec => lookup(sec).name, lookup }
}

/** Loaded zones by name, oldest dropped past MAX_ZONES (names come from policy input). */
const zones = new Map<string, Zone>()
const MAX_ZONES = 256

// Spellings of UTC whose zone is named "UTC" too (GMT, Greenwich, GMT0 are abbreviated "GMT":
// time.format says so, so they keep their own scope).
const UTC_NAMES: ReadonlySet<string> = new Set(['UTC', 'Etc/UTC', 'Etc/Universal', 'Universal', 'Etc/Zulu', 'Zulu', 'Etc/UCT', 'UCT'])

/**
 * What zone answers depend on besides the policy and its input: the process zone ("Local"),
 * where zone files are read ($ZONEINFO, the system tzdata's version) and ICU's zone data (the
 * fallback). Part of the decision cache's scope: pods on one Redis with another TZ must not
 * serve each other's `time.clock([t, "Local"])` answers (review, session 53).
 */
export function zoneScope (): string {
  let tzdata = ''
  for (const dir of SYSTEM_ZONE_SOURCES) {
    try {
      const head = readFileSync(dir + (dir.endsWith('/') ? '' : '/') + 'tzdata.zi', 'latin1').slice(0, 64)
      tzdata = /^# version (\S+)/.exec(head)?.[1] ?? ''
      break
    } catch {}
  }
  // One spelling for UTC (TZ unset, "UTC", "Etc/UTC", "GMT"...): pods alike in fact share a scope.
  const local = localZoneName()
  const zone = UTC_NAMES.has(local) ? 'UTC' : local
  return JSON.stringify([zone, process.env.ZONEINFO ?? '', tzdata, process.versions.tz ?? ''])
}

/** The process zone as Intl names it; UTC where it names none (a POSIX TZ string such as
 *  "UTC0", which Go's time.Local reads as UTC too when no zone file has that name). */
function localZoneName (): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC'
}

/** Forgets loaded zones (tests: after changing $ZONEINFO or the zone sources). */
export function clearZoneCache (): void { zones.clear() }

/**
 * A tz database name spelled exactly as there (TZDATA_NAMES, or a canonical name of a newer ICU):
 * Intl alone would take "utc", "america/new_york" or "+05", which Go's LoadLocation refuses.
 */
function isTzdataName (name: string): boolean {
  return TZDATA_NAMES.has(name) || (intlNames ??= new Set(Intl.supportedValuesOf('timeZone'))).has(name)
}
let intlNames: Set<string> | undefined

/**
 * OPA's tzTime: "" and "UTC" are UTC, "Local" is the process zone (Intl's name for it), else
 * LoadLocation's tz name: names with ".." or a leading "/" or "\\" are refused as Go refuses
 * them; a TZif file found where Go looks ($ZONEINFO, /usr/share/zoneinfo, ...) gives the zone;
 * without one, Intl does for a tz database name.
 */
export function loadZone (name: string): Zone {
  if (name === '' || name === 'UTC') return UTC
  let z = zones.get(name)
  if (z === undefined) {
    const iana = name === 'Local' ? localZoneName() : name
    if (name !== 'Local' && !isSafeZoneName(name)) throw new InvalidZoneNameError(name)
    if (iana === 'UTC') z = UTC
    else {
      const fromFile = isSafeZoneName(iana) ? tzifZone(iana) : null
      if (fromFile !== null) z = fromFile
      else {
        if (name !== 'Local' && !isTzdataName(name)) throw new UnknownZoneError(name)
        z = intlZone(iana)
      }
    }
    if (zones.size >= MAX_ZONES) zones.delete(zones.keys().next().value!)
    zones.set(name, z)
  }
  return z
}

export const utcZone = UTC

/** A fixed-offset zone (as Go fabricates when parsing an offset). */
export function fixedZone (offsetSec: number, abbr = ''): Zone {
  return { name: abbr, offset: () => offsetSec, abbreviation: () => abbr }
}

// ---- civil calendar (proleptic Gregorian), after H. Hinnant's algorithms ----

export function daysFromCivil (y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

export function civilFromDays (z: number): [number, number, number] {
  z += 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const y = yoe + era * 400
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp + (mp < 10 ? 3 : -9)
  return [y + (m <= 2 ? 1 : 0), m, d]
}

export const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
export const daysIn = (m: number, y: number): number => m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]

const floorDiv = (a: bigint, b: bigint): bigint => { const q = a / b; return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q }

/** An instant (exact ns) viewed in a zone. */
export interface Civil {
  year: number; month: number; day: number; hour: number; minute: number; second: number; nanos: number
  weekday: number // 0 = Sunday
  yday: number // 1-based
  offset: number // seconds east of UTC
  zone: Zone
  unix: number // seconds since the epoch (UTC)
}

export function toCivil (ns: bigint, zone: Zone): Civil {
  const sec = floorDiv(ns, NS_PER_SECOND)
  const nanos = Number(ns - sec * NS_PER_SECOND)
  const offset = zone.offset(Number(sec))
  const local = Number(sec) + offset
  const days = Math.floor(local / 86400)
  const sod = local - days * 86400
  const [year, month, day] = civilFromDays(days)
  return {
    year, month, day,
    hour: Math.floor(sod / 3600), minute: Math.floor(sod / 60) % 60, second: sod % 60, nanos,
    weekday: (((days + 4) % 7) + 7) % 7,
    yday: days - daysFromCivil(year, 1, 1) + 1,
    offset, zone, unix: Number(sec),
  }
}

/** Go's time.Date normalisation: any field may overflow; local wall time resolved in zone. */
export function fromCivil (year: number, month: number, day: number, hour: number, minute: number, second: number, nanos: number, zone: Zone): bigint {
  // normalise month into the year
  const m0 = month - 1
  year += Math.floor(m0 / 12)
  month = (((m0 % 12) + 12) % 12) + 1
  const days = daysFromCivil(year, month, 1) + day - 1
  const local = BigInt(days) * 86400n + BigInt(hour) * 3600n + BigInt(minute) * 60n + BigInt(second)
  // Go's Date: the offset found for the wall time read as UTC, unless UTC minus that offset
  // leaves the period it was found in; then the offset there. (A wall time in a gap lands
  // before it: 02:30 on a spring-forward day in Los Angeles is 01:30 PST, Go's own test case.)
  const guess = Number(local)
  let off: number
  if (zone.lookup !== undefined) {
    const p = zone.lookup(guess)
    off = p.offset
    if (off !== 0) {
      const utc = guess - off
      if (utc < p.start || utc >= p.end) off = zone.lookup(utc).offset
    }
  } else {
    // without ranges (Intl): the same answer, as a period's offset holds throughout it
    off = zone.offset(guess)
    if (off !== 0) off = zone.offset(guess - off)
  }
  return (local - BigInt(off)) * NS_PER_SECOND + BigInt(nanos)
}
