/**
 * Content-Security-Policy: a typed builder that validates a policy once, at
 * startup, and serializes it into static parts around the per-response nonce.
 *
 * Grammar references are CSP Level 3 (https://www.w3.org/TR/CSP3/) §2.3.1
 * (source lists) and Trusted Types §4.
 */

import { closest, describe, isPlainObject, rejectUnknownKeys } from '../_internal/describe.ts';

/**
 * Stands for "this response's nonce" in a source list. Rampart replaces it with a
 * fresh value of 128 random bits on every response.
 *
 * @example
 * ```ts
 * rampart({ headers: { contentSecurityPolicy: { directives: { 'script-src': [NONCE, CSP.strictDynamic] } } } })
 * ```
 */
export const NONCE = "'nonce'" as const;

/** The quoted keywords of CSP, so nobody has to remember the quotes. */
export const CSP = {
  self: "'self'",
  none: "'none'",
  nonce: NONCE,
  strictDynamic: "'strict-dynamic'",
  reportSample: "'report-sample'",
  unsafeInline: "'unsafe-inline'",
  unsafeEval: "'unsafe-eval'",
  unsafeHashes: "'unsafe-hashes'",
  wasmUnsafeEval: "'wasm-unsafe-eval'",
  inlineSpeculationRules: "'inline-speculation-rules'",
  script: "'script'",
} as const;

/** The fetch directives (CSP3 §6.1), which fall back to `default-src`. */
export const FETCH_DIRECTIVES = [
  'default-src',
  'child-src',
  'connect-src',
  'fenced-frame-src',
  'font-src',
  'frame-src',
  'img-src',
  'manifest-src',
  'media-src',
  'object-src',
  'script-src',
  'script-src-attr',
  'script-src-elem',
  'style-src',
  'style-src-attr',
  'style-src-elem',
  'worker-src',
] as const;

/** Directives whose value is a source list. */
export type SourceListDirective = (typeof FETCH_DIRECTIVES)[number] | 'base-uri' | 'form-action' | 'frame-ancestors';

/** Every directive rampart knows, i.e. every directive a current browser enforces. */
export type CspDirectiveName =
  | SourceListDirective
  | 'sandbox'
  | 'report-to'
  | 'report-uri'
  | 'upgrade-insecure-requests'
  | 'require-trusted-types-for'
  | 'trusted-types'
  | 'webrtc';

/** A source list: an array of sources, or one string of space-separated sources. */
export type SourceList = readonly string[] | string;

/** Tokens of the `sandbox` directive (HTML §7.1.5 sandboxing flags). */
export type SandboxToken =
  | 'allow-downloads'
  | 'allow-forms'
  | 'allow-modals'
  | 'allow-orientation-lock'
  | 'allow-pointer-lock'
  | 'allow-popups'
  | 'allow-popups-to-escape-sandbox'
  | 'allow-presentation'
  | 'allow-same-origin'
  | 'allow-scripts'
  | 'allow-storage-access-by-user-activation'
  | 'allow-top-navigation'
  | 'allow-top-navigation-by-user-activation'
  | 'allow-top-navigation-to-custom-protocols';

/**
 * CSP directives by their wire name. `null` removes a directive a preset would add.
 */
export type CspDirectives = { readonly [Name in SourceListDirective]?: SourceList | null } & {
  readonly sandbox?: readonly SandboxToken[] | true | null;
  readonly 'report-to'?: string | null;
  readonly 'report-uri'?: string | readonly string[] | null;
  readonly 'upgrade-insecure-requests'?: boolean | null;
  readonly 'require-trusted-types-for'?: readonly ["'script'"] | "'script'" | null;
  readonly 'trusted-types'?: readonly string[] | string | null;
  readonly webrtc?: "'allow'" | "'block'" | null;
};

/** The starting points a policy can be built from. */
export type CspPreset = 'strict' | 'strict-trusted-types' | 'relaxed';

/** Options of one Content-Security-Policy (enforced or report-only). */
export interface CspOptions {
  /** Where the policy starts from. Default `'strict'`. */
  readonly preset?: CspPreset;
  /** Directives added to, or replacing those of, the preset. */
  readonly directives?: CspDirectives;
  /** Allow a policy without `default-src`, which leaves every unlisted fetch allowed. */
  readonly dangerouslyDisableDefaultSrc?: true;
}

/** A change to a policy for one route or response. */
export interface CspPatch {
  /** Sources appended to a directive (created if absent). */
  readonly add?: CspDirectives;
  /** Directives replaced wholesale. */
  readonly set?: CspDirectives;
  /** Directives removed. */
  readonly remove?: readonly CspDirectiveName[];
}

const DIRECTIVE_NAMES: readonly CspDirectiveName[] = [
  ...FETCH_DIRECTIVES,
  'base-uri',
  'form-action',
  'frame-ancestors',
  'sandbox',
  'report-to',
  'report-uri',
  'upgrade-insecure-requests',
  'require-trusted-types-for',
  'trusted-types',
  'webrtc',
];

/** Directives that browsers removed or never shipped, with what replaces each. */
const RETIRED_DIRECTIVES: Record<string, string> = {
  'block-all-mixed-content': 'it is obsolete: mixed content is blocked by browsers; use "upgrade-insecure-requests"',
  'plugin-types': 'plugins are gone from browsers; "object-src \'none\'" covers them',
  referrer: 'it was removed from CSP; use the Referrer-Policy header (option referrerPolicy)',
  'reflected-xss': 'it was removed from CSP; rampart escapes output and sends a strict script-src instead',
  'prefetch-src': 'it was removed from CSP and browsers ignore it',
  'navigate-to': 'it never shipped in any browser',
  'require-sri-for': 'it was removed from CSP and browsers ignore it',
  'disown-opener': 'it never shipped; use the Cross-Origin-Opener-Policy header',
};

const KEYWORDS = new Set([
  "'self'",
  "'none'",
  "'unsafe-inline'",
  "'unsafe-eval'",
  "'strict-dynamic'",
  "'unsafe-hashes'",
  "'report-sample'",
  "'unsafe-allow-redirects'",
  "'wasm-unsafe-eval'",
  "'inline-speculation-rules'",
  "'trusted-types-eval'",
]);

const SANDBOX_TOKENS = new Set<string>([
  'allow-downloads',
  'allow-forms',
  'allow-modals',
  'allow-orientation-lock',
  'allow-pointer-lock',
  'allow-popups',
  'allow-popups-to-escape-sandbox',
  'allow-presentation',
  'allow-same-origin',
  'allow-scripts',
  'allow-storage-access-by-user-activation',
  'allow-top-navigation',
  'allow-top-navigation-by-user-activation',
  'allow-top-navigation-to-custom-protocols',
]);

/** Directives where a nonce, a hash or 'strict-dynamic' mean something. */
const SCRIPT_OR_STYLE = new Set<string>([
  'default-src',
  'script-src',
  'script-src-elem',
  'script-src-attr',
  'style-src',
  'style-src-elem',
  'style-src-attr',
]);

// CSP3 §2.3.1: scheme-source = scheme ":"; host-source = [scheme "://"] host [port] [path].
const SCHEME_SOURCE = /^[a-zA-Z][a-zA-Z0-9+.-]*:$/;
const HOST_SOURCE =
  /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:\/\/)?(?:\*|(?:\*\.)?[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::(?:\d{1,5}|\*))?(?:\/(?:[A-Za-z0-9\-._~!$&()*+=:@/]|%[0-9A-Fa-f]{2})*)?$/;
const NONCE_SOURCE = /^'nonce-[a-zA-Z0-9+/_-]+={0,2}'$/;
const HASH_SOURCE = /^'(sha256|sha384|sha512)-([a-zA-Z0-9+/_-]+={0,2})'$/;
/** Base64 lengths of each digest, without padding (CSP3 base64-value allows 0 to 2 "="). */
const HASH_LENGTHS: Record<string, number> = { sha256: 43, sha384: 64, sha512: 86 };
const REPORT_GROUP = /^[a-zA-Z0-9_-]+$/;
const TRUSTED_TYPES_POLICY = /^[a-zA-Z0-9\-#=_/@.%]+$/;
const UNQUOTED_KEYWORD = new Set([...KEYWORDS].map((keyword) => keyword.slice(1, -1)));

/** A validated policy: directives in order, each with its tokens (`true` for valueless ones). */
export type CspModel = Map<CspDirectiveName, readonly string[]>;

const STRICT: readonly (readonly [CspDirectiveName, readonly string[]])[] = [
  ['default-src', ["'self'"]],
  ['script-src', [NONCE, "'strict-dynamic'"]],
  ['style-src', ["'self'", NONCE]],
  ['object-src', ["'none'"]],
  ['base-uri', ["'none'"]],
  ['frame-ancestors', ["'none'"]],
  ['form-action', ["'self'"]],
  ['upgrade-insecure-requests', []],
];

const PRESETS: Record<CspPreset, readonly (readonly [CspDirectiveName, readonly string[]])[]> = {
  strict: STRICT,
  'strict-trusted-types': [...STRICT, ['require-trusted-types-for', ["'script'"]]],
  relaxed: [
    ['default-src', ["'self'"]],
    ['script-src', ["'self'", NONCE]],
    ['style-src', ["'self'", "'unsafe-inline'"]],
    ['img-src', ["'self'", 'data:', 'https:']],
    ['font-src', ["'self'", 'https:', 'data:']],
    ['object-src', ["'none'"]],
    ['base-uri', ["'self'"]],
    ['frame-ancestors', ["'self'"]],
    ['form-action', ["'self'"]],
    ['upgrade-insecure-requests', []],
  ],
};

function fail(where: string, message: string): never {
  throw new TypeError(`rampart: ${where}: ${message}`);
}

function checkDirectiveName(name: string, where: string): CspDirectiveName {
  if ((DIRECTIVE_NAMES as readonly string[]).includes(name)) return name as CspDirectiveName;
  const retired = RETIRED_DIRECTIVES[name];
  if (retired) fail(where, `the directive "${name}" is not supported: ${retired}.`);
  const kebab = name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  if ((DIRECTIVE_NAMES as readonly string[]).includes(kebab)) {
    fail(where, `directives are written by their wire name: use "${kebab}" instead of "${name}".`);
  }
  const guess = closest(name, DIRECTIVE_NAMES);
  fail(where, `unknown directive "${name}".${guess ? ` Did you mean "${guess}"?` : ''}`);
}

function toTokens(value: unknown, where: string): string[] {
  const list = typeof value === 'string' ? value.split(/[\t\n\f\r ]+/).filter(Boolean) : value;
  if (!Array.isArray(list)) fail(where, `expected an array of sources, got ${describe(value)}.`);
  return list.map((token: unknown) => {
    if (typeof token !== 'string') fail(where, `every source must be a string, got ${describe(token)}.`);
    if (token.length === 0) fail(where, 'a source cannot be an empty string.');
    // A ';' or ',' would end the directive or start a second policy: header injection.
    if (/[;,]/.test(token)) fail(where, `${describe(token)} contains ";" or ",", which would inject a directive or a policy.`);
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\s\u0000-\u001f\u007f]/.test(token)) fail(where, `${describe(token)} contains whitespace or a control character; pass each source as its own array item.`);
    if (/[^\u0020-\u007e]/.test(token)) fail(where, `${describe(token)} contains a non-ASCII character; write hosts in punycode.`);
    // Keywords and hash algorithms are case-insensitive (CSP3 §2.3.1): written in lowercase.
    const lower = token.toLowerCase();
    if (KEYWORDS.has(lower) || lower === NONCE) return lower;
    const hash = /^'(sha256|sha384|sha512)-/i.exec(token);
    return hash ? `'${hash[1]!.toLowerCase()}-${token.slice(hash[0].length)}` : token;
  });
}

function checkSource(token: string, directive: CspDirectiveName, where: string): void {
  if (token === NONCE || NONCE_SOURCE.test(token)) {
    if (!SCRIPT_OR_STYLE.has(directive)) fail(where, `a nonce has no meaning in "${directive}".`);
    if (token !== NONCE) {
      fail(where, `${describe(token)} is a fixed nonce, which an attacker can copy; use NONCE so every response gets a fresh one.`);
    }
    return;
  }
  const hash = HASH_SOURCE.exec(token);
  if (hash) {
    if (!SCRIPT_OR_STYLE.has(directive)) fail(where, `a hash has no meaning in "${directive}".`);
    if (hash[2]!.replace(/=+$/, '').length !== HASH_LENGTHS[hash[1]!]) fail(where, `${describe(token)} is not a complete base64 ${hash[1]} digest.`);
    return;
  }
  if (KEYWORDS.has(token)) {
    const scriptOnly = token !== "'self'" && token !== "'none'";
    if (directive === 'frame-ancestors' && scriptOnly) fail(where, `${token} is not allowed in "frame-ancestors".`);
    if (scriptOnly && token !== "'report-sample'" && !SCRIPT_OR_STYLE.has(directive) && directive !== 'worker-src') {
      fail(where, `${token} has no meaning in "${directive}".`);
    }
    return;
  }
  if (UNQUOTED_KEYWORD.has(token)) fail(where, `${describe(token)} must be quoted: "'${token}'".`);
  if (token.startsWith("'")) {
    if (token.startsWith("'nonce-") || /^'sha\d+-/.test(token)) fail(where, `${describe(token)} is not a valid nonce or hash source.`);
    fail(where, `${describe(token)} is not a CSP keyword.`);
  }
  if (token === '*' || SCHEME_SOURCE.test(token) || HOST_SOURCE.test(token)) return;
  fail(where, `${describe(token)} is not a valid source (expected a quoted keyword, a scheme like "https:", or a host like "cdn.example.com").`);
}

function validateSourceList(directive: CspDirectiveName, tokens: readonly string[], where: string): void {
  for (const token of tokens) checkSource(token, directive, where);
  if (tokens.includes("'none'") && tokens.length > 1) {
    fail(where, `"'none'" cannot be combined with other sources; it would be ignored.`);
  }
  const hasNonceOrHash = tokens.some((token) => token === NONCE || HASH_SOURCE.test(token));
  if (tokens.includes("'unsafe-inline'") && hasNonceOrHash) {
    fail(
      where,
      `"'unsafe-inline'" beside a nonce or hash is contradictory: browsers ignore it, so inline code you expect to run is blocked. Remove one of them.`,
    );
  }
  if (tokens.includes("'strict-dynamic'") && !hasNonceOrHash) {
    fail(where, `"'strict-dynamic'" without a nonce or hash blocks every script; add NONCE.`);
  }
}

function validateDirective(name: CspDirectiveName, value: unknown, where: string): readonly string[] | null {
  if (value === null) return null;
  switch (name) {
    case 'upgrade-insecure-requests':
      if (typeof value !== 'boolean') fail(where, `expected true or false, got ${describe(value)}.`);
      return value ? [] : null;
    case 'sandbox': {
      if (value === true) return [];
      const tokens = toTokens(value, where);
      for (const token of tokens) if (!SANDBOX_TOKENS.has(token)) fail(where, `unknown sandbox token ${describe(token)}.`);
      return tokens;
    }
    case 'report-to': {
      if (typeof value !== 'string' || !REPORT_GROUP.test(value)) {
        fail(where, `expected one endpoint name (letters, digits, "-" and "_"), got ${describe(value)}.`);
      }
      return [value];
    }
    case 'report-uri': {
      const tokens = toTokens(value, where);
      if (tokens.length === 0) fail(where, 'expected at least one URL.');
      for (const token of tokens) {
        if (!/^(?:https?:\/\/[^\s]+|\/[^\s]*)$/.test(token)) fail(where, `${describe(token)} is not an absolute http(s) URL or a path.`);
      }
      return tokens;
    }
    case 'require-trusted-types-for': {
      const tokens = toTokens(value, where);
      if (tokens.length !== 1 || tokens[0] !== "'script'") fail(where, `the only value is "'script'", got ${describe(value)}.`);
      return tokens;
    }
    case 'trusted-types': {
      const tokens = toTokens(value, where);
      for (const token of tokens) {
        const ok = token === "'none'" || token === "'allow-duplicates'" || token === '*' || TRUSTED_TYPES_POLICY.test(token);
        if (!ok) fail(where, `${describe(token)} is not a Trusted Types policy name.`);
      }
      if (tokens.includes("'none'") && tokens.length > 1) fail(where, `"'none'" cannot be combined with policy names.`);
      return tokens;
    }
    case 'webrtc':
      if (value !== "'allow'" && value !== "'block'") fail(where, `expected "'allow'" or "'block'", got ${describe(value)}.`);
      return [value];
    default: {
      const tokens = toTokens(value, where);
      if (tokens.length === 0) fail(where, `an empty source list; use ["'none'"] to allow nothing.`);
      validateSourceList(name, tokens, where);
      return tokens;
    }
  }
}

/** Directives whose value is one token, which `add` cannot extend. */
const SINGLE_VALUED = new Set<string>(['report-to', 'webrtc', 'require-trusted-types-for', 'upgrade-insecure-requests']);

const SOURCE_LIST_DIRECTIVES = new Set<string>([...FETCH_DIRECTIVES, 'base-uri', 'form-action', 'frame-ancestors']);

/** Checks that hold for the whole policy, after presets and overrides are merged. */
function validatePolicy(model: CspModel, where: string, allowNoDefaultSrc: boolean): void {
  if (!model.has('default-src') && !allowNoDefaultSrc) {
    fail(
      where,
      `the policy has no "default-src", so every fetch it does not list is allowed. Add one, or set dangerouslyDisableDefaultSrc: true.`,
    );
  }
  for (const [name, tokens] of model) {
    if (SOURCE_LIST_DIRECTIVES.has(name)) validateSourceList(name, tokens, `${where}["${name}"]`);
  }
}

/** Options of `compileCsp`. */
export interface CompileCspOptions {
  readonly production: boolean;
  /** Path of the violation report endpoint, wired as `report-uri` and `report-to`. */
  readonly reportPath?: string | undefined;
}

/** The name of the Reporting-Endpoints entry rampart's own report endpoint uses. */
export const REPORT_GROUP_NAME = 'rampart-csp';

function presetModel(preset: unknown, where: string): CspModel {
  if (preset === undefined) return new Map(PRESETS.strict);
  if (typeof preset !== 'string' || !(preset in PRESETS)) {
    fail(`${where}.preset`, `unknown preset ${describe(preset)}. Use one of: ${Object.keys(PRESETS).join(', ')}.`);
  }
  return new Map(PRESETS[preset as CspPreset]);
}

function readDirectives(directives: unknown, where: string): Map<CspDirectiveName, readonly string[] | null> {
  const read = new Map<CspDirectiveName, readonly string[] | null>();
  if (directives === undefined) return read;
  if (!isPlainObject(directives)) fail(where, `expected an object of directives, got ${describe(directives)}.`);
  for (const [key, value] of Object.entries(directives)) {
    if (value === undefined) continue;
    const name = checkDirectiveName(key, where);
    read.set(name, validateDirective(name, value, `${where}["${name}"]`));
  }
  return read;
}

/**
 * Validates CSP options and returns the policy model: preset, then directives,
 * then the environment (no `upgrade-insecure-requests` outside production unless
 * asked for, report wiring when the endpoint is on).
 */
export function compileCsp(options: CspOptions, where: string, environment: CompileCspOptions): CspModel {
  if (!isPlainObject(options)) fail(where, `expected an object or false, got ${describe(options)}.`);
  rejectUnknownKeys(options, ['preset', 'directives', 'dangerouslyDisableDefaultSrc'], `${where}.`);
  const model = presetModel(options.preset, where);
  const directives = readDirectives(options.directives, `${where}.directives`);
  if (!directives.has('upgrade-insecure-requests') && !environment.production) model.delete('upgrade-insecure-requests');
  for (const [name, tokens] of directives) {
    if (tokens === null) model.delete(name);
    else model.set(name, tokens);
  }
  if (options.dangerouslyDisableDefaultSrc !== undefined && options.dangerouslyDisableDefaultSrc !== true) {
    fail(`${where}.dangerouslyDisableDefaultSrc`, `expected true or no value, got ${describe(options.dangerouslyDisableDefaultSrc)}.`);
  }
  if (environment.reportPath !== undefined) {
    // Wired unless the user set, or removed with null, the directive themselves.
    if (!directives.has('report-uri')) model.set('report-uri', [environment.reportPath]);
    if (!directives.has('report-to')) model.set('report-to', [REPORT_GROUP_NAME]);
  }
  validatePolicy(model, where, options.dangerouslyDisableDefaultSrc === true);
  return model;
}

/** Applies a per-route patch to a compiled model, validating what it adds. */
export function patchCsp(model: CspModel, patch: CspPatch, where: string): CspModel {
  if (!isPlainObject(patch)) fail(where, `expected { add, set, remove } or false, got ${describe(patch)}.`);
  rejectUnknownKeys(patch, ['add', 'set', 'remove'], `${where}.`);
  const patched: CspModel = new Map(model);
  for (const [name, tokens] of readDirectives(patch.add, `${where}.add`)) {
    if (tokens === null) continue;
    if (SINGLE_VALUED.has(name)) fail(`${where}.add["${name}"]`, `"${name}" takes one value, so nothing can be added to it; use set.`);
    const current = patched.get(name) ?? [];
    const merged = [...current.filter((token) => token !== "'none'"), ...tokens.filter((token) => !current.includes(token))];
    patched.set(name, merged);
  }
  for (const [name, tokens] of readDirectives(patch.set, `${where}.set`)) {
    if (tokens === null) patched.delete(name);
    else patched.set(name, tokens);
  }
  if (patch.remove !== undefined) {
    if (!Array.isArray(patch.remove)) fail(`${where}.remove`, `expected an array of directive names, got ${describe(patch.remove)}.`);
    for (const name of patch.remove as unknown[]) {
      if (typeof name !== 'string') fail(`${where}.remove`, `expected directive names, got ${describe(name)}.`);
      patched.delete(checkDirectiveName(name, `${where}.remove`));
    }
  }
  validatePolicy(patched, where, !model.has('default-src'));
  return patched;
}

/**
 * Serializes a model into the static parts around the nonce: the header value is
 * `parts.join(nonce)`, so the per-response work is one join.
 */
export function serializeCsp(model: CspModel): string[] {
  const directives: string[] = [];
  for (const [name, tokens] of model) {
    const values = tokens.map((token) => (token === NONCE ? "'nonce-\u0000'" : token));
    directives.push(values.length === 0 ? name : `${name} ${values.join(' ')}`);
  }
  // NUL cannot occur in a validated policy, so it marks exactly where each nonce goes:
  // only NONCE tokens, never text that happens to read 'nonce' inside a source.
  return directives.join('; ').split('\u0000');
}

/**
 * Builds a Content-Security-Policy header value from options, for use outside
 * `rampart()` (a `<meta>` tag, another framework, a test).
 *
 * @example
 * ```ts
 * const value = buildContentSecurityPolicy({ directives: { 'img-src': [CSP.self, 'https://cdn.example'] } }, { nonce })
 * ```
 */
export function buildContentSecurityPolicy(
  options: CspOptions = {},
  context: { readonly nonce?: string; readonly production?: boolean } = {},
): string {
  const parts = serializeCsp(compileCsp(options, 'contentSecurityPolicy', { production: context.production ?? true }));
  if (parts.length > 1 && context.nonce === undefined) {
    throw new TypeError('rampart: contentSecurityPolicy: the policy uses NONCE; pass { nonce } to build it.');
  }
  if (context.nonce !== undefined && !/^[a-zA-Z0-9+/_-]{22,}={0,2}$/.test(context.nonce)) {
    throw new RangeError('rampart: contentSecurityPolicy: the nonce must be base64 of at least 128 bits.');
  }
  return parts.join(context.nonce ?? '');
}

/**
 * Weaknesses a valid policy can still have (CSP Evaluator's findings, in short):
 * each is a warning, not a refusal, because a migrating app may need it for a while.
 */
export function lintCsp(model: CspModel, where: string): string[] {
  const warnings: string[] = [];
  const scripts = model.get('script-src') ?? model.get('default-src');
  const scriptDirective = model.has('script-src') ? 'script-src' : 'default-src';
  if (scripts !== undefined) {
    const trustsHosts = !scripts.includes("'strict-dynamic'");
    for (const loose of ['*', 'http:', 'https:', 'data:', 'blob:']) {
      if (scripts.includes(loose) && trustsHosts) {
        warnings.push(`${where}: ${scriptDirective} allows ${JSON.stringify(loose)}, so any script from there runs; use NONCE with 'strict-dynamic'.`);
      }
    }
    if (scripts.includes("'unsafe-inline'")) warnings.push(`${where}: ${scriptDirective} has 'unsafe-inline', so injected inline scripts run; use NONCE.`);
    if (scripts.includes("'unsafe-eval'")) warnings.push(`${where}: ${scriptDirective} has 'unsafe-eval', so strings can be run as code.`);
  } else {
    warnings.push(`${where}: no script-src or default-src, so scripts from anywhere run.`);
  }
  const objects = model.get('object-src') ?? model.get('default-src');
  if (objects === undefined || !objects.includes("'none'")) warnings.push(`${where}: object-src is not 'none', so plugins can run; add object-src 'none'.`);
  if (!model.has('base-uri')) warnings.push(`${where}: no base-uri, so an injected <base> can redirect relative script URLs; add base-uri 'none' or 'self'.`);
  return warnings;
}
