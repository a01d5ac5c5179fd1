// bouncer replay --log PATH --policy CANDIDATE [--entrypoint E] [--baseline CURRENT]
//                [--format table|json] [--fail-on KIND,...] [--examples N]
// What a policy change would do to recorded traffic (src/replay). Exit status: 0 replayed,
// 1 a change of a kind listed in --fail-on, 2 usage error, a policy that does not load
// (compile errors with file:line:col) or a log that cannot be read.
import { readFileSync } from 'node:fs'
import { SIGNING_ALGORITHMS, type SigningAlgorithm, type VerificationConfig } from '../bundle/index.js'
import { isBouncerError } from '../errors.js'
import { describeIoError } from '../evidence/source.js'
import { CHANGE_KINDS, FAIL_ON_EXTRA, failures, parseKinds, renderReplay, replay, type ReadProgress, type ReplayFormat, type ReplayReport } from '../replay/index.js'
import { bool, type CliIo, type CommandSpec, EXIT_ERROR, EXIT_FAILURE, EXIT_OK, parseOrExit, processIo, str, strs, usageError } from './args.js'

export const spec: CommandSpec = {
  name: 'replay',
  summary: 'Evaluate the inputs of a decision log with a candidate policy and report the decisions that change.',
  usage: '--log PATH --policy CANDIDATE [--baseline CURRENT] [--format table|json] [--fail-on KIND,...] [flags]',
  description: 'PATH is a spool directory, an export file (JSON lines, JSON arrays, gzip\'d upload bodies) or a\n' +
    'directory of exports; its hash chain is verified as it is read, and every break is reported with\n' +
    'its file and line. CANDIDATE and CURRENT are a directory or file of Rego, or a bundle .tar.gz.\n' +
    'Without --baseline each decision is compared with the one recorded in the log.\n' +
    'Changes are grouped by kind: ' + CHANGE_KINDS.slice(0, 5).join(', ') + ',\n' + CHANGE_KINDS.slice(5).join(', ') + '.\n' +
    'Events whose logged input was erased or masked where the policy reads it are replayed but\n' +
    'counted apart as "input incomplete".\n' +
    '--fail-on takes change kinds, "any" (every change kind), "input-incomplete" and\n' +
    '"incomplete-record" (the log has breaks or declared drops, or a chain does not start at seq 1);\n' +
    '"any" does not include the last two: name them too (--fail-on any,incomplete-record).\n' +
    'With any --fail-on, a run that replayed nothing, or left out edited records, exits 1 too.\n' +
    'Events of ext_authz listeners (labels.bouncer_mode) are read under opa-envoy-plugin\'s\n' +
    'result contract, as they were decided (query_parameters_to_remove, query_parameters_to_set and dynamic_metadata compared).\n' +
    'Exit status: 0 replayed, 1 a change of a kind listed in --fail-on, 2 usage error, a policy\n' +
    'that fails to load or compile, or a log that cannot be read.',
  flags: {
    log: { type: 'string', multiple: true, arg: 'PATH', help: 'decision log to replay (required)' },
    policy: { type: 'string', arg: 'CANDIDATE', help: 'the candidate policy (required)' },
    baseline: { type: 'string', arg: 'CURRENT', help: 'compare with this policy instead of the recorded decisions' },
    entrypoint: { type: 'string', short: 'e', arg: 'E', help: 'the decision entrypoint', default: 'bouncer/decision' },
    format: { type: 'string', short: 'f', arg: 'FORMAT', help: 'output format', choices: ['table', 'json'], default: 'table' },
    'fail-on': { type: 'string', multiple: true, arg: 'KINDS', help: 'exit 1 when a change of these kinds is found (comma-separated)' },
    examples: { type: 'string', arg: 'N', help: 'example decision ids per group', default: '5' },
    'v0-compatible': { type: 'boolean', help: 'compile Rego policies as Rego v0' },
    'verification-key': { type: 'string', arg: 'FILE', help: 'verify signed bundle archives with this key (PEM public key, or the secret for HS*)' },
    'verification-alg': { type: 'string', arg: 'ALG', help: 'the key\'s algorithm', choices: SIGNING_ALGORITHMS, default: 'RS256' },
    'verification-key-id': { type: 'string', arg: 'ID', help: 'the key\'s id (default: whatever id the signature names)' },
  },
  positionals: { min: 0, max: 0 },
}

const ENTRYPOINT = /^[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*$/

export async function main (argv: string[], io: CliIo = processIo): Promise<number> {
  const a = parseOrExit(spec, argv, io)
  if (typeof a === 'number') return a
  const logs = strs(a.values, 'log')
  if (logs.length === 0) return usageError(spec, '--log is required', io)
  const policy = str(a.values, 'policy')
  if (policy === undefined) return usageError(spec, '--policy is required', io)
  const entrypoint = str(a.values, 'entrypoint') ?? 'bouncer/decision'
  if (!ENTRYPOINT.test(entrypoint)) return usageError(spec, `--entrypoint: ${JSON.stringify(entrypoint)} is not an entrypoint (like bouncer/decision)`, io)
  const examples = Number(str(a.values, 'examples'))
  if (!Number.isInteger(examples) || examples < 0) return usageError(spec, `--examples must be a whole number, got ${JSON.stringify(str(a.values, 'examples'))}`, io)
  const failOn = parseKinds(strs(a.values, 'fail-on'), FAIL_ON_EXTRA)
  if (failOn.unknown.length > 0) {
    return usageError(spec, `--fail-on: unknown kind ${failOn.unknown.map((k) => JSON.stringify(k)).join(', ')}; want any of ${[...CHANGE_KINDS, ...FAIL_ON_EXTRA, 'any'].join(', ')}`, io)
  }
  let verification: VerificationConfig | undefined
  const keyFile = str(a.values, 'verification-key')
  if (keyFile !== undefined) {
    let key: string
    try { key = readFileSync(keyFile, 'utf8') } catch (e) {
      io.stderr(`bouncer replay: cannot read verification key ${keyFile}: ${describeIoError(e)}\n`)
      return EXIT_ERROR
    }
    const id = str(a.values, 'verification-key-id') ?? 'replay'
    const algorithm = (str(a.values, 'verification-alg') ?? 'RS256') as SigningAlgorithm
    // Read as bouncer build --signing-key reads it (as is). Without --verification-key-id the
    // one key is used whatever kid the signature names.
    verification = { keys: { [id]: { key, algorithm } }, keyId: id }
  } else if (str(a.values, 'verification-key-id') !== undefined) {
    return usageError(spec, '--verification-key-id needs --verification-key', io)
  }
  const format = (str(a.values, 'format') ?? 'table') as ReplayFormat
  const baseline = str(a.values, 'baseline')

  const progress = io === processIo && process.stderr.isTTY === true ? progressLine() : undefined
  let report: ReplayReport
  try {
    report = await replay({
      logs, policy, entrypoint, examples,
      ...(progress !== undefined ? { onProgress: progress.update } : {}),
      ...(baseline !== undefined ? { baseline } : {}),
      ...(bool(a.values, 'v0-compatible') ? { regoVersion: 0 as const } : {}),
      ...(verification !== undefined ? { verification } : {}),
    })
  } catch (e) {
    progress?.done()
    if (isBouncerError(e)) {
      io.stderr(`bouncer replay: ${e.message}\n`)
      return EXIT_ERROR
    }
    throw e
  }
  progress?.done()
  io.stdout(renderReplay(report, format))
  const failed = failures(report, failOn.kinds)
  if (failed.length > 0) {
    io.stderr(`bouncer replay: --fail-on matched: ${failed.join(', ')}\n`)
    return EXIT_FAILURE
  }
  return EXIT_OK
}

/** One line on stderr while the log is read (only when stderr is a terminal). */
function progressLine (): { update: (p: ReadProgress) => void; done: () => void } {
  let last = 0
  let shown = false
  const started = Date.now()
  return {
    update (p) {
      const now = Date.now()
      if (now - last < 100) return
      last = now
      const pct = p.bytesTotal > 0 ? Math.min(100, Math.round(p.bytesRead / p.bytesTotal * 100)) : 0
      const rate = Math.round(p.records / Math.max(0.001, (now - started) / 1000))
      process.stderr.write(`\rreplaying: ${String(pct).padStart(3)}%  ${p.records} records  ${rate}/s   `)
      shown = true
    },
    done () { if (shown) process.stderr.write('\r' + ' '.repeat(60) + '\r') },
  }
}
