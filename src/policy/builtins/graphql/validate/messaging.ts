// The library's wording helpers: "A, B, or C" lists (at most five) and "did you mean"
// suggestions (graphql-js's threshold, Levenshtein distance with a case change counting as one).

/** `A`, `A or B`, `A, B, or C`; only the first five items. */
export function orList (items: readonly string[]): string {
  const list = items.slice(0, 5)
  if (list.length === 2) return `${list[0]} or ${list[1]}`
  let out = ''
  list.forEach((item, i) => {
    if (i !== 0) out += i === list.length - 1 ? ', or ' : ', '
    out += item
  })
  return out
}

export function quotedOrList (items: readonly string[]): string {
  return orList(items.map(i => `"${i}"`))
}

/**
 * The options close enough to `input`, nearest first. The library sorts with Go's sort.Slice,
 * which keeps ties in their original order for lists this short (insertion sort below 13
 * items); a stable sort gives the same answer there.
 */
export function suggestionList (input: string, options: readonly string[]): string[] {
  // The threshold counts bytes, as Go's len does.
  const threshold = Math.max(1, Math.floor(Buffer.byteLength(input, 'utf8') * 0.4) + 1)
  const found: Array<{ option: string, distance: number }> = []
  for (const option of options) {
    const distance = lexicalDistance(input, option)
    if (distance <= threshold) found.push({ option, distance })
  }
  return found.sort((a, b) => a.distance - b.distance).map(f => f.option)
}

function lexicalDistance (a: string, b: string): number {
  if (a === b) return 0
  const la = a.toLowerCase()
  const lb = b.toLowerCase()
  if (la === lb) return 1
  return levenshtein([...la], [...lb])
}

/** Plain Levenshtein distance over code points. */
function levenshtein (a: string[], b: string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost)
    }
    prev = cur
  }
  return prev[b.length]!
}
