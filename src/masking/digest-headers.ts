// Response headers that may carry a checksum of the upstream body. A masked response must not
// carry one: with a digest of the unmasked body, a masked low-entropy value (a PIN, an SSN)
// is recovered by hashing each candidate. Vendors name these freely (x-bz-content-sha1,
// x-oss-hash-crc64ecma, x-ms-content-crc64, rclone's x-amz-meta-md5chksum, Open Banking's
// x-jws-signature over the body...), so no fixed list keeps up: a name with a checksum word in
// any of its parts is taken for one, and so is every object store's user metadata (where tools
// keep their own hashes) and IPFS's content ids (hashes of the content). Dropping an unrelated
// header of a masked response (x-git-sha) costs little; keeping a digest costs the masked value.

const DIGEST_PART = /md5|digest|hash|checksum|chksum|cksum|signature|sha(?:\d|sum)|crc(?:\d|sum)|xxh\d|etag$/
const DIGEST_WORD = /^(?:sha|crc|xxh|blake\d*[a-z]*)$/
// User metadata of S3 (and MinIO, R2, Wasabi...), GCS, Azure, Alibaba, Tencent, Huawei,
// Backblaze, OpenStack Swift, Oracle OCI, Baidu, Volcengine, Qiniu; IPFS gateways.
const METADATA_PREFIXES = ['x-amz-meta-', 'x-goog-meta-', 'x-ms-meta-', 'x-oss-meta-', 'x-cos-meta-', 'x-obs-meta-', 'x-bz-info-', 'x-object-meta-',
  'opc-meta-', 'x-bce-meta-', 'x-tos-meta-', 'x-qn-meta-', 'x-ipfs-']
// Headers that carry a body's hash inside a structured value.
const NAMED = new Set(['dropbox-api-result'])

// Asked for every header of every masked response, where the regexps cost ~1 µs a name: the
// answer is kept per name, for a bounded number of short names (ever new or long names only
// cost the regexps, not memory).
const answers = new Map<string, boolean>()
const MAX_ANSWERS = 1024
const MAX_KEPT_NAME = 64

/** `name` (lower case) is Digest, Content-MD5 or any header that may hold a checksum of the body. */
export function isBodyDigestHeader (name: string): boolean {
  let answer = answers.get(name)
  if (answer === undefined) {
    answer = isDigestName(name)
    if (answers.size < MAX_ANSWERS && name.length <= MAX_KEPT_NAME) answers.set(name, answer)
  }
  return answer
}

function isDigestName (name: string): boolean {
  if (NAMED.has(name)) return true
  for (const p of METADATA_PREFIXES) if (name.startsWith(p)) return true
  for (const part of name.split(/[-_.]/)) if (DIGEST_PART.test(part) || DIGEST_WORD.test(part)) return true
  return false
}
