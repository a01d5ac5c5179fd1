// Settings addressable from the environment and from `--set`: every leaf of the schema.
// Env names are derived, never hand-written: BOUNCER_ + the path joined with "_", upper-cased
// (server.port → BOUNCER_SERVER_PORT, cache.redis.url → BOUNCER_CACHE_REDIS_URL).
import { configSchema } from './schema.js'

type SchemaNode = {
  type?: string | readonly string[]
  properties?: Record<string, SchemaNode>
  items?: SchemaNode
  enum?: readonly unknown[]
}

export interface Leaf {
  readonly path: readonly string[]
  readonly dotted: string
  readonly env: string
  readonly schema: SchemaNode
}

function collect (node: SchemaNode, prefix: string[], out: Leaf[]): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = [...prefix, key]
    if (child.type === 'object' && child.properties) collect(child, path, out)
    else out.push({ path, dotted: path.join('.'), env: 'BOUNCER_' + path.join('_').toUpperCase(), schema: child })
  }
}

function build (): { byEnv: Map<string, Leaf>; byDotted: Map<string, Leaf>; all: Leaf[] } {
  const all: Leaf[] = []
  collect(configSchema as unknown as SchemaNode, [], all)
  const byEnv = new Map<string, Leaf>()
  const byDotted = new Map<string, Leaf>()
  for (const leaf of all) {
    const clash = byEnv.get(leaf.env)
    if (clash) throw new Error(`config schema: ${leaf.dotted} and ${clash.dotted} map to the same env var ${leaf.env}`)
    byEnv.set(leaf.env, leaf)
    byDotted.set(leaf.dotted, leaf)
  }
  return { byEnv, byDotted, all }
}

export const leaves = build()

/** Nearest section object for a dotted path prefix (for `--set` on non-leaf paths). */
export function schemaAt (path: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = configSchema as unknown as SchemaNode
  for (const key of path) {
    // Own properties only: `--set __proto__=x` names no setting (the prototype's members are none).
    const props: Record<string, SchemaNode> | undefined = node?.properties
    node = props !== undefined && Object.hasOwn(props, key) ? props[key] : undefined
    if (!node) return undefined
  }
  return node
}

/** schemaAt for a place in a config document: a numeric segment there is an element of a list
 * (auth.jwt.keys.0.secret), which settings named by env vars and flags never are. */
export function schemaOfDocumentPath (path: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = configSchema as unknown as SchemaNode
  for (const key of path) {
    if (node?.items !== undefined && /^\d+$/.test(key)) { node = node.items; continue }
    const props: Record<string, SchemaNode> | undefined = node?.properties
    node = props !== undefined && Object.hasOwn(props, key) ? props[key] : undefined
    if (!node) return undefined
  }
  return node
}

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

/**
 * Turns the text of an env var or flag into the value the schema expects. A value that cannot
 * be coerced is returned unchanged so that validation reports it against the field.
 */
export function coerce (schema: SchemaNode, text: string): unknown {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type]
  const t = text.trim()
  if (types.includes('array') || types.includes('object')) {
    if (t.startsWith('[') || t.startsWith('{')) {
      try { return JSON.parse(t) } catch { return text }
    }
    if (types.includes('array') && !(types.includes('string') && !t.includes(','))) {
      return t === '' ? [] : t.split(',').map((s) => s.trim())
    }
    if (!types.includes('string')) return text
  }
  if (types.includes('integer') || types.includes('number')) {
    if (t === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return text
    return Number(t)
  }
  if (types.includes('boolean')) {
    const l = t.toLowerCase()
    if (TRUE.has(l)) return true
    if (FALSE.has(l)) return false
    return text
  }
  return text
}
