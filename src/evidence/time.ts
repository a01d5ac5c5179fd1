// Event timestamps, read fast. The logger writes RFC 3339 with nanoseconds in UTC
// ("2025-01-31T12:00:00.123456789Z"); Date.parse is the definition (a report over other text
// must say what it always said), but it costs more than the rest of a record's bookkeeping.
// parseTime reads the time of day from that layout itself and asks Date.parse only for the
// start of the day, once per day (events come in order); anything else goes to Date.parse.

let lastDay = ''
let lastDayMs = NaN

function digit (s: string, i: number): number {
  const c = s.charCodeAt(i) - 48
  return c >= 0 && c <= 9 ? c : -1
}

/** Date.parse(s), the same number (or NaN) for every string. */
export function parseTime (s: string): number {
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z
  const n = s.length
  if (n < 20 || n > 30 || s.charCodeAt(10) !== 84 /* T */ || s.charCodeAt(n - 1) !== 90 /* Z */ || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return Date.parse(s)
  const h1 = digit(s, 11); const h2 = digit(s, 12); const m1 = digit(s, 14); const m2 = digit(s, 15); const s1 = digit(s, 17); const s2 = digit(s, 18)
  if (h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0 || s1 < 0 || s2 < 0) return Date.parse(s)
  const hh = h1 * 10 + h2
  const mm = m1 * 10 + m2
  const ss = s1 * 10 + s2
  if (hh > 23 || mm > 59 || ss > 59) return Date.parse(s)
  let ms = 0
  if (n === 20) {
    // no fraction
  } else {
    if (s.charCodeAt(19) !== 46 /* . */ || n === 21) return Date.parse(s)
    // the first three digits of the fraction are the milliseconds; the rest only need to be digits
    let scale = 100
    for (let i = 20; i < n - 1; i++) {
      const d = digit(s, i)
      if (d < 0) return Date.parse(s)
      ms += d * scale
      scale = scale >= 10 ? scale / 10 : 0
    }
  }
  if (!(lastDay.length === 10 && s.startsWith(lastDay))) {
    if (digit(s, 0) < 0 || digit(s, 1) < 0 || digit(s, 2) < 0 || digit(s, 3) < 0 || s.charCodeAt(4) !== 45 || digit(s, 5) < 0 || digit(s, 6) < 0 ||
        s.charCodeAt(7) !== 45 || digit(s, 8) < 0 || digit(s, 9) < 0) return Date.parse(s)
    lastDay = s.slice(0, 10)
    lastDayMs = Date.parse(lastDay + 'T00:00:00Z')
  }
  if (Number.isNaN(lastDayMs)) return Date.parse(s)
  return lastDayMs + hh * 3_600_000 + mm * 60_000 + ss * 1000 + ms
}
