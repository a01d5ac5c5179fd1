// multipart/form-data read as opa-envoy-plugin reads it (Go's mime.ParseMediaType and
// mime/multipart): each case is a body that a Go upstream reads one way and a hand-rolled parser
// read another (the expected values are what Go 1.19's mime/multipart gives, checked side by side).
import t, { type Test } from 'tap'
import { InputError, parseBody } from '../../src/ext-authz/input.js'

const CT = 'multipart/form-data; boundary=B'
const parsed = (body: string, ct = CT): unknown => parseBody({ 'content-type': ct }, body, undefined).parsed_body
const part = (headers: string[], value: string): string => `--B\r\n${headers.join('\r\n')}\r\n\r\n${value}\r\n`
const cd = (name: string): string => `Content-Disposition: form-data; name="${name}"`
const refused = (t: Test, body: string, re: RegExp, ct = CT): void => {
  let err: unknown
  try { parsed(body, ct) } catch (e) { err = e }
  t.type(err, InputError, re.source)
  t.match((err as Error | undefined)?.message, re, re.source)
}

t.test('a delimiter counts only at a line start (CRLF "--boundary"), not in mid-line', async (t) => {
  const body = part([cd('note')], 'hello--B--') + part([cd('role')], 'admin') + '--B--\r\n'
  t.same(parsed(body), { note: ['hello--B--'], role: ['admin'] })
  t.same(parsed(part([cd('a')], 'x\r\n--Bx') + '--B--'), { a: ['x\r\n--Bx'] }, '"--B" followed by more of a word is data')
  t.same(parsed('preamble --B\r\n' + part([cd('a')], 'v') + '--B-- \r\nepilogue'), { a: ['v'] }, 'preamble and epilogue ignored')
  // "--B--" followed by more on its line: Go stops with an error, so the body is refused.
  refused(t, part([cd('a')], 'v') + '--B--x\r\n' + part([cd('role')], 'admin') + '--B--', /malformed delimiter line/)
})

t.test('the boundary is the content type\'s parameter, parsed as Go parses it', async (t) => {
  const body = '--A"\r\n' + `${cd('role')}\r\n\r\nuser\r\n--A"--\r\n` + part([cd('role')], 'admin') + '--B--\r\n'
  t.same(parsed(body, 'multipart/form-data; x="; boundary=A"; boundary=B'), { role: ['admin'] }, 'boundary= inside a quoted value is not the boundary')
  t.same(parsed(part([cd('a')], 'v') + '--B--', 'multipart/form-data; BOUNDARY = "B"'), { a: ['v'] })
  t.same(parsed(part([cd('a')], 'v') + '--B--', "multipart/form-data; boundary*=utf-8''B"), { a: ['v'] }, 'RFC 2231')
  refused(t, body, /duplicate parameter/, 'multipart/form-data; boundary=A; boundary=B')
  refused(t, body, /malformed parameter/, 'multipart/form-data; boundary=B x')
  refused(t, body, /malformed parameter/, 'multipart/form-data; boundary="B')
  refused(t, body, /boundary is empty/, 'multipart/form-data; boundary=""')
  t.same(parsed(body, 'multipart/form-data; charset=utf-8'), null, 'no boundary: not parsed, as the plugin')
})

t.test('a quoted-printable part is decoded (as Go\'s multipart.Reader does); other encodings are not', async (t) => {
  const qp = 'Content-Transfer-Encoding: quoted-printable'
  t.same(parsed(part([cd('role'), qp], '=61dmin') + '--B--'), { role: ['admin'] })
  t.same(parsed(part([cd('a'), 'Content-Transfer-Encoding: Quoted-Printable'], 'x=\r\ny=C3=A9') + '--B--'), { a: ['xyé'] }, 'soft line break, UTF-8')
  t.same(parsed(part([cd('a'), 'Content-Transfer-Encoding: base64'], 'YWRtaW4=') + '--B--'), { a: ['YWRtaW4='] }, 'base64 left as it is, as Go')
  refused(t, part([cd('a'), qp], 'a\x01b') + '--B--', /not valid quoted-printable/)
})

t.test('a repeated Content-Disposition, Content-Type or Content-Transfer-Encoding is refused (Go reads the first)', async (t) => {
  refused(t, part([cd('role'), cd('note')], 'admin') + '--B--', /more than one content-disposition/)
  refused(t, part([cd('a'), 'Content-Type: text/plain', 'Content-Type: application/json'], '{}') + '--B--', /more than one content-type/)
  refused(t, part([cd('a'), 'Content-Transfer-Encoding: 8bit', 'content-transfer-encoding: quoted-printable'], '=61') + '--B--', /more than one content-transfer-encoding/)
})

t.test('the part name is Content-Disposition\'s parameter, parsed as Go parses it', async (t) => {
  t.same(parsed(part(['Content-Disposition: form-data; filename="a; name=x"; name="role"'], 'admin') + '--B--'), { role: ['admin'] })
  t.same(parsed(part(['Content-Disposition: form-data; name="a\\"b"'], 'v') + '--B--'), { 'a"b': ['v'] }, 'backslash escape')
  t.same(parsed(part(["Content-Disposition: form-data; name*=utf-8''r%6Fle"], 'admin') + '--B--'), { role: ['admin'] }, 'RFC 2231')
  t.same(parsed(part(['Content-Disposition: form-data; name*0=ro; name*1=le'], 'admin') + '--B--'), { role: ['admin'] }, 'RFC 2231 continuation')
  t.same(parsed(part(['Content-Disposition: form-data; name="a"; filename="f.txt"', 'Content-Type: text/plain'], 'file') + '--B--'), { a: ['file'] }, 'a file part is a value, as in the plugin')
  t.same(parsed(part(['Content-Disposition: form-data'], 'v') + part(['X-A: b'], 'w') + part(['Content-Disposition: attachment; name="a"'], 'u') + '--B--'), {}, 'no form-data name: skipped, as Go')
  refused(t, part(['Content-Disposition: form-data; name="role"; name="x"'], 'admin') + '--B--', /content-disposition has a duplicate parameter/)
  refused(t, part(['Content-Disposition: form-data; name=a b'], 'admin') + '--B--', /content-disposition has a malformed parameter/)
  refused(t, part(['Content-Disposition : form-data; name="role"'], 'admin') + '--B--', /malformed multipart part header/)
})

t.test('a part named like an Object.prototype member is an ordinary field, never an exception', async (t) => {
  const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']
  const body = names.map((n) => part([cd(n)], 'ok')).join('') + '--B--\r\n'
  const got = parsed(body) as Record<string, unknown>
  for (const n of names) t.same(Object.getOwnPropertyDescriptor(got, n)?.value, ['ok'], n)
  t.equal(Object.getPrototypeOf(got), Object.prototype, 'a plain object (own "__proto__" key, prototype untouched)')
})

t.test('line ends, folding and the end of the body, as Go reads them', async (t) => {
  t.same(parsed('--B\nContent-Disposition: form-data; name="a"\n\nv\n--B--\n'), { a: ['v'] }, 'bare LF throughout (Go switches on the first delimiter line)')
  t.same(parsed('--B\r\nContent-Disposition: form-data; name="a"\n\nv\r\n--B--\r\n'), { a: ['v'] }, 'bare LF in part headers')
  t.same(parsed(part(['Content-Disposition: form-data;', ' name="a"'], 'v') + '--B--'), { a: ['v'] }, 'folded header')
  t.same(parsed(`--B\r\n${cd('a')}\r\n\r\n--B\r\n${cd('b')}\r\n\r\nv\r\n--B--`), { a: [''], b: ['v'] }, 'an empty body right before the next delimiter')
  refused(t, part([cd('a')], 'v'), /no close delimiter/)
  refused(t, part([cd('a')], 'v') + '--B', /no close delimiter/)
  refused(t, `--B\r\n${cd('a')}\r\n`, /no header end/)
  refused(t, part([cd('a')], 'v') + '--B x\r\n', /malformed delimiter line/)
  refused(t, part([' ' + cd('a')], 'v') + '--B--', /starts with white space/)
  refused(t, 'x'.repeat(5000) + '\r\n' + part([cd('a')], 'v') + '--B--', /line too long/, CT)
})
