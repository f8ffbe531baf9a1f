/**
 * Compiles the headers options into precomputed header blocks, one per kind of
 * response (HTML document or anything else) and transport (HTTPS or not), so the
 * request path only splices in the nonce.
 */

import { describe, isPlainObject, rejectUnknownKeys } from '../_internal/describe.ts';
import {
  compileCsp,
  lintCsp,
  patchCsp,
  REPORT_GROUP_NAME,
  serializeCsp,
  type CspModel,
  type CspOptions,
  type CspPatch,
} from './csp.ts';
import { DEFAULT_PERMISSIONS_POLICY, serializePermissionsPolicy, type PermissionsPolicy } from './permissions-policy.ts';

/** Options of `Strict-Transport-Security` (RFC 6797). */
export interface HstsOptions {
  /** Seconds browsers remember to use HTTPS only. Default 63072000 (two years). */
  readonly maxAge?: number;
  /** Apply to every subdomain too. Default `true`. */
  readonly includeSubDomains?: boolean;
  /** Ask to be preloaded into browsers (hstspreload.org): permanent, so off by default. */
  readonly preload?: boolean;
}

/** Tokens of Referrer-Policy. */
export type ReferrerPolicyToken =
  | 'no-referrer'
  | 'no-referrer-when-downgrade'
  | 'same-origin'
  | 'origin'
  | 'strict-origin'
  | 'origin-when-cross-origin'
  | 'strict-origin-when-cross-origin'
  | 'unsafe-url';

/**
 * Every security header rampart sends, by option name. `false` turns a header
 * off; leaving an option out keeps the secure default.
 */
export interface HeadersOptions {
  /** The enforced policy on HTML responses. Default: the strict preset with a nonce. */
  readonly contentSecurityPolicy?: CspOptions | false;
  /** A second policy sent as `Content-Security-Policy-Report-Only`, to try a change first. Default off. */
  readonly contentSecurityPolicyReportOnly?: CspOptions | false;
  /** Sent on HTTPS responses only. Default `max-age=63072000; includeSubDomains`. */
  readonly strictTransportSecurity?: HstsOptions | false;
  /** Default `'DENY'`; `frame-ancestors` in the CSP says the same to current browsers. */
  readonly xFrameOptions?: 'DENY' | 'SAMEORIGIN' | false;
  /** `nosniff`. Default `true`. */
  readonly xContentTypeOptions?: boolean;
  /** Default `'none'`. */
  readonly xPermittedCrossDomainPolicies?: 'none' | 'master-only' | 'by-content-type' | 'all' | false;
  /** `noopen`. Default `true`. */
  readonly xDownloadOptions?: boolean;
  /** Only `'0'` (the default) or `false`: the filter that `1` enabled leaked data and is gone from browsers. */
  readonly xXssProtection?: '0' | false;
  /** Default `'strict-origin-when-cross-origin'`. */
  readonly referrerPolicy?: ReferrerPolicyToken | readonly ReferrerPolicyToken[] | false;
  /** Default `'same-origin'`. */
  readonly crossOriginOpenerPolicy?: 'same-origin' | 'same-origin-allow-popups' | 'noopener-allow-popups' | 'unsafe-none' | false;
  /** Default `'same-origin'`. */
  readonly crossOriginResourcePolicy?: 'same-origin' | 'same-site' | 'cross-origin' | false;
  /** Default off: `require-corp` breaks cross-origin images and scripts that do not opt in. */
  readonly crossOriginEmbedderPolicy?: 'require-corp' | 'credentialless' | 'unsafe-none' | false;
  /** `?1`. Default `true`. */
  readonly originAgentCluster?: boolean;
  /** Default `'off'`. */
  readonly xDnsPrefetchControl?: 'off' | 'on' | false;
  /** Default: every powerful feature denied (see `DEFAULT_PERMISSIONS_POLICY`). */
  readonly permissionsPolicy?: PermissionsPolicy | false;
}

/**
 * Changes to the headers for one route or response: header options replace the
 * global ones (or `false` drops the header); the two CSPs take a patch.
 */
export type HeaderOverrides = Omit<HeadersOptions, 'contentSecurityPolicy' | 'contentSecurityPolicyReportOnly'> & {
  readonly contentSecurityPolicy?: CspPatch | false;
  readonly contentSecurityPolicyReportOnly?: CspPatch | false;
};

const OPTION_NAMES = [
  'contentSecurityPolicy',
  'contentSecurityPolicyReportOnly',
  'strictTransportSecurity',
  'xFrameOptions',
  'xContentTypeOptions',
  'xPermittedCrossDomainPolicies',
  'xDownloadOptions',
  'xXssProtection',
  'referrerPolicy',
  'crossOriginOpenerPolicy',
  'crossOriginResourcePolicy',
  'crossOriginEmbedderPolicy',
  'originAgentCluster',
  'xDnsPrefetchControl',
  'permissionsPolicy',
] as const;

/** Headers an old checklist may ask for, refused with what replaces each. */
const REFUSED_OPTIONS: Record<string, string> = {
  publicKeyPins:
    'Public-Key-Pins (HPKP) was removed from browsers in 2018 because a wrong pin locks users out for months ("HPKP suicide") and attackers can pin ransom keys. Rely on Certificate Transparency, which browsers enforce, and CAA DNS records.',
  expectCt: 'Expect-CT is obsolete: Certificate Transparency is enforced by browsers for every certificate. Remove the option.',
  featurePolicy: 'Feature-Policy was replaced by Permissions-Policy; use the permissionsPolicy option.',
};

/** Flask-style and header-style spellings that mean one of our options. */
const ALIASES: Record<string, string> = {
  hsts: 'strictTransportSecurity',
  csp: 'contentSecurityPolicy',
  frameguard: 'xFrameOptions',
  noSniff: 'xContentTypeOptions',
  ieNoOpen: 'xDownloadOptions',
  xssFilter: 'xXssProtection',
  referrer: 'referrerPolicy',
  dnsPrefetchControl: 'xDnsPrefetchControl',
  permittedCrossDomainPolicies: 'xPermittedCrossDomainPolicies',
};

const REFERRER_TOKENS = new Set<string>([
  'no-referrer',
  'no-referrer-when-downgrade',
  'same-origin',
  'origin',
  'strict-origin',
  'origin-when-cross-origin',
  'strict-origin-when-cross-origin',
  'unsafe-url',
]);

/** One header of a block: its wire name, lowercase name, and value or CSP parts around the nonce. */
export interface HeaderEntry {
  readonly name: string;
  readonly lowerName: string;
  readonly value: string | readonly string[];
}

/** The precomputed headers of one policy: for HTML and for other responses, over HTTPS and not. */
export interface HeaderBlocks {
  readonly htmlSecure: readonly HeaderEntry[];
  readonly htmlInsecure: readonly HeaderEntry[];
  readonly otherSecure: readonly HeaderEntry[];
  readonly otherInsecure: readonly HeaderEntry[];
}

/** What `compileHeaders` needs besides the options. */
export interface HeadersEnvironment {
  readonly production: boolean;
  /** Path of the violation report endpoint, or undefined when it is off. */
  readonly reportPath: string | undefined;
  /** Called with each startup warning. */
  readonly warn: (message: string) => void;
}

/** The validated, resolved form of the options, kept so overrides can be merged onto it. */
export interface ResolvedHeaders {
  readonly csp: CspModel | false;
  readonly cspReportOnly: CspModel | false;
  readonly values: ReadonlyMap<string, string | false>;
  readonly blocks: HeaderBlocks;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], where: string, extra = ''): T | false {
  if (value === false) return false;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const found =
    typeof value === 'string' ? allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase()) : undefined;
  const hint = found ? ` Did you mean ${JSON.stringify(found)}?` : '';
  throw new TypeError(
    `rampart: ${where}: ${describe(value)} is not allowed. Use one of ${allowed.map((item) => JSON.stringify(item)).join(', ')} or false.${hint}${extra}`,
  );
}

function flag(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`rampart: ${where}: expected true or false, got ${describe(value)}.`);
  return value;
}

function hstsValue(options: unknown, where: string): string | false {
  if (options === false) return false;
  if (options === true) return hstsValue({}, where);
  if (!isPlainObject(options)) throw new TypeError(`rampart: ${where}: expected { maxAge, includeSubDomains, preload } or false, got ${describe(options)}.`);
  rejectUnknownKeys(options, ['maxAge', 'includeSubDomains', 'preload'], `${where}.`);
  const maxAge = options.maxAge ?? 63_072_000;
  if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0) {
    throw new RangeError(`rampart: ${where}.maxAge: expected a whole number of seconds, got ${describe(maxAge)}.`);
  }
  const includeSubDomains = flag(options.includeSubDomains ?? true, `${where}.includeSubDomains`);
  const preload = flag(options.preload ?? false, `${where}.preload`);
  if (preload && (!includeSubDomains || maxAge < 31_536_000)) {
    throw new RangeError(
      `rampart: ${where}.preload: the preload list requires includeSubDomains: true and maxAge of at least 31536000 (one year).`,
    );
  }
  return `max-age=${maxAge}${includeSubDomains ? '; includeSubDomains' : ''}${preload ? '; preload' : ''}`;
}

function referrerValue(value: unknown, where: string): string | false {
  if (value === false) return false;
  const tokens = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(tokens) || tokens.length === 0) {
    throw new TypeError(`rampart: ${where}: expected a Referrer-Policy token or an array of them, got ${describe(value)}.`);
  }
  const seen = new Set<string>();
  for (const token of tokens as unknown[]) {
    if (typeof token !== 'string' || !REFERRER_TOKENS.has(token)) {
      throw new TypeError(`rampart: ${where}: ${describe(token)} is not a Referrer-Policy token. Use one of ${[...REFERRER_TOKENS].join(', ')}.`);
    }
    if (seen.has(token)) throw new TypeError(`rampart: ${where}: ${JSON.stringify(token)} is listed twice.`);
    seen.add(token);
  }
  if (seen.has('unsafe-url')) throw new RangeError(`rampart: ${where}: "unsafe-url" leaks full URLs, including over HTTP; choose "strict-origin-when-cross-origin".`);
  return [...seen].join(', ');
}

/** Resolves each non-CSP header option to its value or `false`, starting from `base`. */
function resolveValues(options: Record<string, unknown>, base: ReadonlyMap<string, string | false> | undefined, where: string): Map<string, string | false> {
  const values = new Map<string, string | false>(base);
  const read = <T>(key: string, fallback: T): unknown => (key in options && options[key] !== undefined ? options[key] : base ? undefined : fallback);
  const set = (header: string, value: string | false | undefined): void => {
    if (value !== undefined) values.set(header, value);
  };
  const has = (key: string): boolean => read(key, 'default') !== undefined;

  if (has('strictTransportSecurity')) set('Strict-Transport-Security', hstsValue(read('strictTransportSecurity', {}), `${where}strictTransportSecurity`));
  if (has('xFrameOptions')) {
    const value = read('xFrameOptions', 'DENY');
    set('X-Frame-Options', oneOf(value, ['DENY', 'SAMEORIGIN'], `${where}xFrameOptions`, typeof value === 'string' && /allow-from/i.test(value) ? ' ALLOW-FROM is ignored by every current browser; use the CSP directive frame-ancestors instead.' : ''));
  }
  if (has('xContentTypeOptions')) set('X-Content-Type-Options', flag(read('xContentTypeOptions', true), `${where}xContentTypeOptions`) && 'nosniff');
  if (has('xPermittedCrossDomainPolicies')) set('X-Permitted-Cross-Domain-Policies', oneOf(read('xPermittedCrossDomainPolicies', 'none'), ['none', 'master-only', 'by-content-type', 'all'], `${where}xPermittedCrossDomainPolicies`));
  if (has('xDownloadOptions')) set('X-Download-Options', flag(read('xDownloadOptions', true), `${where}xDownloadOptions`) && 'noopen');
  if (has('xXssProtection')) {
    const value = read('xXssProtection', '0');
    if (value !== '0' && value !== false) {
      throw new RangeError(
        `rampart: ${where}xXssProtection: ${describe(value)} would turn on the XSS auditor, which browsers removed because it could be abused to leak data from pages (OWASP: "Do not set this header or explicitly turn it off"). Use "0" (the default); the Content-Security-Policy is what stops XSS today.`,
      );
    }
    set('X-XSS-Protection', value);
  }
  if (has('referrerPolicy')) set('Referrer-Policy', referrerValue(read('referrerPolicy', 'strict-origin-when-cross-origin'), `${where}referrerPolicy`));
  if (has('crossOriginOpenerPolicy')) set('Cross-Origin-Opener-Policy', oneOf(read('crossOriginOpenerPolicy', 'same-origin'), ['same-origin', 'same-origin-allow-popups', 'noopener-allow-popups', 'unsafe-none'], `${where}crossOriginOpenerPolicy`));
  if (has('crossOriginResourcePolicy')) set('Cross-Origin-Resource-Policy', oneOf(read('crossOriginResourcePolicy', 'same-origin'), ['same-origin', 'same-site', 'cross-origin'], `${where}crossOriginResourcePolicy`));
  if (has('crossOriginEmbedderPolicy')) set('Cross-Origin-Embedder-Policy', oneOf(read('crossOriginEmbedderPolicy', false), ['require-corp', 'credentialless', 'unsafe-none'], `${where}crossOriginEmbedderPolicy`));
  if (has('originAgentCluster')) set('Origin-Agent-Cluster', flag(read('originAgentCluster', true), `${where}originAgentCluster`) && '?1');
  if (has('xDnsPrefetchControl')) set('X-DNS-Prefetch-Control', oneOf(read('xDnsPrefetchControl', 'off'), ['off', 'on'], `${where}xDnsPrefetchControl`));
  if (has('permissionsPolicy')) {
    const policy = read('permissionsPolicy', DEFAULT_PERMISSIONS_POLICY);
    set('Permissions-Policy', policy === false ? false : serializePermissionsPolicy(policy, `${where}permissionsPolicy`) || false);
  }
  return values;
}

function checkOptionNames(options: Record<string, unknown>, where: string): void {
  for (const key of Object.keys(options)) {
    const refused = REFUSED_OPTIONS[key];
    if (refused) throw new TypeError(`rampart: ${where}${key} is refused. ${refused}`);
    const alias = ALIASES[key];
    if (alias) throw new TypeError(`rampart: unknown option "${where}${key}". Rampart names options after the header: use "${alias}".`);
  }
  rejectUnknownKeys(options, OPTION_NAMES, where);
}

/** Headers sent on HTML documents only: they govern what a page may do or be framed by. */
const DOCUMENT_ONLY = new Set([
  'X-Frame-Options',
  'X-XSS-Protection',
  'Cross-Origin-Opener-Policy',
  'Cross-Origin-Embedder-Policy',
  'Origin-Agent-Cluster',
  'X-DNS-Prefetch-Control',
  'Permissions-Policy',
]);

/** The CSP of every response that is not an HTML document: it may load and run nothing. */
const NON_DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'";

function entry(name: string, value: string | readonly string[]): HeaderEntry {
  return { name, lowerName: name.toLowerCase(), value: typeof value === 'string' || value.length > 1 ? value : value[0]! };
}

/**
 * Chromium ignores `Reporting-Endpoints` on plain-HTTP responses, and ignores
 * `report-uri` when `report-to` is present: so over HTTP the policy must not name
 * rampart's report group, or no report is ever sent.
 */
function withoutReportGroup(model: CspModel): CspModel {
  if (model.get('report-to')?.[0] !== REPORT_GROUP_NAME) return model;
  const copy = new Map(model);
  copy.delete('report-to');
  return copy;
}

function buildBlocks(
  csp: CspModel | false,
  cspReportOnly: CspModel | false,
  values: ReadonlyMap<string, string | false>,
  reportPath: string | undefined,
): HeaderBlocks {
  const html: HeaderEntry[] = [];
  const other: HeaderEntry[] = [];
  for (const [name, value] of values) {
    if (value === false || name === 'Strict-Transport-Security') continue;
    html.push(entry(name, value));
    if (!DOCUMENT_ONLY.has(name)) other.push(entry(name, value));
  }
  if (csp) other.unshift(entry('Content-Security-Policy', NON_DOCUMENT_CSP));
  const hsts = values.get('Strict-Transport-Security');

  const policies = (secure: boolean): HeaderEntry[] => {
    const entries: HeaderEntry[] = [];
    const adapt = secure ? (model: CspModel) => model : withoutReportGroup;
    if (csp) entries.push(entry('Content-Security-Policy', serializeCsp(adapt(csp))));
    if (cspReportOnly) entries.push(entry('Content-Security-Policy-Report-Only', serializeCsp(adapt(cspReportOnly))));
    const grouped = [csp, cspReportOnly].some((model) => model && model.get('report-to')?.[0] === REPORT_GROUP_NAME);
    if (secure && reportPath !== undefined && grouped) entries.push(entry('Reporting-Endpoints', `${REPORT_GROUP_NAME}="${reportPath}"`));
    return entries;
  };
  const hstsEntry = hsts ? [entry('Strict-Transport-Security', hsts)] : [];
  return {
    htmlSecure: [...policies(true), ...html, ...hstsEntry],
    htmlInsecure: [...policies(false), ...html],
    otherSecure: [...other, ...hstsEntry],
    otherInsecure: other,
  };
}

function warnAboutWeakening(options: Record<string, unknown>, environment: HeadersEnvironment, where: string): void {
  const weakening: Record<string, string> = {
    contentSecurityPolicy: 'without a Content-Security-Policy, one injected <script> runs with full access to the page',
    strictTransportSecurity: 'without HSTS, the first HTTP request of every visit can be intercepted',
    xContentTypeOptions: 'without nosniff, browsers may run an uploaded file as script or HTML',
  };
  for (const [key, risk] of Object.entries(weakening)) {
    if (options[key] === false && environment.production) environment.warn(`rampart: ${where}${key} is false: ${risk}.`);
  }
}

/** Validates the headers options and precomputes every header block. */
export function compileHeaders(options: HeadersOptions | undefined, environment: HeadersEnvironment): ResolvedHeaders {
  const where = 'headers.';
  if (options !== undefined && !isPlainObject(options)) throw new TypeError(`rampart: headers: expected an object, got ${describe(options)}.`);
  const record: Record<string, unknown> = options ?? {};
  checkOptionNames(record, where);
  warnAboutWeakening(record, environment, where);
  const cspEnvironment = { production: environment.production, reportPath: environment.reportPath };
  const cspOption = record.contentSecurityPolicy ?? {};
  const csp = cspOption === false ? false : compileCsp(cspOption as CspOptions, `${where}contentSecurityPolicy`, cspEnvironment);
  const reportOnlyOption = record.contentSecurityPolicyReportOnly ?? false;
  const cspReportOnly =
    reportOnlyOption === false
      ? false
      : compileCsp(reportOnlyOption as CspOptions, `${where}contentSecurityPolicyReportOnly`, cspEnvironment);
  if (csp) for (const warning of lintCsp(csp, `rampart: ${where}contentSecurityPolicy`)) environment.warn(warning);
  const values = resolveValues(record, undefined, where);
  const xfo = values.get('X-Frame-Options');
  if (csp && xfo === 'SAMEORIGIN' && csp.get('frame-ancestors')?.[0] === "'none'") {
    environment.warn(`rampart: ${where}xFrameOptions is "SAMEORIGIN" but the CSP says frame-ancestors 'none', which browsers follow; make them agree.`);
  }
  return { csp, cspReportOnly, values, blocks: buildBlocks(csp, cspReportOnly, values, environment.reportPath) };
}

/** Merges per-route overrides onto the resolved global headers and precomputes the result. */
export function compileOverrides(base: ResolvedHeaders, overrides: HeaderOverrides, environment: HeadersEnvironment): HeaderBlocks {
  const where = 'headerPolicy.';
  if (!isPlainObject(overrides)) throw new TypeError(`rampart: headerPolicy: expected an object of overrides, got ${describe(overrides)}.`);
  const record = overrides as Record<string, unknown>;
  checkOptionNames(record, where);
  // A route's policy is held to what the global one is: the same warnings.
  warnAboutWeakening(record, environment, where);
  const patch = (model: CspModel | false, value: unknown, name: string): CspModel | false => {
    if (value === undefined) return model;
    if (value === false) return false;
    return patchCsp(model || new Map(), value as CspPatch, `${where}${name}`);
  };
  const csp = patch(base.csp, record.contentSecurityPolicy, 'contentSecurityPolicy');
  const cspReportOnly = patch(base.cspReportOnly, record.contentSecurityPolicyReportOnly, 'contentSecurityPolicyReportOnly');
  if (csp && record.contentSecurityPolicy !== undefined) for (const warning of lintCsp(csp, `rampart: ${where}contentSecurityPolicy`)) environment.warn(warning);
  const values = resolveValues(record, base.values, where);
  return buildBlocks(csp, cspReportOnly, values, environment.reportPath);
}
