/**
 * Observatory 1.4.8's CSP parser and CSP test, ported line by line
 * (`src/analyzer/cspParser.js`, `src/analyzer/tests/csp.js`). Its scoring is
 * what it is, quirks included: the effective source lists share `Set` objects
 * with the parsed policy (so removing `'unsafe-inline'` next to a nonce in
 * `script-src` also removes it from `default-src` when that is where it came
 * from), several policies are merged by sorting and prefix-matching sources, a
 * second header arrives comma-joined into the first, and any `frame-ancestors`
 * value counts for X-Frame-Options.
 */

/** Directive name under which the parser records duplicated `report-uri`/`report-to`. */
export const DUPLICATE_WARNINGS_KEY = '_observatory_duplicate_key_warnings';

const compareString = new Intl.Collator('en').compare;
const SHORTEST_DIRECTIVE_LENGTH = 'img-src'.length - 1;
const DIRECTIVES_DISALLOWED_IN_META = ['frame-ancestors', 'report-uri', 'sandbox'];
const ALLOWED_DUPLICATE_KEYS = new Set(['report-uri', 'report-to']);

interface Source {
  readonly source: string;
  readonly index: number;
  keep: boolean;
}

/** A parsed (merged) policy: directive → sources. */
export type ParsedCsp = Map<string, Set<string>>;

/**
 * Parses and merges policies like Observatory's `parseCsp`: `undefined` where it
 * refuses them (a policy shorter than 6 characters, or a directive repeated within
 * one policy other than `report-uri`/`report-to`). Like it, it throws a `URIError`
 * when merging meets a malformed `%` escape; `cspTest` reads that as invalid.
 */
export function parseCsp(cspList: readonly string[]): ParsedCsp | undefined {
  const clean = cspList.map((policy) => policy.replaceAll(/[\r\n]/g, '').trim());
  if (clean.length === 0) return new Map();
  for (const policy of clean) {
    if (!policy || policy.length < SHORTEST_DIRECTIVE_LENGTH) return undefined;
  }
  const csp = new Map<string, Source[]>();
  const duplicateWarnings = new Set<string>();
  for (const [policyIndex, policy] of clean.entries()) {
    const seen = new Set<string>();
    for (const [directiveEntry, ...valueEntries] of policy.split(';').map((entry) => entry.trim().split(/\s+/))) {
      if (!directiveEntry) continue;
      const directive = directiveEntry.toLowerCase();
      if (seen.has(directive)) {
        if (ALLOWED_DUPLICATE_KEYS.has(directive)) duplicateWarnings.add(directive);
        else return undefined;
      } else {
        seen.add(directive);
      }
      const keep = policyIndex === 0;
      const values: Source[] = [];
      if (valueEntries.length) {
        values.push(...valueEntries.map((raw) => ({ source: raw.trim().toLocaleLowerCase(), index: policyIndex, keep })));
      } else if (directive.endsWith('-src')) {
        // A source list without values is 'none'.
        values.push({ source: "'none'", index: policyIndex, keep });
      }
      const combined = policyIndex === 0 ? [...values] : [...(csp.get(directive) ?? []), ...values];
      combined.sort((a, b) => compareString(a.source, b.source));
      for (let index = 1; index < combined.length; index++) {
        const source = combined[index]!;
        const previous = combined[index - 1]!;
        // Within one policy, a source that extends the previous one is redundant.
        if (source.index === previous.index && source.source.startsWith(previous.source)) source.keep = false;
        // Across policies, a source has to be in both to count.
        if (source.index !== previous.index && pathPartMatch(previous.source, source.source)) source.keep = true;
      }
      csp.set(directive, combined.filter((source) => source.keep));
      // With more policies to come, everything kept so far must be confirmed by them.
      if (policyIndex === 0 && cspList.length > 1) {
        for (const source of csp.get(directive) ?? []) source.keep = false;
      }
    }
  }
  const final: ParsedCsp = new Map(
    [...csp.entries()].map(([directive, sources]) => [directive, sources.length ? new Set(sources.map((source) => source.source)) : new Set(["'none'"])]),
  );
  if (duplicateWarnings.size) final.set(DUPLICATE_WARNINGS_KEY, duplicateWarnings);
  return final;
}

/** `parseCsp` for `<meta>` policies, without the directives a meta policy cannot carry. */
export function parseCspMeta(cspList: readonly string[]): ParsedCsp | undefined {
  const parsed = parseCsp(cspList);
  if (!parsed) return undefined;
  for (const directive of DIRECTIVES_DISALLOWED_IN_META) parsed.delete(directive);
  return parsed;
}

function pathPartMatch(pathA: string, pathB: string): boolean {
  if (pathA.length === 0) return true;
  if (pathA === '/' && pathB.length === 0) return true;
  const exactMatch = !pathA.endsWith('/');
  const partsA = pathA.split('/');
  const partsB = pathB.split('/');
  if (partsA.length > partsB.length) return false;
  if (exactMatch && partsA.length !== partsB.length) return false;
  if (!exactMatch) partsA.pop();
  for (let index = 0; index < partsA.length; index++) {
    const pieceA = safeDecode(partsA[index]!);
    const pieceB = safeDecode(partsB[index]!);
    // `decodeURIComponent` throws on a malformed escape, and so does Observatory's parser;
    // its caller turns the throw into `csp-header-invalid`.
    if (pieceA === undefined || pieceB === undefined) throw new URIError('URI malformed');
    if (pieceA !== pieceB) return false;
  }
  return true;
}

function safeDecode(piece: string): string | undefined {
  try {
    return decodeURIComponent(piece);
  } catch {
    return undefined;
  }
}

const DANGEROUSLY_BROAD = new Set(['ftp:', 'http:', 'https:', '*', 'http://*', 'http://*.*', 'https://*', 'https://*.*']);
const UNSAFE_INLINE = new Set(["'unsafe-inline'", 'data:']);
const DANGEROUSLY_BROAD_AND_UNSAFE_INLINE = new Set([...DANGEROUSLY_BROAD, ...UNSAFE_INLINE]);
const PASSIVE_DIRECTIVES = new Set(['img-src', 'media-src']);
const NONCES_HASHES = ["'sha256-", "'sha384-", "'sha512-", "'nonce-"];

function startsWithNonceOrHash(sources: Iterable<string>): boolean {
  return [...sources].some((source) => NONCES_HASHES.some((prefix) => source.startsWith(prefix)));
}

/** What the CSP test needs from the response. */
export interface CspInput {
  /** The `Content-Security-Policy` header values as Observatory sees them. */
  readonly headers: readonly string[];
  /** The `<meta http-equiv="Content-Security-Policy">` contents. */
  readonly metas: readonly string[];
  /** Whether a non-empty `Content-Security-Policy-Report-Only` header came. */
  readonly reportOnly: boolean;
  /** The scheme of the URL the retrieval started from (`https:` or `http:`). */
  readonly protocol: string;
}

/** The CSP test's outcome. */
export interface CspOutcome {
  readonly result: string;
  readonly pass: boolean;
  /** Whether the merged policy (header and meta) has `frame-ancestors`: X-Frame-Options then counts as implemented. */
  readonly frameAncestors: boolean;
}

/** Observatory 1.4.8's `contentSecurityPolicyTest`. */
export function cspTest(input: CspInput): CspOutcome {
  const notScored = (result: string): CspOutcome => ({ result, pass: false, frameAncestors: false });
  let csp: ParsedCsp | undefined;
  try {
    csp = parseCsp([...input.headers, ...input.metas]);
  } catch {
    csp = undefined;
  }
  if (!csp) return notScored('csp-header-invalid');
  let headerOnly: ParsedCsp;
  let meta: ParsedCsp;
  try {
    headerOnly = parseCsp(input.headers) ?? new Map();
  } catch {
    headerOnly = new Map();
  }
  try {
    meta = parseCspMeta(input.metas) ?? new Map();
  } catch {
    meta = new Map();
  }
  // A meta policy made only of header-only directives counts as no policy.
  if (headerOnly.size + meta.size === 0) {
    return notScored(input.reportOnly ? 'csp-not-implemented-but-reporting-enabled' : 'csp-not-implemented');
  }

  let result: string | null = null;
  const objectSrc = csp.get('object-src') ?? csp.get('default-src') ?? new Set(['*']);
  const scriptSrc = csp.get('script-src') ?? csp.get('default-src') ?? new Set(['*']);
  const styleSrc = csp.get('style-src') ?? csp.get('default-src') ?? new Set(['*']);

  // 'unsafe-inline' is ignored next to a nonce or hash. These sets may be the
  // parsed policy's own (`default-src`): the deletion shows there too.
  for (const sourceList of [scriptSrc, styleSrc]) {
    if (startsWithNonceOrHash(sourceList) && sourceList.has("'unsafe-inline'")) sourceList.delete("'unsafe-inline'");
  }
  if (startsWithNonceOrHash(scriptSrc) && scriptSrc.has("'strict-dynamic'")) {
    for (const source of scriptSrc) {
      if ([...DANGEROUSLY_BROAD].some((broad) => source.startsWith(broad)) || source === "'self'" || source === "'unsafe-inline'") {
        scriptSrc.delete(source);
      }
    }
  } else if (scriptSrc.has("'strict-dynamic'")) {
    result ??= 'csp-header-invalid';
  }

  const activeSources = [...csp.entries()]
    .filter(([directive]) => !PASSIVE_DIRECTIVES.has(directive) && directive !== 'script-src')
    .flatMap(([, sources]) => [...sources]);
  activeSources.push(...scriptSrc);
  const passiveSources = [...PASSIVE_DIRECTIVES].flatMap((directive) => [...(csp.get(directive) ?? csp.get('default-src') ?? new Set<string>())]);

  if ([...scriptSrc].some((source) => DANGEROUSLY_BROAD_AND_UNSAFE_INLINE.has(source)) || [...objectSrc].some((source) => DANGEROUSLY_BROAD.has(source))) {
    result ??= 'csp-implemented-with-unsafe-inline';
  }
  const insecure = (source: string): boolean => source.startsWith('http:') || source.startsWith('ftp:');
  if (input.protocol === 'https:' && activeSources.some(insecure)) result ??= 'csp-implemented-with-insecure-scheme';
  if (new Set([...scriptSrc, ...styleSrc]).has("'unsafe-eval'")) result ??= 'csp-implemented-with-unsafe-eval';
  if (input.protocol === 'https:' && passiveSources.some(insecure)) result ??= 'csp-implemented-with-insecure-scheme-in-passive-content-only';
  if ([...styleSrc].some((source) => DANGEROUSLY_BROAD_AND_UNSAFE_INLINE.has(source))) result ??= 'csp-implemented-with-unsafe-inline-in-style-src-only';
  const defaultSrc = csp.get('default-src');
  if (defaultSrc?.has("'none'") && defaultSrc.size === 1) result ??= 'csp-implemented-with-no-unsafe-default-src-none';
  else result ??= 'csp-implemented-with-no-unsafe';

  let pass = false;
  const passing = [
    'csp-implemented-with-no-unsafe',
    'csp-implemented-with-no-unsafe-default-src-none',
    'csp-implemented-with-unsafe-inline-in-style-src-only',
    'csp-implemented-with-insecure-scheme-in-passive-content-only',
  ];
  if (passing.includes(result)) {
    pass = true;
    if (csp.has(DUPLICATE_WARNINGS_KEY)) result = 'csp-implemented-but-duplicate-directives';
  }
  return { result, pass, frameAncestors: csp.has('frame-ancestors') };
}
