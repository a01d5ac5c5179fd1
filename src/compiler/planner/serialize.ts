// Plan -> JSON text for embedding. Big integers are written from their source text so the
// runtime's JSON parser sees the exact digits.
import type { Plan } from './ir.js'
import { RawNumber } from './index.js'

export function serializePlan (plan: Plan): string {
  const raws: string[] = []
  const text = JSON.stringify(plan, (_k, v) => {
    if (v instanceof RawNumber) {
      raws.push(v.raw)
      return `\u0000RAW${raws.length - 1}\u0000`
    }
    return v
  })
  if (raws.length === 0) return text
  return text.replace(/"\\u0000RAW(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)])
}
