// Response headers that may carry a checksum of the upstream body. A masked response must not
// carry one: with a digest of the unmasked body, a masked low-entropy value (a PIN, an SSN)
// is recovered by hashing each candidate. Vendors name these freely (x-bz-content-sha1,
// x-oss-hash-crc64ecma, x-ms-content-crc64, x-amz-checksum-crc32, x-goog-hash...), so a fixed
// list lags behind them: any name with a checksum word among its parts is taken for one.

const DIGEST_WORD = /^(?:digest|hash|hashes|checksum|checksums|md5|sha|sha\d+|crc|crc\d+[a-z]*|xxhash\d*|blake\d*[a-z]*)$/

/** `name` (lower case) is Digest, Content-MD5 or any header named as a checksum of the body. */
export function isBodyDigestHeader (name: string): boolean {
  for (const part of name.split(/[-_.]/)) if (DIGEST_WORD.test(part)) return true
  return false
}
