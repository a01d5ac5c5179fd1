// loadSources: Rego and data files from paths, as OPA's loader reads them for opa eval -d,
// opa test and opa build.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { CompileError, loadSources } from '../../src/compiler/index.js'

async function tree (files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bouncer-load-'))
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
    await writeFile(path.join(dir, name), text)
  }
  return dir
}

async function mergeMessage (paths: string[]): Promise<string> {
  try {
    await loadSources(paths)
    return 'no error'
  } catch (e) {
    if (!(e instanceof CompileError)) throw e
    return e.diagnostics.map(d => `${path.basename(d.loc.file)}: ${d.message}`).join('\n')
  }
}

t.test('every .json, .yaml and .yml file is data, whatever its name, at its directory\'s path', async t => {
  // A blocklist named blocklist.json was skipped (only data.json/data.yaml were read): the deny
  // rules that read it stopped firing, with no warning.
  const dir = await tree({
    'policy.rego': 'package p\nimport rego.v1\ndeny contains u if some u in data.blocked\n',
    'blocklist.json': '{"blocked": ["mallory"]}',
    'teams/members.yaml': 'alice: admin\n',
    'teams/ops/list.yml': '- carol\n',
    'limits/max.json': '[1, 2]',
    'notes.txt': 'not data',
  })
  const { modules, data } = await loadSources([dir])
  t.same(modules.map(m => path.basename(m.file)), ['policy.rego'])
  t.same(data, { blocked: ['mallory'], limits: [1, 2], teams: { alice: 'admin', ops: ['carol'] } })
  // a file given by name goes at the root
  t.same((await loadSources([path.join(dir, 'blocklist.json')])).data, { blocked: ['mallory'] })
})

t.test('two files that define the same value are a merge error, as in OPA', async t => {
  const nested = await tree({ 'data.json': '{"a": {"b": 1}}', 'a/data.json': '{"b": 2}' })
  t.equal(await mergeMessage([nested]), 'data.json: merge error: data.a.b is also defined by an earlier data file')
  const two = await tree({ 'x/data.json': '{"k": "from-x"}', 'y/data.json': '{"k": "from-y"}' })
  t.equal(await mergeMessage([path.join(two, 'x/data.json'), path.join(two, 'y/data.json')]), 'data.json: merge error: data.k is also defined by an earlier data file')
  const same = await tree({ 'a.json': '{"k": 1}', 'b.json': '{"k": 1}' })
  t.equal(await mergeMessage([same]), 'b.json: merge error: data.k is also defined by an earlier data file', 'equal values too (OPA: any key both define, unless both are objects)')
  const objects = await tree({ 'a.json': '{"o": {"x": 1}}', 'b.json': '{"o": {"y": 2}}', 'o/c.json': '{"z": 3}' })
  t.same((await loadSources([objects])).data, { o: { x: 1, y: 2, z: 3 } }, 'objects merge')
  const dirVsValue = await tree({ 'a.json': '{"o": 1}', 'o/c.json': '{"z": 3}' })
  t.equal(await mergeMessage([dirVsValue]), 'c.json: merge error: data.o is also defined by an earlier data file')
})

t.test('a "__proto__" key in a data file is data, not the prototype', async t => {
  const dir = await tree({ 'a.json': '{"__proto__": {"polluted": true}, "o": {}}', 'b.json': '{"__proto__": {"more": 1}}' })
  const { data } = await loadSources([dir])
  t.same(Object.keys(data).sort(), ['__proto__', 'o'])
  t.same(data['__proto__' as keyof typeof data], { polluted: true, more: 1 })
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.equal(Object.getPrototypeOf(data), Object.prototype)
})

t.test('the root document must be an object', async t => {
  const dir = await tree({ 'list.json': '[1]' })
  t.equal(await mergeMessage([dir]), 'list.json: root data file must hold an object')
})
