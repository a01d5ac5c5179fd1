// time.* builtins: Go layouts and durations, IANA zones, int64 range checks.
import t from 'tap'
import { E, table, V } from './helpers.js'
import { parseJsonExact } from '../../../src/exact-json.js'
import { parseDuration } from '../../../src/policy/builtins/time.js'
import { parseLayout, formatCivil } from '../../../src/policy/builtins/golayout.js'
import { loadZone, toCivil } from '../../../src/policy/builtins/tz.js'

t.test('parsing', async t => {
  await table(t, [
    ['time.parse_rfc3339_ns("1970-01-01T00:00:00Z")', V(0)],
    ['time.parse_rfc3339_ns("2017-06-02T19:00:00-07:00")', V(1496455200000000000)],
    ['time.parse_rfc3339_ns("1970-01-01T00:00:01.5Z")', V(1500000000)],
    ['time.parse_rfc3339_ns("1969-12-31T23:59:59.999999999Z")', V(-1)],
    ['time.parse_rfc3339_ns("2017-06-02 19:00:00Z")', E(/^eval_builtin_error: time\.parse_rfc3339_ns: parsing time "2017-06-02 19:00:00Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 19:00:00Z" as "T"$/)],
    ['time.parse_rfc3339_ns("2017-02-30T00:00:00Z")', E(/day out of range/)],
    ['time.parse_rfc3339_ns("2262-04-11T23:47:16.854775808Z")', E(/^eval_builtin_error: time\.parse_rfc3339_ns: time outside of valid range$/)],
    // Go's offset range checks use >: 24 hours, 60 minutes, 60 seconds are taken
    ['time.parse_rfc3339_ns("2017-06-02T19:00:00+00:60")', V(1496426400000000000)],
    ['time.parse_rfc3339_ns("2017-06-02T19:00:00+23:60")', V(1496343600000000000)],
    ['time.parse_rfc3339_ns("2017-06-02T19:00:00+24:00")', V(1496343600000000000)],
    ['time.parse_ns("2006-01-02T15:04:05Z0700", "2017-06-02T19:00:00-0060")', V(1496433600000000000)],
    ['time.parse_ns("2006-01-02T15:04:05Z07:00:00", "2017-06-02T19:00:00+00:00:60")', V(1496429940000000000)],
    ['time.parse_rfc3339_ns("2017-06-02T19:00:00+25:00")', E(/: time zone offset hour out of range$/)],
    ['time.parse_rfc3339_ns("2017-06-02T19:00:00+00:61")', E(/: time zone offset minute out of range$/)],
    ['time.parse_ns("2006-01-02T15:04:05Z07:00:00", "2017-06-02T19:00:00+00:00:61")', E(/: time zone offset second out of range$/)],
    ['time.parse_ns("2006-01-02T15:04:05Z0700", "2017-06-02T19:00:00*0100")', E(/cannot parse "\*0100" as "Z0700"/)],
    // zone abbreviations as Go's parseTimeZone reads them; one the local zone does not know gets
    // a made-up zone at offset 0, but "GMT+h" at h hours
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 ChST")', V(1136160000000000000)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 MeST")', V(1136160000000000000)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 WITA")', V(1136160000000000000)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 +03")', V(1136160000000000000)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 -11")', V(1136160000000000000)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 AEST")', V(1136160000000000000)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 GMT+003")', V(1136149200000000000)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 GMT-5")', V(1136178000000000000)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 GMT")', V(1136160000000000000)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 GMT+24")', E(/extra text: "\+24"/)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 GMT+99")', E(/extra text: "\+99"/)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 +24")', E(/cannot parse "\+24" as "MST"/)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 ESTX")', E(/cannot parse "ESTX" as "MST"/)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 ABCDEF")', E(/cannot parse "ABCDEF" as "MST"/)],
    ['time.parse_ns("2006-01-02 MST", "2006-01-02 Est")', E(/cannot parse "Est" as "MST"/)],
    ['time.parse_ns("2006-01-02", "2020-02-29")', V(1582934400000000000)],
    ['time.parse_ns("RFC1123", "Mon, 02 Jan 2006 15:04:05 UTC")', V(1136214245000000000)],
    ['time.parse_ns("RFC822Z", "02 Jan 06 15:04 -0700")', V(1136239440000000000)],
    ['time.parse_ns("2006-01-02 15:04:05.000", "2020-01-01 00:00:00.123")', V(1577836800123000000)],
    ['time.parse_ns("Jan _2 2006", "Feb  3 2020")', V(1580688000000000000)],
    ['time.parse_ns("3:04PM 2006-01-02", "1:30PM 2020-01-01")', V(1577885400000000000)],
    ['time.parse_ns("January 2, 2006", "march 4, 2021")', V(1614816000000000000)],
    ['time.parse_ns("2006-01-02", "2020-13-01")', E(/month out of range/)],
    ['time.parse_ns("2006-01-02", "2020-01-01x")', E(/extra text: "x"/)],
    ['time.parse_ns("Kitchen", "3:04PM")', E(/^eval_builtin_error: time\.parse_ns: parsing time "3:04PM" as "Kitchen": cannot parse "3:04PM" as "Kitchen"$/)],
    ['time.parse_ns("DateOnly", "2024-01-02")', E(/cannot parse "2024-01-02" as "DateOnly"/)],
    ['time.parse_ns("TimeOnly", "15:04:05")', E(/cannot parse "15:04:05" as "TimeOnly"/)],
    ['time.parse_ns("constructor", "x")', E(/cannot parse "x" as "constructor"/)],
    ['time.parse_duration_ns("1h30m")', V(5400000000000)],
    ['time.parse_duration_ns("1.5s")', V(1500000000)],
    ['time.parse_duration_ns("-2m")', V(-120000000000)],
    ['time.parse_duration_ns("300ms")', V(300000000)],
    ['time.parse_duration_ns("1µs")', V(1000)],
    ['time.parse_duration_ns("0")', V(0)],
    ['time.parse_duration_ns("1.9999999999999999999s")', V(2000000000)], // Go's float fraction
    ['time.parse_duration_ns("0.05885278060000m")', V(3531166835)],
    // days, weeks and years (OPA 1.16, issue 2719): 24h, 7 days, 365 days
    ['time.parse_duration_ns("1d")', V(86400000000000)],
    ['time.parse_duration_ns("1w")', V(604800000000000)],
    ['time.parse_duration_ns("1y")', V(31536000000000000)],
    ['time.parse_duration_ns("1d12h")', V(129600000000000)],
    ['time.parse_duration_ns("1mo")', E(/^eval_builtin_error: time\.parse_duration_ns: time: unknown unit "mo" in duration "1mo"$/)],
    ['time.parse_duration_ns("5")', E(/time: missing unit in duration "5"/)],
    ['time.parse_duration_ns("")', E(/time: invalid duration ""/)],
  ])
})

t.test('date, clock, weekday, add_date, diff', async t => {
  await table(t, [
    ['time.date(0)', V([1970, 1, 1])],
    ['time.date(-1)', V([1969, 12, 31])],
    ['time.date([0, "Asia/Tokyo"])', V([1970, 1, 1])],
    ['time.date([0, "America/Los_Angeles"])', V([1969, 12, 31])],
    ['time.clock([0, "America/New_York"])', V([19, 0, 0])],
    ['time.clock([1582977600000000000, "Asia/Kolkata"])', V([17, 30, 0])],
    ['time.weekday(0)', V('Thursday')],
    ['time.weekday([0, "Asia/Tokyo"])', V('Thursday')],
    ['time.weekday([0, "America/New_York"])', V('Wednesday')],
    ['time.date([0, "Mars/Olympus"])', E(/^eval_builtin_error: time\.date: unknown time zone Mars\/Olympus$/)],
    // zone names as Go's LoadLocation finds them: tz database names, case and all (Intl would
    // take these); "" and "UTC" are UTC in tzTime, aliases and Etc names are tz names
    ['time.clock([0, "utc"])', E(/^eval_builtin_error: time\.clock: unknown time zone utc$/)],
    ['time.clock([0, "america/new_york"])', E(/unknown time zone america\/new_york/)],
    ['time.clock([0, "+05"])', E(/unknown time zone \+05/)],
    ['time.clock([0, "-05"])', E(/unknown time zone -05/)],
    ['time.clock([0, "+0500"])', E(/unknown time zone \+0500/)],
    ['time.clock([0, "Etc/gmt+5"])', E(/unknown time zone Etc\/gmt\+5/)],
    ['time.clock([0, ""])', V([0, 0, 0])],
    ['time.clock([0, "US/Eastern"])', V([19, 0, 0])],
    ['time.clock([0, "Etc/GMT+5"])', V([19, 0, 0])],
    ['time.clock([0, "EST5EDT"])', V([19, 0, 0])],
    ['time.clock([0, "Asia/Calcutta"])', V([5, 30, 0])],
    ['time.clock([0, "Etc/UTC"])', V([0, 0, 0])],
    ['time.date(1.5)', E(/^eval_builtin_error: time\.date: timestamp too big$/)],
    ['time.date("x")', E(/^eval_type_error: time\.date: operand 1 must be either number \(ns\) or \[number \(ns\), string \(tz\)\] but got string$/)],
    ['time.add_date(0, 1, 1, 1)', V(34300800000000000)],
    // Go normalises: Jan 31 + 1 month = Mar 2 (2020 is a leap year)
    ['time.add_date(1580428800000000000, 0, 1, 0)', V(1583107200000000000)],
    ['time.add_date(0, 0, 0, -1)', V(-86400000000000)],
    ['time.add_date(0, 1.5, 0, 0)', E(/operand 2 must be integer number but got floating-point number/)],
    // [ns, tz] as the other time builtins take it: a day on New York's wall clock across the
    // 2024-03-10 DST change is 23 hours
    ['time.add_date(input.t, 0, 0, 1)', V(1710129600000000000)],
    ['time.add_date(input.u, 0, 0, 1)', V(86400000000000)],
    ['time.add_date(input.v, 0, 1, 0)', V(1712721600000000000)],
    ['time.diff(0, 86400000000000)', V([0, 0, 1, 0, 0, 0])],
    ['time.diff(time.parse_rfc3339_ns("2021-01-31T00:00:00Z"), time.parse_rfc3339_ns("2021-03-01T00:00:00Z"))', V([0, 1, 1, 0, 0, 0])],
    ['time.diff(time.parse_rfc3339_ns("2000-01-01T00:00:00Z"), time.parse_rfc3339_ns("1999-12-31T23:59:59Z"))', V([0, 0, 0, 0, 0, 1])],
    ['time.diff([0, "UTC"], [0, "Asia/Tokyo"])', V([0, 0, 0, 0, 0, 0])],
  ], { t: [1710046800000000000, 'America/New_York'], u: [0], v: [1710046800000000000, 'America/New_York', 'RFC3339'] })
})

t.test('time.format', async t => {
  await table(t, [
    ['time.format(0)', V('1970-01-01T00:00:00Z')],
    // nanoseconds past 2^53 reach the builtin exactly (the SDK's doubles would end in ...864)
    ['time.format(1670006453141828752)', V('2022-12-02T18:40:53.141828752Z')],
    ['time.format([1670006453141828752, "Asia/Kolkata"])', V('2022-12-03T00:10:53.141828752+05:30')],
    ['time.add_date(1670006453141828752, 0, 0, 1) - 1670006453141828752', V(86400000000000)],
    ['time.add_date(1670006453141828751, 0, 0, 0)', V(parseJsonExact('1670006453141828751'))],
    ['time.format(1500000000)', V('1970-01-01T00:00:01.5Z')],
    ['time.format([0, "Asia/Kolkata"])', V('1970-01-01T05:30:00+05:30')],
    ['time.format([0, "UTC", "Mon Jan _2 15:04:05 2006"])', V('Thu Jan  1 00:00:00 1970')],
    ['time.format([0, "UTC", "RFC822"])', V('01 Jan 70 00:00 UTC')],
    ['time.format([0, "UTC", "RFC1123Z"])', V('Thu, 01 Jan 1970 00:00:00 +0000')],
    // OPA names only ANSIC, UnixDate, RubyDate, RFC822(Z), RFC850, RFC1123(Z), RFC3339(Nano):
    // Go's other names are literal layouts there; an empty layout is RFC3339Nano
    ['time.format([0, "UTC", "Kitchen"])', V('Kitchen')],
    ['time.format([0, "UTC", "DateOnly"])', V('DateOnly')],
    ['time.format([0, "UTC", "StampMilli"])', V('StampMilli')],
    ['time.format([0, "UTC", "constructor"])', V('constructor')],
    ['time.format([0, "UTC", ""])', V('1970-01-01T00:00:00Z')],
    ['time.format([1500000000, "Asia/Kolkata", ""])', V('1970-01-01T05:30:01.5+05:30')],
    ['time.format([0, "UTC", "RFC850"])', V('Thursday, 01-Jan-70 00:00:00 UTC')],
    ['time.format([1500000000, "UTC", "2006-01-02T15:04:05.000Z07:00"])', V('1970-01-01T00:00:01.500Z')],
    ['time.format([0, "America/New_York", "Monday, 02-Jan-06 15:04:05 MST"])', V('Wednesday, 31-Dec-69 19:00:00 EST')],
    ['time.format([0, "Asia/Kolkata", "2006-01-02 15:04:05 -07:00:00 Z07 __2 002 pm"])', V('1970-01-01 05:30:00 +05:30:00 +05   1 001 am')],
    ['time.format(1582977600 * 10e12)', E(/^eval_builtin_error: time\.format: timestamp too big$/)],
  ])
})

t.test('layout engine: round trips and details', async t => {
  const ns = 1670006453141828752n
  const layouts = ['2006-01-02T15:04:05.999999999Z07:00', 'Mon, 02 Jan 2006 15:04:05.000000000 -0700', 'Jan _2 2006 03:04:05.000000000PM Z0700']
  for (const l of layouts) {
    for (const zone of ['UTC', 'Asia/Kolkata', 'America/New_York']) {
      const s = formatCivil(toCivil(ns, loadZone(zone)), l)
      t.equal(parseLayout(l, s), ns, `${l} in ${zone}: ${s}`)
    }
  }
  t.equal(formatCivil(toCivil(ns, loadZone('UTC')), '2006-01-02T15:04:05.999999999Z07:00'), '2022-12-02T18:40:53.141828752Z', 'exact nanoseconds when the value is exact')
  t.equal(parseDuration('1h1m1s1ms1us1ns'), 3661001001001n)
  t.equal(parseDuration('2562047h47m16.854775807s'), 2n ** 63n - 1n)
  t.throws(() => parseDuration('2562048h'), /invalid duration/)
  // Go's fractions (review helper, 2026-12-07: they were added exactly, truncated): the digits
  // kept while they fit in 2^63, times the float64 unit / 10^digits, truncated
  t.equal(parseDuration('1.9999999999999999999s'), 2_000_000_000n, '19 nines: 18 kept, the float product rounds up to 1s')
  t.equal(parseDuration('1.99999999999999999999999999s'), 2_000_000_000n, 'digits past 2^63 are ignored')
  t.equal(parseDuration('0.05885278060000m'), 3_531_166_835n, 'float product just under the exact integer')
  t.equal(parseDuration('0.4312270523630555h'), 1_552_417_388_507n, 'float product just over')
  t.equal(parseDuration('1.0000000005s'), 1_000_000_000n)
  t.equal(parseDuration('1.9999999999s'), 1_999_999_999n)
  t.equal(parseDuration('0.5ns'), 0n)
  t.equal(parseDuration('1.5ns'), 1n)
  t.equal(parseDuration('9223372036854775807ns'), 2n ** 63n - 1n)
  t.equal(parseDuration('-9223372036854775808ns'), -(2n ** 63n))
  t.equal(parseDuration('-2562047h47m16.854775808s'), -(2n ** 63n))
  t.throws(() => parseDuration('9223372036854775808ns'), /^time: invalid duration "9223372036854775808ns"$/)
  t.throws(() => parseDuration('-9223372036854775809ns'), /invalid duration/)
  t.throws(() => parseDuration('2562047h47m16.854775808s'), /invalid duration/)
  t.throws(() => parseDuration('99999999999999999999ns'), /invalid duration/)
  // Go's time package quotes its errors itself: non-ASCII bytes as \xNN
  t.throws(() => parseDuration('1µx'), { message: 'time: unknown unit "\\xc2\\xb5x" in duration "1\\xc2\\xb5x"' })
  t.equal(parseLayout('2006-01-02T15:04:05Z07:00', '1677-09-21T00:12:43.145224192-00:00'), -(2n ** 63n), 'beyond float64 precision, exact')
})
