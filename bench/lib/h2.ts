// HTTP/2 load with h2load (Debian's nghttp2-client): installing it when missing, one bounded run,
// and its summary parsed. Loopback targets only.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ECHO_PROTO = fileURLToPath(new URL('../../test/proxy/fixtures/echo.proto', import.meta.url))

/** bouncer.test.Msg{text:"hello", n:1}, gRPC-framed (uncompressed, 4-byte big-endian length). */
export const GRPC_UNARY_BODY = (() => {
  const msg = Buffer.from([0x0a, 0x05, ...Buffer.from('hello'), 0x10, 0x01])
  const head = Buffer.alloc(5)
  head.writeUInt32BE(msg.length, 1)
  return Buffer.concat([head, msg])
})()

/** The h2load binary, installed with apt-get (as root) when it is not on PATH. */
export function ensureH2load (): string {
  const found = (): string | undefined => {
    const r = spawnSync('sh', ['-c', 'command -v h2load'], { encoding: 'utf8' })
    return r.status === 0 ? r.stdout.trim() : undefined
  }
  let bin = found()
  if (bin) return bin
  console.log('h2load not found: installing nghttp2-client with apt-get')
  const install = (): number | null => spawnSync('apt-get', ['install', '-y', '-qq', 'nghttp2-client'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status
  if (install() !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' })
    install()
  }
  bin = found()
  if (!bin) throw new Error('h2load is not available and `apt-get install -y nghttp2-client` did not provide it (run it as root)')
  return bin
}

export interface H2Spec {
  /** http://127.0.0.1:PORT/path (h2c with prior knowledge) */
  readonly url: string
  readonly clients: number
  /** concurrent streams per connection */
  readonly streams: number
  readonly durationS: number
  readonly warmupS: number
  readonly headers?: Readonly<Record<string, string>>
  /** request body file (POST) */
  readonly dataFile?: string
}

export interface H2Result {
  readonly rps: number
  readonly requests: number
  readonly succeeded: number
  readonly failed: number
  readonly errored: number
  readonly status2xx: number
  /** 3xx + 4xx + 5xx answers */
  readonly statusOther: number
  readonly meanMs: number
  readonly maxMs: number
  readonly sdMs: number
}

const toMs = (v: string): number => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v)
  if (!m) return NaN
  const n = Number(m[1])
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n
}

export function parseH2load (out: string): H2Result {
  const finished = /finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)
  const reqs = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out)
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out)
  const lat = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out)
  if (!finished || !reqs || !lat) throw new Error(`cannot parse h2load output:\n${out.slice(-1500)}`)
  return {
    rps: Number(finished[1]),
    requests: Number(reqs[1]),
    succeeded: Number(reqs[2]),
    failed: Number(reqs[3]),
    errored: Number(reqs[4]),
    status2xx: status ? Number(status[1]) : 0,
    statusOther: status ? Number(status[2]) + Number(status[3]) + Number(status[4]) : 0,
    meanMs: toMs(lat[3]!),
    maxMs: toMs(lat[2]!),
    sdMs: toMs(lat[4]!),
  }
}

/** One h2load run; killed if it outlives its duration by 20 s. */
export function runH2load (bin: string, spec: H2Spec): Promise<H2Result> {
  const u = new URL(spec.url)
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error(`h2load targets loopback only, not ${u.hostname}`)
  const args = ['-t', '1', '-c', String(spec.clients), '-m', String(spec.streams), '-D', String(spec.durationS), '--warm-up-time', String(spec.warmupS)]
  for (const [k, v] of Object.entries(spec.headers ?? {})) args.push('-H', `${k}: ${v}`)
  if (spec.dataFile) args.push('-d', spec.dataFile)
  args.push(spec.url)
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (d) => { out += String(d) })
    p.stderr.on('data', (d) => { out += String(d) })
    const timer = setTimeout(() => p.kill('SIGKILL'), (spec.durationS + spec.warmupS + 20) * 1000)
    p.on('error', (e) => { clearTimeout(timer); reject(e) })
    p.on('exit', (code) => {
      clearTimeout(timer)
      try { resolve(parseH2load(out)) } catch (e) { reject(new Error(`h2load exited ${code}: ${(e as Error).message}`)) }
    })
  })
}
