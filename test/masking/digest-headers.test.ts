import t from 'tap'
import { isBodyDigestHeader } from '../../src/masking/digest-headers.js'

t.test('checksum headers of the body are recognised by the words in their names', async (t) => {
  for (const h of ['digest', 'content-digest', 'repr-digest', 'want-digest', 'content-md5', 'x-goog-hash', 'x-amz-checksum-crc32', 'x-amz-checksum-sha256',
    'x-bz-content-sha1', 'x-oss-hash-crc64ecma', 'x-cos-hash-crc64ecma', 'x-ms-content-crc64', 'x-ms-blob-content-md5', 'x_content_sha256', 'x-object-meta.sha512', 'x-content-xxhash64']) {
    t.ok(isBodyDigestHeader(h), h)
  }
  for (const h of ['content-type', 'cache-control', 'x-request-id', 'x-shard', 'x-hashtag-count', 'x-crcs', 'x-shadow', 'set-cookie', 'x-cache-hits', 'x-md5sum-of-nothing-here']) {
    t.notOk(isBodyDigestHeader(h), h)
  }
})
