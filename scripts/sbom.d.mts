// Types for scripts/sbom.mjs (imported by test/deploy/supply-chain.test.ts).
export interface CycloneDxComponent { 'bom-ref': string; type: string; name: string; version: string; group?: string; licenses?: unknown[]; purl?: string }
export interface CycloneDxBom {
  bomFormat: string
  specVersion: string
  metadata?: { component?: CycloneDxComponent }
  components: CycloneDxComponent[]
  dependencies?: Array<{ ref: string; dependsOn?: string[] }>
}
export function npmCommand (): [string, string[]]
export function generateSbom (root: string, opts?: { includeDev?: boolean }): CycloneDxBom
export function productionKeys (root: string): Set<string>
export function missingComponents (root: string, bom: CycloneDxBom, opts?: { includeDev?: boolean }): string[]
