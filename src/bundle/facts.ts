// What Bouncer's compiler records about each entrypoint in a bundle's manifest, and how a
// loader reads it back: manifest.metadata.bouncer = { compiler, entrypoints: { <entrypoint>:
// { input_paths, nondeterministic, builtins } } }. `bouncer build` writes it; the policy
// loader reads it (the decision cache key's input paths; whether decisions may be cached).
// Bundles from `opa build` carry none: every fact then reads as unknown.

/** The manifest.metadata key holding Bouncer's facts. */
export const BOUNCER_METADATA_KEY = 'bouncer'

/** One entrypoint's facts as the manifest records them (OPA-style snake_case). */
export interface RecordedEntrypointFacts {
  /** input paths the entrypoint can read; null = the whole input */
  input_paths: string[][] | null
  /** true when a builtin reachable from the entrypoint is not a function of its arguments */
  nondeterministic: boolean
  /** every builtin reachable from the entrypoint */
  builtins: string[]
}

export interface BouncerBundleMetadata {
  compiler: string
  entrypoints: Record<string, RecordedEntrypointFacts>
}

/** An entrypoint's facts as a compiler states them (src/compiler's compile() facts). */
export interface EntrypointFactsInput {
  inputPaths: string[][] | null
  nondeterministic: boolean
  builtins: string[]
}

/** The metadata value for manifest.metadata[BOUNCER_METADATA_KEY], entrypoints in the given order. */
export function bouncerMetadata (entrypoints: ReadonlyArray<readonly [string, EntrypointFactsInput]>): BouncerBundleMetadata {
  const meta: BouncerBundleMetadata = { compiler: 'bouncer', entrypoints: {} }
  for (const [ep, f] of entrypoints) {
    meta.entrypoints[ep] = { input_paths: f.inputPaths, nondeterministic: f.nondeterministic, builtins: f.builtins }
  }
  return meta
}

/** An entrypoint's facts read back from manifest metadata; a fact absent or malformed is undefined. */
export interface ReadEntrypointFacts {
  /** null = the whole input; undefined = unknown */
  inputPaths: string[][] | null | undefined
  /** the recorded flag; undefined when not recorded */
  nondeterministic: boolean | undefined
  /** the recorded builtin list (strings only); [] when not recorded */
  builtins: string[]
}

export function readEntrypointFacts (metadata: Record<string, unknown> | undefined, entrypoint: string): ReadEntrypointFacts {
  const meta = metadata?.[BOUNCER_METADATA_KEY] as { entrypoints?: Record<string, unknown> } | undefined
  const ep = meta?.entrypoints && typeof meta.entrypoints === 'object' ? meta.entrypoints[entrypoint] as Record<string, unknown> | undefined : undefined
  if (!ep || typeof ep !== 'object') return { inputPaths: undefined, nondeterministic: undefined, builtins: [] }
  const v = ep.input_paths
  let inputPaths: string[][] | null | undefined
  if (v === null) inputPaths = null
  else if (Array.isArray(v) && v.every((p) => Array.isArray(p) && p.every((s) => typeof s === 'string'))) inputPaths = v as string[][]
  const builtins = Array.isArray(ep.builtins) ? ep.builtins.filter((b): b is string => typeof b === 'string') : []
  return { inputPaths, nondeterministic: typeof ep.nondeterministic === 'boolean' ? ep.nondeterministic : undefined, builtins }
}
