// Wall-clock nanoseconds and RFC 3339 timestamps with nine fractional digits.
//
// OPA writes decision timestamps as RFC 3339 with nanoseconds. Date.now() only has
// milliseconds, so the wall clock is anchored once to the monotonic hrtime clock and read
// through it; that also keeps timestamps of consecutive events non-decreasing when NTP slews
// the wall clock (an audit reader expects seq order and time order to agree).

const NS_PER_MS = 1_000_000n
const NS_PER_S = 1_000_000_000n

const anchorNs = BigInt(Date.now()) * NS_PER_MS - process.hrtime.bigint()

/** Nanoseconds since the Unix epoch. */
export function nowNs (): bigint {
  return anchorNs + process.hrtime.bigint()
}

/** `2024-05-01T12:34:56.123456789Z` for a nanosecond epoch time. */
export function rfc3339Nano (ns: bigint): string {
  if (ns < 0n) throw new RangeError('rfc3339Nano: time before the epoch')
  const iso = new Date(Number(ns / NS_PER_MS)).toISOString() // 2024-05-01T12:34:56.123Z
  const frac = (ns % NS_PER_S).toString().padStart(9, '0')
  return iso.slice(0, 19) + '.' + frac + 'Z'
}
