// A record text with the same member twice in one object (`"result":{..},"result":{..}`) means
// one thing to a first-wins reader and another to JSON.parse, which keeps the last: the hash is
// checked against one of them only. The logger never writes such a text (I-JSON, RFC 7493,
// forbids it), so one is an edit.

/** Where `text` (valid JSON) first repeats a member name in an object (a JSON Pointer to the
 * second one), or null. Names are compared decoded: "s\u0073n" repeats "ssn". */
export function firstDuplicateMember (text: string): string | null {
  // Per open container: its members' names (objects), or null (arrays), and the path to it.
  const names: Array<Set<string> | null> = []
  const path: string[] = []
  const index: number[] = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) { // a string: a member name where one is expected, else a value
      let j = i + 1
      let escaped = false
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j)
        if (d === 0x5c) { escaped = true; j++; continue }
        if (d === 0x22) break
      }
      if (expectKey && names[names.length - 1] !== null) {
        const raw = text.slice(i, j + 1)
        const name = escaped ? JSON.parse(raw) as string : raw.slice(1, -1)
        const set = names[names.length - 1]!
        if (set.has(name)) return '/' + [...path.slice(0, -1), name].map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')
        set.add(name)
        path[path.length - 1] = name
        expectKey = false
      }
      i = j
    } else if (c === 0x7b) { // {
      names.push(new Set()); path.push(''); index.push(-1); expectKey = true
    } else if (c === 0x5b) { // [
      names.push(null); path.push('0'); index.push(0); expectKey = false
    } else if (c === 0x7d || c === 0x5d) {
      // "{}" leaves a name expected that never came: the container it sits in decides what's next.
      names.pop(); path.pop(); index.pop(); expectKey = false
    } else if (c === 0x2c) { // ,
      const top = names.length - 1
      if (top >= 0 && names[top] !== null) expectKey = true
      else if (top >= 0) path[top] = String(++index[top]!)
    }
  }
  return null
}
