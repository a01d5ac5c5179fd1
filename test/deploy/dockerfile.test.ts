// Lint-like checks of the Dockerfile and .dockerignore (no Docker engine here): the build
// is multi-stage and only has steps that can run, the runtime image is production-only,
// non-root, read-only-root friendly, health-checked on the admin port and labelled, and it
// agrees with the config schema and the Helm chart on ports, paths and the user.
import { accessSync, constants, readFileSync, readdirSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { configSchema } from '../../src/config/index.js'
import { buildContext, buildContextOnDisk, copyArgs, execForm, isIgnored, parseDockerfile, parseDockerignore, substitute } from './fixtures/dockerfile.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dockerfileText = readFileSync(join(root, 'Dockerfile'), 'utf8')
const df = parseDockerfile(dockerfileText)
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  license: string; engines: { node: string }; scripts: Record<string, string>
  dependencies: Record<string, string>; devDependencies: Record<string, string>
}
const values = parseYaml(readFileSync(join(root, 'helm/bouncer/values.yaml'), 'utf8')) as {
  bouncer: { securityContext: { runAsUser: number; runAsGroup: number }; ports: { proxy: number; admin: number } }
  workload: { podSecurityContext: { runAsUser: number } }
}
const runtime = df.stages[df.stages.length - 1]
const build = df.stages.find((s) => s.name === 'build')!
const of = (stage: typeof runtime, kw: string) => stage.instructions.filter((i) => i.keyword === kw)
const runs = (stage: typeof runtime) => of(stage, 'RUN').map((i) => i.args)
const schemaDefault = (...path: string[]): unknown => {
  let node = configSchema as unknown as { properties?: Record<string, unknown>; default?: unknown }
  for (const k of path) node = node.properties![k] as typeof node
  return node.default
}

t.test('multi-stage: build with dev dependencies, production dependencies alone, a runtime without npm', async (t) => {
  t.equal(df.directives.syntax, 'docker/dockerfile:1', 'syntax directive pins the frontend major')
  t.ok(df.stages.length >= 3, 'build, deps and runtime stages')
  t.ok(build, 'a stage named "build"')
  t.equal(runtime.name, 'runtime', 'the last stage is "runtime"')
  const buildCi = runs(build).find((r) => /\bnpm ci\b/.test(r))
  t.ok(buildCi, 'build stage runs npm ci')
  t.notMatch(buildCi!, /--omit=dev|--production/, 'build stage installs dev dependencies (AssemblyScript, TypeScript)')
  t.ok(runs(build).some((r) => /\bnpm run build\b/.test(r)), 'build stage runs npm run build (runtime.wasm and dist/)')
  t.match(pkg.scripts.build, /build-runtime\.mjs/, 'npm run build builds the Wasm runtime')
  t.match(pkg.scripts.build, /tsc -p tsconfig\.build\.json/, 'and compiles dist/ with tsc')
  const deps = df.stages.find((s) => s.name === 'deps')!
  t.ok(deps, 'a stage named "deps"')
  const depsCi = runs(deps).find((r) => /\bnpm ci\b/.test(r))
  t.match(depsCi!, /--omit=dev/, 'deps stage installs production dependencies only')
  if (pkg.scripts.postinstall) t.match(depsCi!, /--ignore-scripts/, 'postinstall (needs dev dependencies) is skipped there')
  t.notOk(runs(runtime).some((r) => /\b(npm|npx|yarn|corepack)\s/.test(r.replace(/\/usr\/local\/bin\/\S+/g, ''))), 'the runtime stage runs no package manager')
  t.ok(runs(runtime).some((r) => /rm -rf [^&]*\/usr\/local\/lib\/node_modules/.test(r) && /\/usr\/local\/bin\/npm\b/.test(r) && /\/usr\/local\/bin\/npx\b/.test(r)), 'npm and npx are removed from the runtime image')
  for (const dev of ['tsx', 'typescript', 'assemblyscript', 'esbuild']) t.notOk(pkg.dependencies[dev], `${dev} is not a production dependency`)
  t.equal(of(runtime, 'COPY').filter((i) => copyArgs(i.args).sources.some((x) => /^(\/src\/)?src(\/|$)/.test(x))).length, 0, 'no TypeScript sources in the runtime image')
})

t.test('base image pinned by digest, the same Node major as package.json engines', async (t) => {
  const engineMajor = /(\d+)/.exec(pkg.engines.node)![1]
  for (const s of df.stages) {
    t.match(s.image, new RegExp(`^node:${engineMajor}(-[a-z0-9.-]+)?@sha256:[a-f0-9]{64}$`), `stage ${s.name}: ${s.image}`)
    t.notMatch(s.image, /:latest|:lts|:current/, 'no floating tag')
  }
  t.equal(new Set(df.stages.map((s) => s.image)).size, 1, 'build and runtime share one base image')
})

t.test('only steps that can run', async (t) => {
  const context = new Set(buildContext(root))
  const stageNames = new Map(df.stages.map((s) => [s.name, s.index]))
  // What each stage has under its WORKDIR: files copied from the context, and files produced by RUN steps we can name.
  const produced: Record<string, string[]> = {
    'npm run build': ['build/runtime.wasm', 'build/runtime.json', 'build/json-scan.wasm', 'dist/cli/index.js', 'dist/config/index.js', 'dist/compiler/index.js'],
  }
  const stageFiles = df.stages.map(() => new Set<string>())
  for (const s of df.stages) {
    let workdir = '/'
    const args: Record<string, string> = { ...df.globalArgs }
    for (const ins of s.instructions) {
      if (ins.keyword === 'ARG') { const [k, v] = ins.args.split('='); args[k] = v ?? args[k] ?? '' }
      if (ins.keyword === 'WORKDIR') workdir = posix.resolve(workdir, substitute(ins.args, args))
      if (ins.keyword === 'ADD') t.fail(`Dockerfile:${ins.line}: use COPY, not ADD`)
      if (ins.keyword === 'RUN') {
        t.notMatch(ins.args, /\b(curl|wget)\b[^|]*\|\s*(ba|z|da)?sh\b/, `Dockerfile:${ins.line}: no curl | sh`)
        t.notMatch(ins.args, /\bsudo\b|apt-get\s+(dist-)?upgrade/, `Dockerfile:${ins.line}: no sudo / upgrade`)
        for (const m of ins.args.matchAll(/\bnpm run ([\w:-]+)/g)) {
          t.ok(pkg.scripts[m[1]], `Dockerfile:${ins.line}: npm script "${m[1]}" exists`)
          for (const f of produced[`npm run ${m[1]}`] ?? []) stageFiles[s.index].add(posix.join(workdir, f))
        }
        if (/\bnpm ci\b/.test(ins.args)) {
          const copiedLock = [...stageFiles[s.index]].some((f) => f.endsWith('/package-lock.json'))
          t.ok(copiedLock, `Dockerfile:${ins.line}: package-lock.json is copied before npm ci`)
          stageFiles[s.index].add(posix.join(workdir, 'node_modules/.package-lock.json'))
        }
      }
      if (ins.keyword !== 'COPY') continue
      const { flags, sources, dest } = copyArgs(ins.args)
      const target = posix.resolve(workdir, dest)
      if (flags.from) {
        const from = stageNames.get(flags.from)
        t.ok(from !== undefined && from < s.index, `Dockerfile:${ins.line}: --from=${flags.from} is an earlier stage`)
        for (const src of sources) {
          const have = [...stageFiles[from!]].some((f) => f === src || f.startsWith(src + '/'))
          t.ok(have, `Dockerfile:${ins.line}: ${src} exists in stage ${flags.from}`)
          const base = sources.length > 1 || dest.endsWith('/') ? posix.join(target, posix.basename(src)) : target
          for (const f of stageFiles[from!]) {
            if (f === src) stageFiles[s.index].add(base)
            else if (f.startsWith(src + '/')) stageFiles[s.index].add(posix.join(base, f.slice(src.length + 1)))
          }
        }
        continue
      }
      for (const src of sources) {
        const files = src === '.' ? [...context] : [...context].filter((f) => f === src || f.startsWith(src.replace(/\/$/, '') + '/'))
        t.ok(files.length > 0, `Dockerfile:${ins.line}: COPY source ${src} is in the build context (.dockerignore allows it)`)
        for (const f of files) {
          const rel = src === '.' ? f : f === src ? posix.basename(f) : f.slice(src.replace(/\/$/, '').length + 1)
          stageFiles[s.index].add(src === '.' || dest.endsWith('/') ? posix.join(target, rel) : target + (f === src ? '' : '/' + rel))
        }
      }
    }
  }
  // The runtime image has what bin/bouncer.js needs to start.
  for (const f of ['/app/package.json', '/app/node_modules/.package-lock.json', '/app/build/runtime.wasm', '/app/build/json-scan.wasm', '/app/docker/entrypoint.sh', '/app/bin/bouncer.js', '/app/dist/cli/index.js', '/app/dist/config/index.js', '/app/dist/compiler/index.js']) {
    t.ok(stageFiles[runtime.index].has(f), `runtime image contains ${f}`)
  }
  t.ok(context.has('scripts/build-runtime.mjs'), 'the build:runtime script is in the build context')
  t.match(readFileSync(join(root, 'scripts/build-runtime.mjs'), 'utf8'), /build\/runtime\.wasm/, 'and writes build/runtime.wasm')
  t.match(readFileSync(join(root, 'scripts/build-runtime.mjs'), 'utf8'), /buildJsonScan\(/, 'and has the masker\'s build/json-scan.wasm built')
  t.ok(context.has('scripts/build-json-scan.mjs') && context.has('src/masking/assembly/json-scan.ts'), 'whose script and source are in the build context')
})

t.test('non-root numeric user, the same one the Helm chart runs as', async (t) => {
  const users = of(runtime, 'USER')
  t.equal(users.length, 1, 'one USER in the runtime stage')
  const m = /^(\d+):(\d+)$/.exec(users[0].args)
  t.ok(m, `USER ${users[0].args} is numeric uid:gid`)
  t.not(Number(m![1]), 0, 'not root')
  const lastRun = Math.max(...of(runtime, 'RUN').map((i) => i.line))
  t.ok(users[0].line > lastRun, 'USER comes after the last RUN, so nothing runs as root afterwards')
  t.equal(Number(m![1]), values.bouncer.securityContext.runAsUser, 'chart bouncer.securityContext.runAsUser matches')
  t.equal(Number(m![2]), values.bouncer.securityContext.runAsGroup, 'chart runAsGroup matches')
  t.equal(Number(m![1]), values.workload.podSecurityContext.runAsUser, 'chart podSecurityContext.runAsUser matches')
})

t.test('read-only root filesystem: every path the bouncer writes is a volume owned by the user', async (t) => {
  const volumes = of(runtime, 'VOLUME').flatMap((i) => execForm(i.args) ?? i.args.split(/\s+/))
  t.ok(volumes.includes('/tmp'), '/tmp is a volume')
  const uid = of(runtime, 'USER')[0].args
  for (const [path, setting] of [[schemaDefault('decision_logs', 'spool_dir'), 'decision_logs.spool_dir'], [schemaDefault('bundles', 'persist_dir'), 'bundles.persist_dir']] as const) {
    t.type(path, 'string', `${setting} has a default`)
    const vol = volumes.find((v) => String(path) === v || String(path).startsWith(v + '/'))
    t.ok(vol, `${setting} default ${path} is under a VOLUME`)
    t.ok(runs(runtime).some((r) => r.includes(`mkdir -p`) && r.includes(String(path)) && r.includes(`chown -R ${uid} ${vol}`)), `${path} is created and owned by ${uid}`)
  }
  // No BOUNCER_* in ENV unless it is a real setting: the bouncer rejects unknown BOUNCER_* variables.
  for (const env of of(runtime, 'ENV')) t.notMatch(env.args, /\bBOUNCER_/, 'no BOUNCER_* variables baked into the image')
})

t.test('ports, health check, signals, entrypoint', async (t) => {
  const serverPort = schemaDefault('server', 'port')
  const adminPort = schemaDefault('admin', 'port')
  const exposed = of(runtime, 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0]))
  t.same(exposed.sort(), [serverPort, adminPort].sort(), 'EXPOSE = config defaults server.port and admin.port')
  t.same([values.bouncer.ports.proxy, values.bouncer.ports.admin], [serverPort, adminPort], 'chart ports = config defaults')

  const hc = of(runtime, 'HEALTHCHECK')
  t.equal(hc.length, 1, 'one HEALTHCHECK')
  const cmd = execForm(hc[0].args.replace(/^(--\S+\s+)*CMD\s+/, ''))
  t.same(cmd, ['/app/docker/entrypoint.sh', 'healthcheck'], 'HEALTHCHECK runs the entrypoint\'s healthcheck (exec form)')
  t.match(hc[0].args, /--timeout=\d+s/)
  const entry = readFileSync(join(root, 'docker/entrypoint.sh'), 'utf8')
  t.match(entry, new RegExp(`BOUNCER_ADMIN_PORT \\|\\| ${String(adminPort)}\\b`), 'healthcheck defaults to the admin port')
  t.match(entry, /\/healthz/, 'healthcheck asks /healthz')

  t.equal(of(runtime, 'STOPSIGNAL')[0]?.args, 'SIGTERM')
  const ep = execForm(of(runtime, 'ENTRYPOINT')[0].args)
  t.same(ep, ['/app/docker/entrypoint.sh'], 'ENTRYPOINT exec form (no /bin/sh -c wrapper swallowing SIGTERM)')
  t.same(execForm(of(runtime, 'CMD')[0].args), ['run'])
  const file = join(root, 'docker/entrypoint.sh')
  t.doesNotThrow(() => accessSync(file, constants.X_OK), 'entrypoint.sh is executable')
  t.ok(statSync(file).mode & 0o111)
  t.match(entry, /^#!\/bin\/sh\n/, 'POSIX sh (the slim image has no bash requirement)')
  t.match(entry, /\nexec node "\$app_dir\/bin\/bouncer\.js" "\$@"\n/, 'exec replaces the shell with node')
})

t.test('OCI labels', async (t) => {
  const labels: Record<string, string> = {}
  for (const ins of of(runtime, 'LABEL')) {
    for (const m of ins.args.matchAll(/([\w.-]+)="([^"]*)"/g)) labels[m[1]] = m[2]
  }
  for (const k of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'source']) {
    t.ok(labels[`org.opencontainers.image.${k}`], `org.opencontainers.image.${k}`)
  }
  t.equal(labels['org.opencontainers.image.licenses'], pkg.license)
  t.equal(labels['org.opencontainers.image.title'], 'bouncer')
  const declared = new Set(of(runtime, 'ARG').map((i) => i.args.split('=')[0]).concat(Object.keys(df.globalArgs)))
  for (const v of Object.values(labels)) {
    for (const m of v.matchAll(/\$\{(\w+)\}/g)) t.ok(declared.has(m[1]), `label variable ${m[1]} is a declared ARG`)
  }
})

t.test('.dockerignore keeps secrets, VCS data and host builds out of the context', async (t) => {
  const rules = parseDockerignore(readFileSync(join(root, '.dockerignore'), 'utf8'))
  for (const p of ['.git/config', 'node_modules/tap/package.json', 'build/runtime.wasm', '.env', 'src/.env', 'test/deploy/dockerfile.test.ts', 'helm/bouncer/values.yaml', 'certs/server.pem', 'src/x/server.key', 'npm-debug.log']) {
    t.ok(isIgnored(rules, p), `${p} excluded`)
  }
  for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/index.ts', 'bin/bouncer.js', 'scripts/build-runtime.mjs', 'docker/entrypoint.sh']) {
    t.notOk(isIgnored(rules, p), `${p} included`)
  }
  const onDisk = buildContextOnDisk(root)
  t.ok(onDisk.length > 0)
  const top = new Set(onDisk.map((f) => f.split('/')[0]))
  t.same([...top].sort(), [...top].filter((x) => ['bin', 'docker', 'package-lock.json', 'package.json', 'scripts', 'src', 'tsconfig.build.json', 'tsconfig.json'].includes(x)).sort(), `only allow-listed entries are sent: ${[...top].join(', ')}`)
  t.notOk(onDisk.some((f) => /(^|\/)(\.env|node_modules)(\/|$)|\.(pem|key)$/.test(f)), 'nothing secret-looking in this working tree\'s context')
})

t.test('the runtime image needs no dev dependency: every package src/ and bin/ import is a production dependency', async (t) => {
  const files: string[] = []
  const walk = (dir: string) => {
    for (const ent of readdirSync(join(root, dir), { withFileTypes: true })) {
      const p = `${dir}/${ent.name}`
      if (ent.isDirectory()) { if (p !== 'src/compiler/runtime/assembly') walk(p) } else if (/\.(ts|js|mjs)$/.test(ent.name)) files.push(p)
    }
  }
  walk('src')
  walk('bin')
  const builtins = new Set(builtinModules)
  const used = new Map<string, string>()
  for (const f of files) {
    const text = readFileSync(join(root, f), 'utf8')
    // value imports only: `import type` and `export type` are erased by tsx
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?!type\s)(?:[^'"`;]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2]
      if (spec.startsWith('.') || spec.startsWith('node:') || spec.startsWith('/')) continue
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]
      if (builtins.has(name)) continue
      if (!used.has(name)) used.set(name, f)
    }
  }
  t.ok(used.size > 0, `found imports of ${[...used.keys()].join(', ')}`)
  for (const [name, file] of used) t.ok(pkg.dependencies[name], `${name} (imported by ${file}) is in dependencies`)
})
