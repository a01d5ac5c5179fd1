// A service's base URL joined with a resource path (bundle service, status API, decision-log
// control plane). The path goes after the base URL's own path and before its query: a base URL
// that carries a query (`https://cp.example/v1?tenant=a`) had the resource appended to the
// query, and every request went to a mangled URL. A resource may carry its own query (a
// presigned object-store URL): it is added to the base URL's. A fragment is never sent.
export function joinUrl (base: string, resource: string): string {
  const u = new URL(base)
  const hash = resource.indexOf('#')
  const r = hash < 0 ? resource : resource.slice(0, hash)
  const q = r.indexOf('?')
  const path = q < 0 ? r : r.slice(0, q)
  const query = q < 0 ? '' : r.slice(q + 1)
  u.pathname = u.pathname.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '')
  if (query !== '') u.search = u.search === '' ? query : `${u.search.slice(1)}&${query}`
  u.hash = ''
  return u.toString()
}
