// Replaying the decision log of ext_authz listeners: each event is read under the contract it was
// decided by (opa-envoy-plugin's: `allowed`, headers as a list of objects,
// request_headers_to_remove, query_parameters_to_remove, dynamic_metadata), as its
// labels.bouncer_mode says. Read under the proxy's contract, every plugin-form result was the
// same decision error on both sides, "unchanged", so a candidate that opened /admin replayed as
// 0 changes with exit 0 (review, session 54).
// Real parts: the ext_authz gRPC listener with a real decision log, policies compiled from Rego.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli/replay.js'
import { replay } from '../../src/replay/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'
import { authzClient, checkRequest, startExtAuthz } from '../ext-authz/fixtures/client.js'

const CURRENT = `package envoy.authz

import rego.v1

default allow := false

allow if startswith(input.parsed_path[0], "api")

result := {
  "allowed": allow,
  "headers": [{"x-checked": "yes"}],
  "request_headers_to_remove": ["x-internal-admin"],
  "query_parameters_to_remove": ["debug"],
  "dynamic_metadata": {"tier": "gold"},
}
`
const variant = (dir: string, name: string, rego: string): string => {
  const d = join(dir, name)
  mkdirSync(d)
  writeFileSync(join(d, 'policy.rego'), rego)
  return d
}

t.test('ext_authz events replay under the plugin contract: the same policy is unchanged, an opened route and dropped removals are changes', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const b = await startExtAuthz({
    rego: CURRENT, entrypoint: 'envoy/authz/result',
    config: { decision_logs: { enabled: true, sinks: ['file'], file_path: join(dir, 'export.jsonl'), spool_dir: spool } },
  })
  const c = authzClient(b.grpcPort)
  const codes: number[] = []
  for (const path of ['/api/a', '/api/b?debug=1', '/admin/x', '/other']) {
    codes.push((await c.check(checkRequest({ path, headers: { 'x-internal-admin': '1' } }))).status?.code ?? 0)
  }
  c.close()
  await b.close()
  t.same(codes, [0, 0, 7, 7], 'what the listener answered (OK, OK, PERMISSION_DENIED twice)')

  const same = variant(dir, 'same', CURRENT)
  const opened = variant(dir, 'opened', CURRENT.replace('allow if startswith(input.parsed_path[0], "api")', 'allow if startswith(input.parsed_path[0], "api")\n\nallow if input.parsed_path[0] == "admin"'))
  const keeps = variant(dir, 'keeps', CURRENT.replace('"request_headers_to_remove": ["x-internal-admin"],', '').replace('"query_parameters_to_remove": ["debug"],', ''))
  const meta = variant(dir, 'meta', CURRENT.replace('"tier": "gold"', '"tier": "silver"'))
  const run = (policy: string) => replay({ logs: [spool], policy, entrypoint: 'envoy/authz/result' })

  const r0 = await run(same)
  t.same([r0.totals.evaluated, r0.totals.unchanged, r0.totals.changed], [4, 4, 0], 'the same policy: every decision reproduced')
  t.same(r0.changes.filter((g) => g.count > 0), [])

  const r1 = await run(opened)
  t.same(r1.changes.filter((g) => g.count > 0).map((g) => [g.kind, g.count]), [['deny-to-allow', 1]], '/admin opened: one deny → allow')

  const r2 = await run(keeps)
  t.same(r2.changes.filter((g) => g.count > 0).map((g) => [g.kind, g.count]), [['headers', 2]], 'no longer removing a header and a query parameter: the two allows change')

  const r3 = await run(meta)
  t.same(r3.changes.filter((g) => g.count > 0).map((g) => [g.kind, g.count]), [['metadata', 4]], 'dynamic_metadata is compared')

  const io = { stdout: () => {}, stderr: () => {} }
  t.equal(await main(['--log', spool, '--policy', opened, '--entrypoint', 'envoy/authz/result', '--fail-on', 'deny-to-allow'], io), 1, 'a CI gate on deny-to-allow fails')
  t.equal(await main(['--log', spool, '--policy', same, '--entrypoint', 'envoy/authz/result', '--fail-on', 'any'], io), 0)

  // The one record the candidate would flip, edited (its content no longer matches its hash): it
  // is left out, and a gate on deny-to-allow cannot vouch for the candidate. It exited 0.
  const lines = readFileSync(join(dir, 'export.jsonl'), 'utf8').trimEnd().split('\n')
  const edited = lines.map((l) => l.includes('"/admin/x"') ? l.replace('"x-internal-admin":"1"', '"x-internal-admin":"2"') : l)
  t.not(edited.join('\n'), lines.join('\n'), 'the /admin record was edited')
  const tampered = join(dir, 'tampered.jsonl')
  writeFileSync(tampered, edited.join('\n') + '\n')
  const err: string[] = []
  t.equal(await main(['--log', tampered, '--policy', opened, '--entrypoint', 'envoy/authz/result', '--fail-on', 'deny-to-allow'], { stdout: () => {}, stderr: (s: string) => { err.push(s) } }), 1)
  t.match(err.join(''), /edited-records-left-out: 1/)
  // Nothing replayed at all: every record edited.
  const allEdited = join(dir, 'all-edited.jsonl')
  writeFileSync(allEdited, lines.map((l) => l.replace('"x-internal-admin":"1"', '"x-internal-admin":"2"')).join('\n') + '\n')
  err.length = 0
  t.equal(await main(['--log', allEdited, '--policy', same, '--entrypoint', 'envoy/authz/result', '--fail-on', 'deny-to-allow'], { stdout: () => {}, stderr: (s: string) => { err.push(s) } }), 1)
  t.match(err.join(''), /nothing-replayed/)
})
