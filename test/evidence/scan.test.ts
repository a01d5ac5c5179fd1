// The privacy scan finds credentials that survived into logged events, wherever the query put
// them: parsed_query splits on "&" only, so `?x=1;token=abc` is x: ["1;token=abc"].
import t from 'tap'
import { scanEvent } from '../../src/evidence/scan.js'

const ev = (parsedQuery: Record<string, unknown>, path = '/a') => ({ input: { attributes: { request: { http: { path, headers: {} } } }, parsed_query: parsedQuery } })

t.test('a credential parameter after ";" inside a parsed_query value is found', async (t) => {
  t.same(scanEvent(ev({ x: ['1;token=SEMI1'] })), [{ location: '/input/parsed_query/x/0', kind: 'query parameter token' }])
  t.same(scanEvent(ev({ y: ['2'], x: ['a', '1;access_token=SEMI2'] })), [{ location: '/input/parsed_query/x/1', kind: 'query parameter access_token' }])
  t.same(scanEvent(ev({ x: ['1;token=[REDACTED]'] })), [], 'erased already')
  t.same(scanEvent(ev({ x: ['1;tokens=2', 'a;b'] })), [], 'no credential name')
  t.same(scanEvent(ev({ x: ['1;token=SEMI1'] }, '/a?x=1;token=SEMI1')).map((h) => h.location).sort(),
    ['/input/attributes/request/http/path', '/input/parsed_query/x/0'], 'and in the path, as before')
})
