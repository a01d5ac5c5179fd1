// Turning a policy source into an ActivePolicy ready for PolicyHolder.activate:
//   - a directory of Rego or a .rego file: compiled at start with the project's compiler;
//   - an OPA bundle .tar.gz (ours or `opa build -t wasm`): read with src/bundle,
//     its Wasm loaded as is, or its Rego compiled when it carries no Wasm.
// The Wasm instance is created here, once; requests only call `evaluate`.
import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { BouncerError } from '../errors.js'
// the manifest module only: the archive reader (tar, gzip, signatures) is imported when a bundle file is read
import { LOG_DROP_ENTRYPOINT, LOG_MASK_ENTRYPOINT, normalizeManifest, regoVersionForFile } from '../bundle/manifest.js'
import type { BundleLimits, BundleManifest, LoadedBundle, VerificationConfig } from '../bundle/index.js'
import { readEntrypointFacts } from '../bundle/facts.js'
import { checkRegoRoots } from './bundle-roots.js'
import { loadWasmPolicy, type WasmPolicy } from './eval/index.js'
import type { PolicyOptions } from './eval/rego.js'
import { anyNondeterministic } from '../compiler/builtins.js'
import type { ActivePolicy, InputPaths } from './holder.js'

export type LoadedPolicy = Omit<ActivePolicy, 'activatedAt'>

/** PolicyOptions (compiling and running; ./eval/rego.ts) and where the policy comes from. */
export interface LoadPolicyOptions extends PolicyOptions {
  /** Bundle name for decision logs (OPA's `bundles.<name>`). Default: "bouncer". */
  bundleName?: string
  /** Limits for reading bundle archives. */
  limits?: BundleLimits
  /** Signature verification for bundle archives (required when the bundle is signed). */
  verification?: VerificationConfig
}

/** SHA-256 of the module and the data: what the policy decides with (ActivePolicy.contentDigest). */
function contentDigestOf (wasm: Uint8Array, data: unknown): string {
  return createHash('sha256').update(wasm).update(JSON.stringify(data ?? {})).digest('hex')
}

/** The revision of a source that has none: the content digest, shortened. */
function contentRevision (digest: string): string {
  return 'sha256:' + digest.slice(0, 16)
}

interface EntrypointFacts { inputPaths: InputPaths; nondeterministic: boolean | undefined }

/**
 * The compiler's facts about an entrypoint as a bundle's manifest records them (src/bundle/facts.ts).
 * A policy is non-deterministic (never cached by default) when ANY source says so: the
 * manifest's flag, the manifest's builtin list, or the builtins the module itself imports —
 * so a manifest written with an older, shorter list cannot make a time-dependent policy
 * cacheable.
 */
function entrypointFacts (metadata: Record<string, unknown> | undefined, entrypoint: string): EntrypointFacts {
  const recorded = readEntrypointFacts(metadata, entrypoint)
  const nondeterministic = recorded.nondeterministic === true || anyNondeterministic(recorded.builtins)
    ? true
    : recorded.nondeterministic
  return { inputPaths: recorded.inputPaths, nondeterministic }
}

function finish (policy: WasmPolicy, entrypoint: string, meta: {
  revision: string; contentDigest: string; source: string; inputPaths: InputPaths; nondeterministic?: boolean; bundleName: string
}): LoadedPolicy {
  // Readers of a loaded policy's results (the proxy's engine, the shadow comparison, replay)
  // never modify them: results are shared, frozen objects (see EvaluatorOptions).
  const evaluate = policy.evaluator(entrypoint, { shareResults: true })
  const has = (ep: string): boolean => ep !== entrypoint && policy.entrypoints.includes(ep)
  const logPolicy = has(LOG_MASK_ENTRYPOINT) || has(LOG_DROP_ENTRYPOINT)
    ? Object.freeze({
      ...(has(LOG_MASK_ENTRYPOINT) ? { mask: policy.evaluator(LOG_MASK_ENTRYPOINT) } : {}),
      ...(has(LOG_DROP_ENTRYPOINT) ? { drop: policy.evaluator(LOG_DROP_ENTRYPOINT) } : {}),
    })
    : undefined
  return Object.freeze({
    revision: meta.revision,
    contentDigest: meta.contentDigest,
    source: meta.source,
    entrypoint,
    evaluate,
    wasm: policy,
    inputPaths: meta.inputPaths,
    // OR, never "the manifest wins": see entrypointFacts.
    cacheable: !(meta.nondeterministic === true || policy.nondeterministic),
    bundles: Object.freeze({ [meta.bundleName]: Object.freeze({ revision: meta.revision }) }),
    ...(logPolicy !== undefined ? { logPolicy } : {}),
  })
}

type Compiler = typeof import('../compiler/index.js')

// The compiler is imported on demand: a proxy serving bundles with Wasm never loads it.
async function compiler (): Promise<Compiler> {
  return await import('../compiler/index.js')
}

/** Compiles Rego sources (with data) for one entrypoint and loads the result. */
export async function loadPolicyFromRego (modules: { file: string; source: string; regoVersion?: 0 | 1 }[], data: Record<string, unknown>, entrypoint: string,
  meta: { source: string; revision?: string }, opts: LoadPolicyOptions = {}): Promise<LoadedPolicy> {
  const c = await compiler()
  const { loadRego } = await import('./eval/rego.js')
  let loaded
  try {
    // without a print hook (policy.print off) print() calls are left out of the module
    // data.system.log.mask / drop too, when the sources define them (decision-log policies)
    loaded = await loadRego({ modules, entrypoints: [entrypoint], optionalEntrypoints: [LOG_MASK_ENTRYPOINT, LOG_DROP_ENTRYPOINT] }, data, opts)
  } catch (e) {
    if (e instanceof c.CompileError) {
      const lines = e.diagnostics.slice(0, 20).map((d) => c.formatDiagnostic(d))
      throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`${meta.source}: compilation failed:\n${lines.join('\n')}`], { cause: e })
    }
    throw e
  }
  const facts = loaded.facts.entrypointFacts[entrypoint]
  const contentDigest = contentDigestOf(loaded.wasm, data)
  return finish(loaded.policy, entrypoint, {
    revision: meta.revision || contentRevision(contentDigest),
    contentDigest,
    source: meta.source,
    inputPaths: facts?.inputPaths,
    nondeterministic: facts?.nondeterministic ?? false,
    bundleName: opts.bundleName ?? 'bouncer',
  })
}

/** Loads a bundle already read (and verified) by src/bundle (readBundle). */
export async function loadPolicyFromBundle (bundle: LoadedBundle, entrypoint: string, opts: LoadPolicyOptions & { source?: string } = {}): Promise<LoadedPolicy> {
  const source = opts.source ?? 'bundle'
  await checkRegoRoots(bundle)
  if (bundle.wasm) {
    const declared = bundle.manifest.wasm?.map((w) => w.entrypoint) ?? []
    if (declared.length && !declared.includes(entrypoint)) {
      throw new BouncerError('BOUNCER_ERR_POLICY_ENTRYPOINT', [entrypoint, declared.join(', ')])
    }
    const facts = entrypointFacts(bundle.manifest.metadata, entrypoint)
    const contentDigest = contentDigestOf(bundle.wasm, bundle.data)
    return finish(await loadWasmPolicy(bundle.wasm, bundle.data, opts), entrypoint, {
      revision: bundle.manifest.revision || contentRevision(contentDigest),
      contentDigest,
      source,
      inputPaths: facts.inputPaths,
      nondeterministic: facts.nondeterministic,
      bundleName: opts.bundleName ?? 'bouncer',
    })
  }
  if (bundle.rego.length === 0) throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`${source}: bundle has neither policy.wasm nor .rego files`])
  const fallback = opts.regoVersion ?? 1
  const modules = bundle.rego.map((r) => ({ file: r.path, source: r.source, regoVersion: regoVersionForFile(bundle.manifest, r.path, fallback) }))
  return await loadPolicyFromRego(modules, bundle.data, entrypoint,
    { source, revision: bundle.manifest.revision }, opts)
}

async function exists (file: string): Promise<boolean> {
  try { await stat(file); return true } catch { return false }
}

/** Every file under `dir` by its path relative to it ('/'-separated), as a bundle holds them.
 *  Anything but files and directories (a symlink) is refused: it is not what was signed. */
// Files the bundle reader may read (data, policies, Wasm, the manifest, patch.json it refuses),
// kept broad: any JSON or YAML. Only other files that exclude_files leaves out are skipped.
const LOADED_FILE = /\.(rego|wasm|json|ya?ml)$|(^|\/)\.manifest$/

async function directoryFiles (dir: string, skip: (name: string) => boolean = () => false): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>()
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const name = rel === '' ? e.name : `${rel}/${e.name}`
      // Files only: a glob's `*` also matches a directory's name, and every file below it
      // (a .rego among them) would have gone unread.
      if (e.isDirectory()) await walk(name)
      else if (skip(name)) continue
      else if (e.isFile()) files.set(name, await readFile(path.join(dir, name)))
      else throw new Error(`${name}: not a regular file (a signed bundle directory holds files only)`)
    }
  }
  await walk('')
  return files
}

/** The `.manifest` of a bundle directory, or undefined when there is none. */
async function readDirManifest (dir: string): Promise<BundleManifest | undefined> {
  let text: string
  try { text = await readFile(path.join(dir, '.manifest'), 'utf8') } catch { return undefined }
  try {
    return normalizeManifest(JSON.parse(text))
  } catch (e) {
    throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`${path.join(dir, '.manifest')}: ${(e as Error).message}`], { cause: e })
  }
}

/** A directory of Rego, a .rego file, or a bundle archive (.tar.gz / .tgz). */
export async function loadPolicyFromPath (p: string, entrypoint: string, opts: LoadPolicyOptions = {}): Promise<LoadedPolicy> {
  let st
  try { st = await stat(p) } catch (e) {
    throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`], { cause: e })
  }
  // A bundle directory is held to the signing keys as an archive is (opa run -b dir verifies it
  // so): with keys, its files must be the signed ones, and an unsigned directory is refused; a
  // signed one (.signatures.json) cannot load without keys. It was compiled unverified, so
  // whoever could write the directory changed the enforced policy or its data.
  if (st.isDirectory() && (opts.verification !== undefined || await exists(path.join(p, '.signatures.json')))) {
    const { packFiles, readBundle } = await import('../bundle/index.js')
    let bundle: LoadedBundle
    try {
      // Files exclude_files leaves out of verification that the loader never reads (a .git
      // directory) are not read at all: they would only have been packed and skipped.
      const { prepareVerification } = await import('../bundle/signatures.js')
      const exclude = opts.verification === undefined ? [] : prepareVerification(opts.verification).exclude
      const skip = (name: string): boolean => !LOADED_FILE.test(name) && exclude.some((r) => r.test(name))
      bundle = await readBundle(await packFiles(await directoryFiles(p, skip)), opts.limits, { label: p, verification: opts.verification })
    } catch (e) {
      throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`${p}: ${(e as Error).message}`], { cause: e })
    }
    return await loadPolicyFromBundle(bundle, entrypoint, { ...opts, source: path.resolve(p) })
  }
  if (st.isDirectory() || p.endsWith('.rego')) {
    const c = await compiler()
    let sources
    try { sources = await c.loadSources([p]) } catch (e) {
      if (e instanceof c.CompileError) throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`${p}: ${e.diagnostics.map((d) => c.formatDiagnostic(d)).join('\n')}`], { cause: e })
      throw e
    }
    if (sources.modules.length === 0) throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`${p}: no .rego files found`])
    // Tests (*_test.rego) are not part of the enforced policy. A directory holding a bundle's
    // .manifest gets its rego_version / file_rego_versions, as OPA loads a bundle directory.
    const manifest = st.isDirectory() ? await readDirManifest(p) : undefined
    const fallback = opts.regoVersion ?? 1
    const modules = sources.modules.filter((m) => !m.file.endsWith('_test.rego')).map((m) => ({
      ...m,
      regoVersion: manifest === undefined ? fallback : regoVersionForFile(manifest, path.relative(p, m.file).split(path.sep).join('/'), fallback),
    }))
    return await loadPolicyFromRego(modules, sources.data, entrypoint, { source: path.resolve(p) }, opts)
  }
  if (/\.(tar\.gz|tgz)$/.test(p)) {
    const { readBundle } = await import('../bundle/index.js')
    const bytes = await readFile(p)
    let bundle: LoadedBundle
    try {
      bundle = await readBundle(bytes, opts.limits, { label: p, verification: opts.verification })
    } catch (e) {
      throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`${p}: ${(e as Error).message}`], { cause: e })
    }
    return await loadPolicyFromBundle(bundle, entrypoint, { ...opts, source: path.resolve(p) })
  }
  throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`${p}: expected a directory, a .rego file or a bundle .tar.gz`])
}
