// What is running: the package version, the source revision and the Node.js version, for
// the bouncer_build_info gauge (one series, value 1, joined onto other series in queries).
//
// version:  package.json next to src/ or dist/ (the image copies it to /app/package.json).
// revision: "commit" of build/build-info.json, the file `bouncer version` reads too: written
//           by scripts/build-info.mjs in a git checkout, and by the Dockerfile from
//           --build-arg REVISION in the image; "-dirty" appended for a modified checkout;
//           "unknown" without it. Nothing is read from the environment: only config loading
//           does that.
import { readFileSync } from 'node:fs'

export interface BuildInfo {
  readonly version: string
  readonly revision: string
  readonly node: string
}

function readJson (url: URL): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(readFileSync(url, 'utf8')) as unknown
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

const str = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : undefined

let cached: BuildInfo | undefined

/** Read once per process; src/metrics/ and dist/metrics/ are both two levels below the package root. */
export function buildInfo (): BuildInfo {
  if (cached !== undefined) return cached
  const root = new URL('../../', import.meta.url)
  const pkg = readJson(new URL('package.json', root))
  const build = readJson(new URL('build/build-info.json', root))
  const commit = str(build?.commit)
  cached = Object.freeze({
    version: str(pkg?.version) ?? 'unknown',
    revision: commit === undefined ? 'unknown' : commit !== 'unknown' && build?.dirty === true ? `${commit}-dirty` : commit,
    node: process.version,
  })
  return cached
}
