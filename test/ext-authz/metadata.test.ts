// dynamic_metadata: encoded in one pass (each byte copied once, however deep the value), and
// refused — a policy error, denied in band — when deeper or larger than Envoy can take. A 1 MB
// string 100 lists deep took 7 s to encode: every level copied it into its parent byte by byte.
import t from 'tap'
import * as proto from '../../src/ext-authz/proto.js'
import { authzClient, checkRequest, decodeCheckResponse, startExtAuthz, structJson } from './fixtures/client.js'

// The limits (proto.ts MAX_METADATA_DEPTH / MAX_METADATA_BYTES), as numbers so that this file
// runs against a proto.ts without them.
const MAX_METADATA_DEPTH = 32
const MAX_METADATA_BYTES = 1 << 20
const { encodeCheckResponse } = proto

const OK = { headers: [], headersToRemove: [], responseHeadersToAdd: [], queryParametersToRemove: [] }

/** Elements pushed onto arrays and bytes copied between typed arrays while `f` runs. */
function work<T> (f: () => T): { result: T; units: number } {
  let units = 0
  /* eslint-disable @typescript-eslint/unbound-method */
  const push = Array.prototype.push
  const set = Uint8Array.prototype.set
  Array.prototype.push = function (this: unknown[], ...xs: unknown[]) { units += xs.length; return push.apply(this, xs) }
  Uint8Array.prototype.set = function (this: Uint8Array, src: ArrayLike<number>, offset?: number) { units += src.length; return set.call(this, src, offset) } as typeof set
  try {
    return { result: f(), units }
  } finally {
    Array.prototype.push = push
    Uint8Array.prototype.set = set
  }
}

t.test('the limits', async (t) => {
  t.equal((proto as Record<string, unknown>).MAX_METADATA_DEPTH, MAX_METADATA_DEPTH)
  t.equal((proto as Record<string, unknown>).MAX_METADATA_BYTES, MAX_METADATA_BYTES)
})

t.test('nested metadata is encoded with work linear in its size', async (t) => {
  const leaf = 'x'.repeat(64 * 1024)
  let v: unknown = leaf
  for (let i = 0; i < MAX_METADATA_DEPTH - 2; i++) v = [v]
  const { result, units } = work(() => encodeCheckResponse({ status: { code: 0 }, ok: OK, dynamicMetadata: { body: v } }))
  // protobufjs (the tests' independent decoder) reads it back whole.
  let back = structJson(decodeCheckResponse(result).dynamic_metadata).body
  for (let i = 0; i < MAX_METADATA_DEPTH - 2; i++) back = (back as unknown[])[0]
  t.equal(back, leaf, 'the leaf comes back')
  t.ok(units <= 2 * result.length, `bytes pushed/copied (${units}) at most twice the message (${result.length}): not once per level`)
})

const DEEP = (levels: number) => `package envoy.authz

nest(0) := "leaf"
result := {"allowed": true, "dynamic_metadata": {"v": json.unmarshal(concat("", [concat("", array.concat([x | some i in numbers.range(1, ${levels}); x := "["], ["\\"leaf\\""])), concat("", [x | some i in numbers.range(1, ${levels}); x := "]"])]))}}
`

t.test('a policy\'s metadata deeper or larger than Envoy can take is a policy error: denied in band', async (t) => {
  // depth: the top object is level 1, "v" level 2, its lists the next ones
  const ok = await startExtAuthz({ rego: DEEP(MAX_METADATA_DEPTH - 2), entrypoint: 'envoy/authz/result' })
  t.teardown(() => ok.close())
  const c1 = authzClient(ok.grpcPort)
  t.teardown(() => c1.close())
  const fine = await c1.check(checkRequest({ method: 'GET' }))
  t.equal(fine.status?.code ?? 0, 0, `${MAX_METADATA_DEPTH} levels: sent`)

  const deep = await startExtAuthz({ rego: DEEP(MAX_METADATA_DEPTH + 10), entrypoint: 'envoy/authz/result' })
  t.teardown(() => deep.close())
  const c2 = authzClient(deep.grpcPort)
  t.teardown(() => c2.close())
  const r = await c2.check(checkRequest({ method: 'GET' }))
  t.equal(r.status?.code, 7, 'deeper: PERMISSION_DENIED, not an RPC error')
  t.equal(r.status?.message, 'BOUNCER_ERR_POLICY_DECISION')
  t.equal(r.denied_response?.status?.code, 403, 'policy.error_status (default 403)')

  const big = await startExtAuthz({ rego: `package envoy.authz\n\nresult := {"allowed": true, "dynamic_metadata": {"v": concat("", [x | some i in numbers.range(1, ${MAX_METADATA_BYTES / 1024 + 1}); x := "${'y'.repeat(1024)}"])}}\n`, entrypoint: 'envoy/authz/result' })
  t.teardown(() => big.close())
  const c3 = authzClient(big.grpcPort)
  t.teardown(() => c3.close())
  const r3 = await c3.check(checkRequest({ method: 'GET' }))
  t.equal(r3.status?.code, 7, `over ${MAX_METADATA_BYTES} bytes: PERMISSION_DENIED`)
  t.equal(r3.status?.message, 'BOUNCER_ERR_POLICY_DECISION')
})
