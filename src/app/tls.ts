// Files named by settings, read once at start, with a message naming the setting and the file.
// The one place that reads TLS client material (ca_file, cert_file, key_file) for outgoing
// connections — upstream, Redis, bundle service, JWKS, decision-log control plane — and the
// small secret files next to them (bearer tokens, passwords). Components receive contents,
// never paths. (The proxy port's own certificate is src/proxy/tls.ts: it is checked and
// reloaded while running.)
import { readFileSync } from 'node:fs'
import { ConfigError } from '../config/index.js'

/** A `tls` section of the config (upstream.tls, cache.redis.tls, bundles.tls, ...). */
export interface TlsFileSettings {
  readonly ca_file?: string
  readonly cert_file?: string
  readonly key_file?: string
  readonly servername?: string
  readonly reject_unauthorized?: boolean
}

/** What a TLS client needs (undici connect options, ioredis tls, node:tls). */
export interface TlsClientMaterial {
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  readonly servername?: string
  readonly rejectUnauthorized: boolean
}

/** The content of `file` (setting names the config key, e.g. "bundles.bearer_token_file"). */
export function readSettingFile (file: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    throw new ConfigError([`${setting}: cannot read ${file}: ${(e as Error).message}`])
  }
}

/** The bytes of `file`, for binary secrets (an HMAC key from `openssl rand`). */
export function readSettingBytes (file: string, setting: string): Buffer {
  try {
    return readFileSync(file)
  } catch (e) {
    throw new ConfigError([`${setting}: cannot read ${file}: ${(e as Error).message}`])
  }
}

/** readSettingFile for an optional setting; `trim` for one-line secrets (tokens, passwords). */
export function readOptionalFile (file: string | undefined, setting: string, opts: { trim?: boolean } = {}): string | undefined {
  if (file === undefined) return undefined
  const text = readSettingFile(file, setting)
  return opts.trim === true ? text.trim() : text
}

/** The PEM files of a tls section, read now. `setting` is the section's key ("upstream.tls"). */
export function readTlsFiles (tls: TlsFileSettings, setting: string): TlsClientMaterial {
  return {
    ca: readOptionalFile(tls.ca_file, `${setting}.ca_file`),
    cert: readOptionalFile(tls.cert_file, `${setting}.cert_file`),
    key: readOptionalFile(tls.key_file, `${setting}.key_file`),
    servername: tls.servername,
    rejectUnauthorized: tls.reject_unauthorized !== false,
  }
}
