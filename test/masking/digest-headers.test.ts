import t from 'tap'
import { isBodyDigestHeader } from '../../src/masking/digest-headers.js'

t.test('checksum headers of the body are recognised by the words in their names', async (t) => {
  for (const h of ['digest', 'content-digest', 'repr-digest', 'want-digest', 'content-md5', 'x-goog-hash', 'x-amz-checksum-crc32', 'x-amz-checksum-sha256',
    'x-bz-content-sha1', 'x-oss-hash-crc64ecma', 'x-cos-hash-crc64ecma', 'x-ms-content-crc64', 'x-ms-blob-content-md5', 'x_content_sha256', 'x-object-meta.sha512', 'x-content-xxhash64',
    // Found by the review of the first version: words inside a part, metadata, signatures.
    'x-amz-meta-md5chksum', 'x-amz-meta-s3cmd-attrs', 'x-object-meta-md5sum', 'x-amz-meta-sha256sum', 'x-content-sha256sum', 'x-goog-meta-anything',
    'x-ms-meta-x', 'x-oss-meta-x', 'x-cos-meta-x', 'x-obs-meta-x', 'x-bz-info-src_last_modified_millis', 'x-ipfs-path', 'x-ipfs-roots', 'dropbox-api-result',
    'signature', 'signature-input', 'x-jws-signature', 'x-git-sha', 'contentmd5', 'x-blake3',
    'x-linked-etag', 'x-xxh64', 'x-xxh3', 'opc-meta-x', 'x-bce-meta-x', 'x-tos-meta-x', 'x-qn-meta-x']) {
    t.ok(isBodyDigestHeader(h), h)
  }
  for (const h of ['content-type', 'cache-control', 'x-request-id', 'x-shard', 'x-crcs', 'x-shadow', 'set-cookie', 'x-cache-hits', 'x-ratelimit-remaining', 'x-share-id', 'x-amz-request-id', 'x-amz-version-id', 'x-goog-generation', 'x-ms-request-id']) {
    t.notOk(isBodyDigestHeader(h), h)
  }
})
