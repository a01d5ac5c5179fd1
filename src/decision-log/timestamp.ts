// Wall-clock nanoseconds and RFC 3339 timestamps with nine fractional digits.
//
// OPA writes decision timestamps as RFC 3339 with nanoseconds. Date.now() only has
// milliseconds, so the wall clock is anchored once to the monotonic hrtime clock and read
// through it; that also keeps timestamps of consecutive events non-decreasing when NTP slews
// the wall clock (an audit reader expects seq order and time order to agree).
// The per-event path works on (seconds, nanoseconds) Numbers and reuses the formatted
// "YYYY-MM-DDTHH:MM:SS" prefix within a second: it runs once per request.

const NS_PER_S = 1_000_000_000n

const anchorMs = Date.now()
const anchorHr = process.hrtime()
const baseSec = Math.floor(anchorMs / 1000) - anchorHr[0]
const baseNs = (anchorMs % 1000) * 1e6 - anchorHr[1]

let cachedSec = -1
let cachedPrefix = ''

function now (): [number, number] {
  const hr = process.hrtime()
  let sec = baseSec + hr[0]
  let ns = baseNs + hr[1]
  // baseNs is in (-1e9, 1e9) and hr[1] in [0, 1e9): normalise into [0, 1e9).
  if (ns < 0) { ns += 1e9; sec -= 1 } else if (ns >= 1e9) { ns -= 1e9; sec += 1 }
  return [sec, ns]
}

function format (sec: number, ns: number): string {
  if (sec !== cachedSec) {
    cachedPrefix = new Date(sec * 1000).toISOString().slice(0, 19) // 2024-05-01T12:34:56
    cachedSec = sec
  }
  return cachedPrefix + '.' + String(ns).padStart(9, '0') + 'Z'
}

/** Nanoseconds since the Unix epoch. */
export function nowNs (): bigint {
  const [sec, ns] = now()
  return BigInt(sec) * NS_PER_S + BigInt(ns)
}

/** The current time as `2024-05-01T12:34:56.123456789Z`. */
export function nowRfc3339Nano (): string {
  const [sec, ns] = now()
  return format(sec, ns)
}

/** `2024-05-01T12:34:56.123456789Z` for a nanosecond epoch time. */
export function rfc3339Nano (ns: bigint): string {
  if (ns < 0n) throw new RangeError('rfc3339Nano: time before the epoch')
  return format(Number(ns / NS_PER_S), Number(ns % NS_PER_S))
}
