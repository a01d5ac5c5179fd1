// Types for scripts/security-gate.mjs (imported by test/deploy/supply-chain.test.ts).
export interface CheckResult { ok: boolean; detail: string }
export interface AuditOutcome { status: 'pass' | 'fail' | 'unavailable'; detail: string; counts?: Record<string, number> }
export interface SecretFinding { file: string; line: number; id: string }
export interface LicensedPackage { name: string; version: string; license: string; optional: boolean }
export interface GateResult { check: string; status: 'pass' | 'warn' | 'fail' | 'skipped'; detail: string; packages?: LicensedPackage[] }

export function checkLockfile (root: string): CheckResult
export function classifyAudit (r: { code: number | null; stdout: string; stderr: string; timedOut?: boolean }): AuditOutcome
export function runAudit (root: string, opts?: { timeoutMs?: number }): Promise<AuditOutcome>
export const SECRET_PATTERNS: ReadonlyArray<{ id: string; re: RegExp }>
export const SECRET_FILENAMES: ReadonlyArray<{ id: string; re: RegExp }>
export const SECRET_PATH_ALLOWLIST: readonly RegExp[]
export const SECRET_ALLOW_MARKER: string
export function listRepoFiles (root: string): string[]
export function scanText (file: string, text: string): SecretFinding[]
export function scanSecrets (root: string, files?: string[]): { scanned: number; findings: SecretFinding[] }
export const DISALLOWED_LICENSES: readonly RegExp[]
export function licenseAllowed (id: string): boolean
export function expressionAllowed (expr: string): boolean
export function productionLicenses (root: string): LicensedPackage[]
export function checkLicenses (root: string): { ok: boolean; packages: LicensedPackage[]; byLicense: Record<string, number>; disallowed: LicensedPackage[] }
export function runGate (root: string, opts?: { requireAudit?: boolean; skipAudit?: boolean }): Promise<{ ok: boolean; results: GateResult[] }>
export function lowestMajor (range: string | undefined): number | undefined
export function dockerNodeMajor (dockerfile: string): number | undefined
export function checkRuntime (root: string, today?: Date): { ok: boolean; skipped?: boolean; detail: string }
