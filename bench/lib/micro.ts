// Micro-benchmarks, each in a fresh process: policy evaluation (opa-wasm vs hand-written JS)
// and compile time are ours (bench/micro/); mask cost, cache-key derivation and spool append
// reuse the other helpers' benchmarks (bench/mask.ts, bench/cache.ts, bench/spool.ts) as
// child processes and read their output. A benchmark that cannot run is reported with the
// reason and its numbers are null.
import { join } from 'node:path'
import { BENCH_DIR, spawnTs } from './procs.js'

export interface MicroResults {
  eval_ns: number | null
  eval_js_ns: number | null
  /** the evaluation as the proxy calls it: projected input, serialised, passed as bytes (absent in older results) */
  eval_projected_ns?: number | null
  compile_ms: number | null
  /** maskUpstreamResponse of the 100 KB page with rules of the default policy's kinds (no `hash`; before 2026-12-05: with one) */
  mask_100kb_ms: number | null
  /** JSON.parse of the same body, the yardstick of issue 18's masking target (absent in older results) */
  json_parse_100kb_ms?: number | null
  /** extras */
  eval_ratio: number | null
  compile_cold_ms: number | null
  cache_key_ns: number | null
  spool_append_ns: number | null
  eval_cases_agreeing: number | null
  eval_unstable: string[]
  skipped: Record<string, string>
}

export function emptyMicro (): MicroResults {
  return {
    eval_ns: null, eval_js_ns: null, eval_projected_ns: null, compile_ms: null, mask_100kb_ms: null, json_parse_100kb_ms: null,
    eval_ratio: null, compile_cold_ms: null, cache_key_ns: null, spool_append_ns: null, eval_cases_agreeing: null, eval_unstable: [], skipped: {},
  }
}

/** Runs a script, returns its exit code and output (bounded by timeoutMs). */
async function runScript (name: string, file: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; msg?: Record<string, unknown> }> {
  const c = spawnTs(name, file, args)
  let out = ''
  c.proc.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  const msg = c.message(['result', 'error'], timeoutMs).catch((e: Error) => ({ type: 'error', message: e.message }) as Record<string, unknown>)
  const timer = setTimeout(() => { void c.stop(500) }, timeoutMs)
  const code = await c.exited
  clearTimeout(timer)
  await c.stop()
  // Scripts that speak the BENCH protocol answer with a message; the others just print.
  const m = /^BENCH /m.test(out) ? await msg : undefined
  return { code, out: out + '\n' + c.tail(), msg: m }
}

export async function runMicro (quick: boolean, log: (s: string) => void): Promise<MicroResults> {
  const r = emptyMicro()
  const q = quick ? ['--quick'] : []
  const fail = (what: string, why: string) => { r.skipped[what] = why.trim().split('\n').slice(0, 6).join(' | '); log(`  ${what}: not measured (${r.skipped[what]})`) }

  log('  policy evaluation: opa-wasm vs hand-written JS')
  const ev = await runScript('micro-eval', join(BENCH_DIR, 'micro', 'eval.ts'), q, 180_000)
  if (ev.msg?.type === 'result') {
    r.eval_ns = ev.msg.eval_ns as number
    r.eval_js_ns = ev.msg.eval_js_ns as number
    r.eval_ratio = r.eval_ns / r.eval_js_ns
    r.eval_projected_ns = typeof ev.msg.eval_projected_ns === 'number' ? ev.msg.eval_projected_ns : null
    r.eval_cases_agreeing = ev.msg.agree as number
    r.eval_unstable = (ev.msg.unstable as string[] | undefined) ?? []
  } else fail('eval', String(ev.msg?.message ?? ev.out))

  log('  compile time of policies/')
  const co = await runScript('micro-compile', join(BENCH_DIR, 'micro', 'compile.ts'), q, 180_000)
  if (co.msg?.type === 'result') {
    r.compile_ms = co.msg.compile_ms as number
    r.compile_cold_ms = co.msg.compile_cold_ms as number
  } else fail('compile', String(co.msg?.message ?? co.out))

  log('  mask cost per 100 KB (bench/mask.ts)')
  const mk = await runScript('micro-mask', join(BENCH_DIR, 'mask.ts'), quick ? ['--runs', '3', '--iterations', '30'] : ['--runs', '7', '--iterations', '100'], 300_000)
  // The row of the default policy's kinds of rules (redact, last4, remove): with a `hash` rule
  // one HMAC per value dominates (see bench/mask.ts's other rows).
  const mm = /^maskUpstreamResponse identity, hash -> redact\s+([\d.]+)/m.exec(mk.out)
  const jp = /^JSON\.parse only\s+([\d.]+)/m.exec(mk.out)
  if (mk.code === 0 && mm && jp) { r.mask_100kb_ms = Number(mm[1]); r.json_parse_100kb_ms = Number(jp[1]) } else fail('mask', mk.code === 0 ? 'bench/mask.ts output has no "maskUpstreamResponse identity, hash -> redact" or "JSON.parse only" row' : mk.out)

  log('  cache-key derivation (bench/cache.ts)')
  const ca = await runScript('micro-cache', join(BENCH_DIR, 'cache.ts'), [], 300_000)
  const cm = /^\s*compiled, 6 read paths\s+([\d.]+)/m.exec(ca.out)
  if (ca.code === 0 && cm) r.cache_key_ns = Number(cm[1]) * 1000
  else fail('cache_key', ca.code === 0 ? 'bench/cache.ts output has no "compiled, 6 read paths" row' : ca.out)

  log('  decision-log record() (bench/spool.ts, default: group, fsync interval)')
  const sp = await runScript('micro-spool', join(BENCH_DIR, 'spool.ts'),
    ['--contender', 'group, fsync interval', '--events', quick ? '5000' : '20000', '--runs', quick ? '3' : '5'], 300_000)
  const line = sp.out.split('\n').map((l) => l.trim()).find((l) => l.startsWith('{') && l.includes('meanUs'))
  if (sp.code === 0 && line) r.spool_append_ns = (JSON.parse(line) as { meanUs: number }).meanUs * 1000
  else fail('spool_append', sp.code === 0 ? 'bench/spool.ts printed no {"meanUs":...} line' : sp.out)
  return r
}
