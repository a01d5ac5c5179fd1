#!/usr/bin/env node
// Records what `bouncer version` reports about the build: the package version, the git commit
// the sources were built from (when built from a git checkout; "unknown" otherwise, e.g. in
// the container build, whose context has no .git) and the time. Writes build/build-info.json;
// run by `npm run build` and postinstall.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const OUT = join(ROOT, 'build', 'build-info.json')

function git (...args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const commit = git('rev-parse', 'HEAD')
const dirty = commit !== null && git('status', '--porcelain', '--untracked-files=no') !== ''
const info = {
  version: pkg.version,
  commit: commit ?? 'unknown',
  ...(dirty ? { dirty: true } : {}),
  built_at: new Date().toISOString(),
}
mkdirSync(dirname(OUT), { recursive: true })
const tmp = `${OUT}.${process.pid}.tmp`
writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n')
renameSync(tmp, OUT)
