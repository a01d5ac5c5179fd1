import t from 'tap'
import { sortedCopy } from '../src/sorted-copy.js'

t.test('sortedCopy: canonical key order, every member, an own "__proto__" kept as an own member', async (t) => {
  const unsorted = JSON.parse('{"b":1,"__proto__":{"x":1},"a":{"z":1}}') as Record<string, unknown>
  const sortedIn = JSON.parse('{"__proto__":{"x":1},"a":2,"b":3}') as Record<string, unknown>
  for (const o of [unsorted, sortedIn]) {
    const c = sortedCopy(o)
    t.not(c, o, 'a copy')
    t.same(Object.keys(c), Object.keys(o).sort(), 'keys in canonical order')
    t.equal(Object.getPrototypeOf(c), Object.prototype, '"__proto__" did not become the prototype')
    t.same(Object.getOwnPropertyDescriptor(c, '__proto__')?.value, { x: 1 })
    for (const k of Object.keys(o)) t.equal(c[k], o[k], `${k}: the same value (shallow)`)
  }
  t.same(Object.keys(sortedCopy({ b: 1, a: 2, c: 3 })), ['a', 'b', 'c'])
  t.same(sortedCopy({}), {})
})
