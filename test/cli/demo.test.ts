// `npm start` (src/cli/demo.ts) is the first thing a reader runs: start it as a process on
// free ports, replay every curl command it prints (with the tokens it prints), and check each
// does what its comment says — the masked call in particular (issue 5).
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { request } from 'undici'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

interface Printed { comment: string; url: string; headers: Record<string, string> }

/** The curl commands the demo printed, each with the comment line above it. */
function parseCommands (text: string): Printed[] {
  const vars = new Map<string, string>()
  for (const m of text.matchAll(/^ {2}([A-Z]+)=(\S+)$/gm)) vars.set(m[1], m[2])
  const out: Printed[] = []
  // A command's description is the run of comment lines above it (a blank line ends a block).
  let comment = ''
  for (const line of text.split('\n')) {
    if (line === '') { comment = ''; continue }
    if (line.startsWith('# ')) { comment = comment ? `${comment} ${line.slice(2)}` : line.slice(2); continue }
    if (!line.startsWith('curl ')) continue
    const expand = (s: string) => s.replace(/\$([A-Z]+)/g, (_, v: string) => vars.get(v) ?? `$${v}`)
    const headers: Record<string, string> = {}
    for (const h of line.matchAll(/-H "([^"]+)"/g)) {
      const [name, ...rest] = expand(h[1]).split(':')
      headers[name.trim().toLowerCase()] = rest.join(':').trim()
    }
    const url = /"?(http:\/\/[^"\s]+)"?/.exec(line.replace(/-H "[^"]+"/g, ''))![1]
    out.push({ comment, url, headers })
  }
  return out
}

t.test('npm start: the printed curl commands work as described', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts', '--port', '0', '--admin-port', '0'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  const deadline = Date.now() + 60_000
  while (!out.includes('Ctrl-C to stop.') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  if (!t.ok(out.includes('Ctrl-C to stop.'), 'the demo starts and prints its commands')) { t.comment(err); return }

  const cmds = parseCommands(out)
  t.equal(cmds.length, 9, 'nine commands')
  const byComment = (re: RegExp) => {
    const c = cmds.find((x) => re.test(x.comment))
    if (!c) throw new Error(`no command for ${re}`)
    return c
  }
  const run = async (c: Printed) => {
    const r = await request(c.url, { headers: c.headers })
    return { status: r.statusCode, headers: r.headers, text: await r.body.text() }
  }

  t.equal((await run(byComment(/public route/))).status, 200, 'public route: allowed without a token')
  const admin = await run(byComment(/alice is an admin/))
  t.equal(admin.status, 200, 'admin: allowed')
  t.match(admin.text, /123-45-6789/, 'an admin sees the ssn')

  const masked = await run(byComment(/^masked/))
  t.equal(masked.status, 200, 'support: allowed, masked')
  const doc = JSON.parse(masked.text) as { customers: Record<string, string>[] }
  t.equal(doc.customers.length, 2, 'both customers of acme')
  t.notMatch(masked.text, /123-45-6789|ada@acme\.test|1815-12-10/, 'ssn, email and birth date are not shown to support')
  t.equal(doc.customers[0].ssn, '[REDACTED]', 'ssn redacted')
  t.match(doc.customers[0].card, /^\*+1111$/, 'card keeps its last 4 digits only')
  t.equal(doc.customers[0].name, 'Ada Lovelace', 'unmasked fields are intact')
  t.match(masked.headers['cache-control'], /^private/, 'the masked view is private to the caller')

  t.equal((await run(byComment(/\(401\)/))).status, 401, 'no token: 401')
  t.equal((await run(byComment(/vera/))).status, 403, 'viewer: 403')
  t.equal((await run(byComment(/tenant isolation/))).status, 403, 'other tenant: 403')
  t.equal((await run(byComment(/encoded slash/))).status, 400, 'encoded slash: 400')
  const ready = cmds.find((c) => c.url.endsWith('/readyz'))!
  t.equal((await run(ready)).status, 200, 'ready')
  const metrics = cmds.find((c) => c.url.endsWith('/metrics'))!
  t.match((await run(metrics)).text, /bouncer_requests_total\{decision="allow",status="200"\} 3/, 'the three allowed calls are counted')

  // The file sink gets events from the uploader in batches (decision_logs.min_delay_seconds):
  // wait until every recorded event has been delivered, so the file is the whole record.
  const counted = (text: string, outcome: string): number => Number(new RegExp(`bouncer_decision_log_events_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? -1)
  const logDeadline = Date.now() + 60_000
  let delivered = false
  while (!delivered && Date.now() < logDeadline) {
    const m = (await run(metrics)).text
    const recorded = counted(m, 'recorded')
    delivered = recorded > 0 && counted(m, 'uploaded') === recorded
    if (!delivered) await new Promise((r) => setTimeout(r, 100))
  }
  t.ok(delivered, 'every recorded decision reached the file sink')

  // The decision-log commands it prints, run as printed (the built CLI): the log verifies, and
  // the replay against the edited copy of the policy finds bob's call now denied.
  const shell = out.split('\n').filter((l) => /^(npx bouncer |cp -r |node -e )/.test(l))
  t.equal(shell.length, 5, 'verify-log, evidence, cp, the edit, replay')
  const results: Array<{ line: string; status: number | null; stdout: string; stderr: string }> = []
  for (const line of shell) {
    const cmd = line.startsWith('npx bouncer ') ? `${JSON.stringify(process.execPath)} bin/bouncer.js ${line.slice('npx bouncer '.length)}` : line
    const r = spawnSync('bash', ['-c', cmd], { cwd: ROOT, encoding: 'utf8' })
    results.push({ line, status: r.status, stdout: r.stdout, stderr: r.stderr })
  }
  const verify = results.find((r) => r.line.startsWith('npx bouncer verify-log'))!
  t.equal(verify.status, 0, `verify-log: the chain is intact ${verify.stderr}`)
  t.match(verify.stdout, /^OK: /)
  const replayed = results.find((r) => r.line.startsWith('npx bouncer replay'))!
  t.equal(replayed.status, 0, `replay runs ${replayed.stderr}`)
  t.match(replayed.stdout, /Integrity: complete\./)
  t.match(replayed.stdout, /unchanged: +\d+\n +changed: +1\n/, 'one decision changes')
  t.match(replayed.stdout, /allow → deny +1 +allow-to-deny/)
  t.match(replayed.stdout, /GET \/v1\/customers {2}allow → deny 403/, 'bob\'s masked call')
  t.match(replayed.stdout, /input incomplete: +0\n/, 'the erased authorization header is not read by the policy (it reads input.identity)')

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM stops it cleanly')
})
