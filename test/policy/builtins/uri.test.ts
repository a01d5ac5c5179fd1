// uri.parse / uri.is_valid (OPA PR #8578, 2026): Go's net/url.Parse, through compiled policies. Bundles
// using them could not load before ("unsupported builtin"). Expected values are Go's: a policy
// allow-listing redirect hosts must see the host Go upstreams see (exa%6dple.com is refused,
// not read as example.com; a port is ASCII digits; userinfo is checked).
import t from 'tap'
import { E, table, V } from './helpers.js'

t.test('uri.parse', async (t) => {
  await table(t, [
    ['uri.parse("https://example.com:8080/api?q=1#top")', V({ scheme: 'https', hostname: 'example.com', port: '8080', path: '/api', raw_path: '/api', raw_query: 'q=1', fragment: 'top' })],
    ['uri.parse("HTTPS://Example.COM/Path")', V({ scheme: 'https', hostname: 'Example.COM', path: '/Path', raw_path: '/Path' })],
    ['uri.parse("https://example.com?q=1#frag")', V({ scheme: 'https', hostname: 'example.com', raw_query: 'q=1', fragment: 'frag' })],
    ['uri.parse("http://[::1]:8080/path")', V({ scheme: 'http', hostname: '::1', port: '8080', path: '/path', raw_path: '/path' })],
    ['uri.parse("https://example.com/path%2Fwith%2Fslashes")', V({ scheme: 'https', hostname: 'example.com', path: '/path/with/slashes', raw_path: '/path%2Fwith%2Fslashes' })],
    ['uri.parse("https://example.com/a%21b%28c%29")', V({ scheme: 'https', hostname: 'example.com', path: '/a!b(c)', raw_path: '/a!b(c)' })],
    ['uri.parse("https://example.com/a b")', V({ scheme: 'https', hostname: 'example.com', path: '/a b', raw_path: '/a b' })],
    ['uri.parse("")', V({})],
    ['uri.parse("mailto:user@example.com")', V({ scheme: 'mailto' })],
    ['uri.parse("http://foo]bar/")', V({ scheme: 'http', hostname: 'foo]bar', path: '/', raw_path: '/' })],
    ['uri.parse("http://user:p%40ss@host.example:99/x")', V({ scheme: 'http', hostname: 'host.example', port: '99', path: '/x', raw_path: '/x' })],
    ['uri.parse("//cdn.example/lib.js")', V({ hostname: 'cdn.example', path: '/lib.js', raw_path: '/lib.js' })],
    ['uri.parse("/relative/path?x")', V({ path: '/relative/path', raw_path: '/relative/path', raw_query: 'x' })],
    ['uri.parse("http://exa%6dple.com/")', E(/uri.parse: parse "http:\/\/exa%6dple.com\/": invalid URL escape "%6d"/)],
    ['uri.parse("http://a<b@example.com/")', E(/parse "http:\/\/a<b@example.com\/": net\/url: invalid userinfo/)],
    ['uri.parse("http://example.com:٣٤/")', E(/invalid port ":٣٤" after host/)],
    ['uri.parse("http://exa mple.com/")', E(/invalid character " " in host name/)],
    // The URL in the message is quoted as Go's strconv.Quote quotes: a no-break space is not printable.
    ['uri.parse("http://a b\\u00a0c/")', E(/^eval_builtin_error: uri\.parse: parse "http:\/\/a b\\u00a0c\/": invalid character " " in host name$/)],
    ['uri.parse(":nothing")', E(/missing protocol scheme/)],
    ['uri.parse("a:b/c:d")', V({ scheme: 'a' })],
    ['uri.parse("ab/c:d")', V({ path: 'ab/c:d', raw_path: 'ab/c:d' })],
    ['uri.parse("c:d/x")', V({ scheme: 'c' })],
    ['uri.parse("x/y:z")', V({ path: 'x/y:z', raw_path: 'x/y:z' })],
    ['uri.parse("1x:y")', E(/first path segment in URL cannot contain colon/)],
    ['uri.parse("http://[1.2.3.4]/")', E(/parse "http:\/\/\[1.2.3.4\]\/"/)],
    ['uri.parse("http://x/\\u0007")', E(/invalid control character in URL/)],
    ['uri.parse(1)', E(/operand 1 must be string/)],
  ])
})

t.test('uri.is_valid', async (t) => {
  await table(t, [
    ['uri.is_valid("https://example.com/path?q=1")', V(true)],
    ['uri.is_valid("")', V(false)],
    ['uri.is_valid("http://[invalid")', V(false)],
    ['uri.is_valid("http://exa%6dple.com/")', V(false)],
    ['uri.is_valid("http://user name@example.com/")', V(false)],
    ['uri.is_valid("http://example.com:٣٤/")', V(false)],
    ['uri.is_valid("http://foo]bar/")', V(true)],
    ['uri.is_valid("http://[fe80::1%25en0]:8080/")', V(true)],
    ['uri.is_valid(1)', V(false)],
  ])
})
