// A URL as it may be shown (logs, /readyz, metric labels, error messages): the password of its
// userinfo and the value of every query parameter replaced by ***. Query strings carry
// credentials in the wild (presigned object-store URLs: X-Amz-Signature; api_key=...). The user
// name goes too: it is a token as often as a name (`https://<token>@host`, `redis://<token>@`,
// GitHub's `https://<token>:x-oauth-basic@`).
export function redactUrl (url: string): string {
  let u: URL
  try { u = new URL(url) } catch { return '<unparseable URL>' }
  if (u.username === '' && u.password === '' && u.search === '' && u.hash === '') return url // nothing to hide: as written
  if (u.password !== '') u.password = '***'
  if (u.username !== '') u.username = '***'
  u.hash = ''
  if (u.search === '') return u.toString()
  const names = [...u.searchParams.keys()]
  u.search = names.map((n) => `${encodeURIComponent(n)}=***`).join('&')
  return u.toString()
}
