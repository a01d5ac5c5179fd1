// The masker as the app builds it (src/app/masking.ts): it masks with the Wasm walk when the
// build has it, and says at start when it does not (the JavaScript scanner then masks alike).
import t from 'tap'
import { Readable } from 'node:stream'
import { fromConfig } from '../../src/app/masking.js'
import { createConfig } from '../../src/config/index.js'

const config = createConfig({ upstream: { url: 'http://127.0.0.1:1' } }).masking
const body = '{"ssn": "123-45-6789", "name": "Ann", "card": "4111111111111111"}'
const rules = [{ path: '/ssn', action: 'redact' as const }, { path: '/card', action: 'last4' as const }]

async function masked (masker: ReturnType<typeof fromConfig>): Promise<string> {
  const res = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Readable.from([Buffer.from(body)]) }
  const out = await masker.apply(res, masker.compile(rules), { method: 'GET' })
  return out.body.toString()
}

t.test('with build/json-scan.wasm: no warning, and the response is masked', async (t) => {
  const warnings: unknown[] = []
  const masker = fromConfig(config, { hashKey: undefined, log: { warn: (obj) => { warnings.push(obj) } } })
  t.same(warnings, [], 'nothing to say')
  t.equal(await masked(masker), '{"ssn": "[REDACTED]", "name": "Ann", "card": "****1111"}')
})

t.test('without it: one warning at start naming the code, and the same masked bytes', async (t) => {
  const warnings: { obj: object, msg: string }[] = []
  const masker = fromConfig(config, { hashKey: undefined, log: { warn: (obj, msg) => { warnings.push({ obj, msg }) } }, walkModule: () => null })
  t.equal(warnings.length, 1)
  t.match(warnings[0], { obj: { code: 'BOUNCER_ERR_MASK_SCANNER_MISSING' }, msg: /json-scan\.wasm is missing/ })
  t.equal(await masked(masker), '{"ssn": "[REDACTED]", "name": "Ann", "card": "****1111"}')
})
