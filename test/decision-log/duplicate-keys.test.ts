// firstDuplicateMember: a member named twice in one object, compared decoded, anywhere in a
// record; never confused by what strings hold or by empty containers (a request body of
// [{},"x"] made every intact log unverifiable when "{}" left a member name expected).
import t from 'tap'
import { firstDuplicateMember } from '../../src/decision-log/duplicate-keys.js'

t.test('duplicates are found where they are, decoded', async (t) => {
  t.equal(firstDuplicateMember('{"a":1,"a":2}'), '/a')
  t.equal(firstDuplicateMember('{"x":{"ssn":1,"s\\u0073n":2}}'), '/x/ssn')
  t.equal(firstDuplicateMember('{"l":[{"a":1},{"b":1,"b":2}]}'), '/l/1/b')
  t.equal(firstDuplicateMember('[{},"x",{"k":1,"k":2}]'), '/2/k')
  t.equal(firstDuplicateMember('{"a":{},"b":1,"b":2}'), '/b')
  t.equal(firstDuplicateMember('{"a":[[],{"b":"c"}],"a":1}'), '/a')
  t.equal(firstDuplicateMember('{ "a" : 1 ,\n "a" : 2 }'), '/a', 'whitespace anywhere')
})

t.test('no false alarms: strings that look like members, empty containers, arrays of objects', async (t) => {
  for (const text of ['{"a":1,"b":2}', '{"a":"\\"a\\":1,","b":{"a":1}}', '[{"a":1},{"a":2}]', '{}', '[]', '{"a":[{},"x"]}', '[[],{}]',
    '{"a":[{},"x",{}],"b":{"c":[{}]},"d":"}{]["}', '{"p":{"q":[{},{"q":1}],"r":"x"}}']) {
    t.equal(firstDuplicateMember(text), null, text)
  }
})

t.test('random documents: agrees with a reference built on JSON.parse, never throws', async (t) => {
  let seed = 7
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  const names = ['a', 'b', 's\\u0073n', 'ssn', '{', '\\"', ',', 'x\\\\']
  function gen (depth: number): string {
    const k = depth > 3 ? rnd(3) : rnd(6)
    if (k === 0) return String(rnd(100))
    if (k === 1) return JSON.stringify(['x', '{}', '[1,2]', '"q":1'][rnd(4)])
    if (k === 2) return 'null'
    if (k === 3) return '[' + Array.from({ length: rnd(4) }, () => gen(depth + 1)).join(',') + ']'
    return '{' + Array.from({ length: rnd(4) }, () => `"${names[rnd(names.length)]}":${gen(depth + 1)}`).join(',') + '}'
  }
  // The reference: a document has a duplicate iff some object's decoded member names repeat.
  function hasDup (text: string): boolean {
    let dup = false
    const seen: Array<Set<string>> = []
    // A plain recursive-descent walk of the (valid) text, comparing decoded names per object.
    const parseValue = (s: string, i: number): number => {
      while (s[i] === ' ') i++
      if (s[i] === '{') {
        const names = new Set<string>(); seen.push(names); i++
        if (s[i] === '}') return i + 1
        for (;;) {
          const end = stringEnd(s, i); const name = JSON.parse(s.slice(i, end)) as string
          if (names.has(name)) dup = true
          names.add(name); i = parseValue(s, end + 1)
          if (s[i] === ',') { i++; continue }
          return i + 1
        }
      }
      if (s[i] === '[') {
        i++
        if (s[i] === ']') return i + 1
        for (;;) { i = parseValue(s, i); if (s[i] === ',') { i++; continue } return i + 1 }
      }
      if (s[i] === '"') return stringEnd(s, i)
      let j = i; while (j < s.length && !',]}'.includes(s[j]!)) j++; return j
    }
    const stringEnd = (s: string, i: number): number => { let j = i + 1; while (s[j] !== '"') j += s[j] === '\\' ? 2 : 1; return j + 1 }
    parseValue(text, 0)
    return dup
  }
  for (let n = 0; n < 3000; n++) {
    const text = gen(0)
    JSON.parse(text) // valid JSON
    t.equal(firstDuplicateMember(text) !== null, hasDup(text), text)
  }
})
