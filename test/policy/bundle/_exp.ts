import { gzipSync } from 'node:zlib'
import { extractFiles } from '../../../src/policy/bundle/extract.js'
const zeros = gzipSync(Buffer.alloc(50 * 1024 * 1024))
console.log('compressed', zeros.length)
let t = Date.now()
try { const f = await extractFiles(zeros, undefined, 'x'); console.log('ok', f.size) } catch (e) { console.log('err', (e as Error).message) }
console.log('ms', Date.now() - t)
