// What is running: the package version, the source revision and the Node.js version, for
// the bouncer_build_info gauge (one series, value 1, joined onto other series in queries).
//
// version:  package.json next to src/ or dist/ (the image copies it to /app/package.json).
// revision: build-info.json beside package.json ({"revision": "..."}), which the Dockerfile
//           writes from --build-arg REVISION; otherwise "unknown". Nothing is read from the
//           environment: only config loading does that.
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
  const build = readJson(new URL('build-info.json', root))
  cached = Object.freeze({
    version: str(pkg?.version) ?? 'unknown',
    revision: str(build?.revision) ?? 'unknown',
    node: process.version,
  })
  return cached
}
