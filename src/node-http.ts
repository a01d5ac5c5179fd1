// node:http for ES modules, required rather than imported. An `import ... from 'node:http'`
// builds the module's namespace, which reads every export — among them the lazy WebSocket,
// CloseEvent and MessageEvent getters Node 22+ hangs on node:http — and reading those loads
// Node's whole internal fetch/WebSocket implementation: ~13 MB of RSS in a process that never
// uses it. require() reads only what is asked for. (Type-only imports of node:http are fine.)
import { createRequire } from 'node:module'
import type * as Http from 'node:http'

const http = createRequire(import.meta.url)('node:http') as typeof Http

export const createServer = http.createServer
export const Server = http.Server
export const ServerResponse = http.ServerResponse
export const STATUS_CODES = http.STATUS_CODES
