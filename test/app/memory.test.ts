import t from 'tap'
import { tunedByOperator } from '../../src/app/memory.js'

t.test('a maximum alone does not stop the start-up hold; other semi-space flags do', async (t) => {
  t.notOk(tunedByOperator([]))
  t.notOk(tunedByOperator(['--max-semi-space-size=16']), 'the image default (Dockerfile NODE_OPTIONS)')
  t.notOk(tunedByOperator(['--max_semi_space_size=16 --enable-source-maps']))
  t.notOk(tunedByOperator(['--max-semi-space-size 16']))
  t.ok(tunedByOperator(['--semi-space-growth-factor=4']))
  t.ok(tunedByOperator(['--max-semi-space-size=16 --min-semi-space-size=8']), 'a minimum beside the maximum')
  t.ok(tunedByOperator(['--expose-gc', '--min_semi_space_size=2']))
})
