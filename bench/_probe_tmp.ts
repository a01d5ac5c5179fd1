import { compileDecisionKey } from '../src/cache/index.js'
const input = { attributes: { request: { http: { method: 'GET', headers: { 'x-tenant': 'acme' } } } }, parsed_path: ['v1','accounts','42','transactions'], identity: { sub: 'alice', roles: ['admin','auditor'], tenant: 'acme' } }
const k = compileDecisionKey({ revision: 'r', entrypoint: 'e', inputPaths: [['attributes','request','http','method'],['attributes','request','http','headers','x-tenant'],['parsed_path'],['identity','sub'],['identity','roles'],['identity','tenant']] })
for (let i=0;i<2_000_000;i++) k(input)
