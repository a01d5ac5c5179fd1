// Rego sources on disk -> an OPA bundle (.tar.gz, written by src/bundle) with policy.wasm,
// data.json, the sources and a manifest whose metadata records the compiler's facts the cache
// needs (src/bundle/facts.ts): per entrypoint, the input paths the policy can read and whether
// it calls non-deterministic builtins.
import path from 'node:path'
import { writeBundle, type BundleManifest, type SignOptions } from '../../bundle/index.js'
import { BOUNCER_METADATA_KEY, bouncerMetadata } from '../../bundle/facts.js'
import { LOG_DROP_ENTRYPOINT, LOG_MASK_ENTRYPOINT } from '../../bundle/manifest.js'
import { compileModules, factsOf, loadSources, type CompiledPolicy, type RegoVersion } from '../index.js'

export interface CompileBundleOptions {
  paths: string[]
  entrypoints: string[]
  revision?: string
  sign?: SignOptions
  /** Rego version of the sources (default 1; 0 = --v0-compatible); recorded in the manifest */
  regoVersion?: RegoVersion
}

export interface CompiledBundle extends CompiledPolicy {
  data: Record<string, unknown>
  manifest: BundleManifest
  tarGz: Buffer
}

export async function compileBundle (opts: CompileBundleOptions): Promise<CompiledBundle> {
  const { modules, data } = await loadSources(opts.paths)
  // The decision-log policies too, when the sources define them: a built bundle keeps masking.
  const compiled = compileModules({ modules, entrypoints: opts.entrypoints, optionalEntrypoints: [LOG_MASK_ENTRYPOINT, LOG_DROP_ENTRYPOINT], regoVersion: opts.regoVersion, data })
  const facts = factsOf(compiled)
  const meta = bouncerMetadata(facts.entrypoints.map(ep => [ep, facts.entrypointFacts[ep]] as const))
  const manifest: BundleManifest = {
    revision: opts.revision ?? '',
    roots: [''],
    wasm: compiled.entrypoints.map(entrypoint => ({ entrypoint, module: '/policy.wasm' })),
    metadata: { [BOUNCER_METADATA_KEY]: meta },
    ...(opts.regoVersion !== undefined ? { rego_version: opts.regoVersion } : {}),
  }
  const common = commonDir(modules.map(m => m.file))
  const rego = modules.map(m => ({ path: path.relative(common, m.file).split(path.sep).join('/'), source: m.source }))
  const tarGz = await writeBundle({ manifest, wasm: compiled.wasm, data, rego }, opts.sign)
  return { ...compiled, data, manifest, tarGz }
}

function commonDir (files: string[]): string {
  if (files.length === 0) return '.'
  let dir = path.dirname(path.resolve(files[0]))
  for (const f of files) {
    const abs = path.resolve(f)
    while (!abs.startsWith(dir + path.sep) && dir !== path.dirname(dir)) dir = path.dirname(dir)
  }
  return dir
}
