// A URL as it may be shown (logs, /readyz, metric labels, error messages): the password of its
// userinfo and the value of every query parameter replaced by ***. Query strings carry
// credentials in the wild (presigned object-store URLs: X-Amz-Signature; api_key=...). A user
// name without a password is a token as often as a name (`https://<token>@host`, `redis://<token>@`):
// it goes too; beside a password it is a name and stays.
export function redactUrl (url: string): string {
  let u: URL
  try { u = new URL(url) } catch { return '<unparseable URL>' }
  if (u.username === '' && u.password === '' && u.search === '' && u.hash === '') return url // nothing to hide: as written
  if (u.password !== '') u.password = '***'
  else if (u.username !== '') u.username = '***'
  u.hash = ''
  if (u.search === '') return u.toString()
  const names = [...u.searchParams.keys()]
  u.search = names.map((n) => `${encodeURIComponent(n)}=***`).join('&')
  return u.toString()
}
