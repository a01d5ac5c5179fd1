// Micro-benchmark: cost of host builtins evaluated through a compiled policy.
//   npx tsx bench/builtins.ts [--runs 9]
// Each row is the median over `runs` of the mean µs per evaluation of one entrypoint (interleaved
// runs, so machine noise hits all rows alike). "builtin" subtracts a baseline entrypoint that
// reads the same input fields without calling the builtin; "direct" calls the JS implementation
// without Wasm (no SDK JSON round trip of arguments and result), for comparison.
import { generateKeyPairSync } from 'node:crypto'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import { compileModules } from '../src/compiler/index.js'
import { loadWasmPolicy } from '../src/policy/eval/index.js'
import { hostBuiltins, runEvaluation } from '../src/policy/builtins/index.js'
import { timeInterleaved } from './lib/timing.js'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' } } })
const RUNS = Number(values.runs)

const source = `package b

base_jwt := [input.token, input.pem]

base_glob := input.host

jwt := io.jwt.decode_verify(input.token, {"cert": input.pem, "iss": "bench"})

glob := glob.match("api.*.example.com", ["."], input.host)
`

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const token = await new SignJWT({ sub: 'alice', roles: ['reader'] }).setProtectedHeader({ alg: 'RS256' }).setIssuer('bench').setExpirationTime('1h').sign(privateKey)
const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string
const input = { token, pem, host: 'api.eu.example.com' }

const c = compileModules({ modules: [{ file: 'b.rego', source }], entrypoints: ['b/base_jwt', 'b/base_glob', 'b/jwt', 'b/glob'] })
const policy = await loadWasmPolicy(c.wasm)
const ev = (ep: string) => () => policy.evaluate(input, ep)

const check = policy.evaluate(input, 'b/jwt') as Array<{ result: unknown[] }>
if (check[0]?.result?.[0] !== true) throw new Error('decode_verify did not verify: ' + JSON.stringify(check))
if ((policy.evaluate(input, 'b/glob') as Array<{ result: unknown }>)[0]?.result !== true) throw new Error('glob.match did not match')

const constraints = { cert: pem, iss: 'bench' }
const direct = {
  jwt: () => runEvaluation(() => hostBuiltins['io.jwt.decode_verify'](token, constraints)),
  glob: () => runEvaluation(() => hostBuiltins['glob.match']('api.*.example.com', ['.'], input.host)),
}

const [bjwt, bglob, jwt, glob, djwt, dglob] = timeInterleaved([
  { fn: ev('b/base_jwt'), n: 2000 },
  { fn: ev('b/base_glob'), n: 2000 },
  { fn: ev('b/jwt'), n: 400 },
  { fn: ev('b/glob'), n: 2000 },
  { fn: direct.jwt, n: 400 },
  { fn: direct.glob, n: 20000 },
], RUNS).map(ns => ns / 1000)

const f = (x: number): string => x.toFixed(2).padStart(9)
console.log(`host builtins through a compiled policy (median of ${RUNS} runs, µs per evaluation)`)
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}`)
console.log('')
console.log('builtin                         evaluation  baseline   builtin    direct')
console.log(`io.jwt.decode_verify (RS256)    ${f(jwt)} ${f(bjwt)} ${f(jwt - bjwt)} ${f(djwt)}`)
console.log(`glob.match                      ${f(glob)} ${f(bglob)} ${f(glob - bglob)} ${f(dglob)}`)
