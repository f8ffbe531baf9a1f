/**
 * Security headers: the Content-Security-Policy builder and its presets, the
 * Permissions-Policy vocabulary, and the violation report types. `rampart()`
 * applies all of them; these exports are for building or inspecting policies.
 *
 * @packageDocumentation
 */

export { buildContentSecurityPolicy, CSP, NONCE } from './csp.ts';
export type {
  CspDirectiveName,
  CspDirectives,
  CspOptions,
  CspPatch,
  CspPreset,
  SandboxToken,
  SourceList,
  SourceListDirective,
} from './csp.ts';
export { DEFAULT_PERMISSIONS_POLICY } from './permissions-policy.ts';
export type { PermissionsAllowlist, PermissionsPolicy, PermissionsPolicyFeature } from './permissions-policy.ts';
export type { HeaderOverrides, HeadersOptions, HstsOptions, ReferrerPolicyToken } from './policy.ts';
export type { CspViolation, ReportsOptions, ViolationSink } from './reports.ts';
