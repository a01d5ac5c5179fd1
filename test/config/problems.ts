// Shared by the config tests: the problems a ConfigError lists ([] when the call succeeds).
import { ConfigError } from '../../src/config/index.js'

export const problemsOf = (fn: () => unknown): string[] => {
  try { fn() } catch (e) {
    if (e instanceof ConfigError) return [...e.problems]
    throw e
  }
  return []
}

/** the smallest valid config */
export const base = { upstream: { url: 'http://127.0.0.1:3000' } }
