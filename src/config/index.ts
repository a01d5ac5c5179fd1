// Public surface of configuration: the schema (also used by the Helm chart), the loader,
// and the frozen config type. Only this module family reads the environment, and only
// through the `env` object its caller passes in.
export { configSchema } from './schema.js'
export type { BouncerConfig, TlsOptions, MaskRuleConfig, JwtKeyConfig } from './schema.js'
export { loadConfig, createConfig, resolveConfig, readConfigFile, ConfigError, requiredToRun, problemsText } from './load.js'
export type { LoadConfigOptions, DeepPartial } from './load.js'
export { parseConfigFlags, FLAG_PATHS, FLAGS_HELP } from './flags.js'
export type { ParsedFlags } from './flags.js'
export { leaves as configLeaves } from './leaves.js'
