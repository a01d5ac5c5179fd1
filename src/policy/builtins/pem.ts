// Go's encoding/pem Decode, as OPA's builtins read PEM (io.jwt.* keys, crypto.x509.*).
import { goBase64Decode } from './encoding.js'
import { trimEndBy } from '../../text-trim.js'

/** Go's pem.Decode: the first well-formed block and what follows its END line. */
export function pemDecode (data: string): { type: string; der: Buffer; rest: string } | null {
  let from = 0
  // Per type, where its next END line starts (-1: none) as found from an earlier BEGIN: valid
  // for any later BEGIN before it. Searching again from every BEGIN was quadratic (1 MB of
  // repeated BEGIN lines took 11 s; Go fixed the same in CVE-2025-61723).
  const nextEnd = new Map<string, number>()
  for (;;) {
    let start: number
    if (from === 0 && data.startsWith('-----BEGIN ')) start = 0
    else {
      const i = data.indexOf('\n-----BEGIN ', from)
      if (i < 0) return null
      start = i + 1
    }
    from = start + 1
    const lineEnd = data.indexOf('\n', start)
    const typeLine = trimEndBy(lineEnd < 0 ? data.slice(start) : data.slice(start, lineEnd), (c) => c === 0x20 || c === 0x09 || c === 0x0d)
    if (!typeLine.endsWith('-----') || lineEnd < 0) continue
    const type = typeLine.slice('-----BEGIN '.length, -5)
    const body = data.slice(lineEnd + 1)
    const endMarker = `-----END ${type}-----`
    let endIdx: number
    if (body.startsWith(endMarker)) endIdx = 0
    else {
      let at = nextEnd.get(type)
      if (at === undefined || (at >= 0 && at < lineEnd)) {
        at = data.indexOf('\n' + endMarker, lineEnd)
        nextEnd.set(type, at)
      }
      if (at < 0) continue
      endIdx = at - lineEnd
    }
    let content = body.slice(0, endIdx)
    if (/^[\w-]+:/m.test(content.split('\n\n')[0]) && content.includes('\n\n')) content = content.slice(content.indexOf('\n\n') + 2)
    const after = body.slice(endIdx + endMarker.length)
    const nl = after.indexOf('\n')
    const restOfLine = nl < 0 ? after : after.slice(0, nl)
    if (restOfLine.replace(/[ \t\r]/g, '') !== '') continue
    let der: Buffer
    try {
      // Go removes spaces and tabs, and its base64 decoder skips line breaks: the same bytes.
      der = goBase64Decode(content.replace(/[ \t\r\n]/g, ''), false, true)
    } catch {
      continue
    }
    return { type, der, rest: nl < 0 ? '' : after.slice(nl + 1) }
  }
}
