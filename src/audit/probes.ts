/**
 * The active probes (opt-in with `--active`): what to send and how to read the answers.
 * They never change server state by construction:
 *
 * - reflected XSS: GET requests with an inert canary (a made-up tag and attribute name,
 *   no script, no event handler, after the end tags of comments and raw-text elements),
 *   classified by where the canary lands in the page;
 * - CSRF: a form submitted cross-site without its token, with values its own markup says
 *   are invalid (a number field given letters, a value over `maxlength`…), compared with
 *   the same invalid submission carrying the token: a protected site answers the two
 *   differently, an unprotected one alike. Forms without any field that can be made
 *   invalid are not probed ("not assessed"), and a refusal that names CSRF needs no
 *   comparison;
 * - traversal: the "dir-echo" differential (`/static/..%2fstatic%2fx.css` for
 *   `/static/x.css`, `../files/x.txt` for `?file=x.txt`), always climbing above the
 *   served directory: it reads only files the site serves anyway.
 *
 * Every probe request carries `X-Audit-Probe: <run id>` and is listed in the report.
 * The I/O is done by the caller; these functions are pure.
 */

import { CSRF_FIELD_NAMES, headerValues, isHtml } from './passive.ts';
import { scanForms, scanTags, type Form, type FormField } from './html-scan.ts';
import type { Exchange, Finding, Rule } from './types.ts';

export const PROBE_RULES: readonly Rule[] = [
  {
    id: 'xss-reflected',
    practice: 'templates',
    severity: 'high',
    title: 'A request parameter is reflected into the page without escaping for its context (reflected XSS).',
    cwe: 79,
    fix: {
      flask: 'render with Jinja2 templates (autoescaping on), never Markup()/|safe on request data; quote every attribute: value="{{ q }}"',
      rampart: 'render with html`…` templates: every slot is escaped for its context and unquoted attributes are refused',
    },
  },
  {
    id: 'xss-javascript-url',
    practice: 'templates',
    severity: 'medium',
    title: 'A request parameter becomes a link or form target without a scheme check (javascript: URLs run on click).',
    cwe: 79,
    fix: { flask: "check the scheme (http/https) before putting user input in href/src, or use url_for()", rampart: 'URL slots of html templates allow only http, https, mailto and tel' },
  },
  {
    id: 'csrf-not-enforced',
    practice: 'csrf',
    severity: 'high',
    title: 'A state-changing form is accepted from another site without its CSRF token.',
    cwe: 352,
    fix: { flask: 'CSRFProtect(app) (Flask-WTF) checks the token of every POST', rampart: 'on by default: Fetch-Metadata/Origin checks and a token on every unsafe method' },
  },
  {
    id: 'traversal-dir-echo',
    practice: 'traversal',
    severity: 'high',
    title: 'A file path from the request is joined without a traversal check: "../" moves through the file system.',
    cwe: 22,
    fix: { flask: 'send_from_directory(directory, name) (werkzeug safe_join), never open(os.path.join(base, name))', rampart: "safeJoin(root, path) or staticFiles({ root }) from rampart/paths" },
  },
];

/** The canary of one run: `aud` and eight lowercase letters/digits. */
export function canaryFor(runId: string): string {
  return `aud${runId}`;
}

/**
 * What ends every context where markup is not parsed: a comment, and the raw text of
 * `<textarea>`, `<title>`, `<style>` and `<script>` (whose end tags close them whatever
 * quotes or comments came before).
 */
const RAW_TEXT_BREAKERS = '--></textarea></title></style></script>';

/**
 * The inert XSS payload: it breaks out of text, quoted and unquoted attributes, comments
 * and raw-text elements, and names a tag and an attribute no one has.
 */
export function xssPayload(canary: string): string {
  return `${canary}'"${RAW_TEXT_BREAKERS}><${canary}x ${canary}y=1>`;
}

/** One XSS probe: a GET URL with one parameter replaced. */
export interface XssProbe {
  readonly url: string;
  readonly parameter: string;
  readonly kind: 'markup' | 'url';
}

/**
 * The XSS probes for the pages seen: one per query parameter of each same-origin URL
 * and GET form field (deduplicated by path and parameter), at most `limit`.
 */
export function planXssProbes(exchanges: readonly Exchange[], origin: string, canary: string, limit: number): XssProbe[] {
  const probes: XssProbe[] = [];
  const seen = new Set<string>();
  const add = (base: URL, parameter: string, values: URLSearchParams): void => {
    const key = `${base.pathname}|${parameter}`;
    if (seen.has(key) || probes.length >= limit) return;
    seen.add(key);
    for (const kind of ['markup', 'url'] as const) {
      const target = new URL(base.href);
      const params = new URLSearchParams(values);
      params.set(parameter, kind === 'markup' ? xssPayload(canary) : `javascript:${canary}`);
      target.search = params.toString();
      probes.push({ url: target.href, parameter, kind });
    }
  };
  for (const exchange of exchanges) {
    let url: URL;
    try {
      url = new URL(exchange.request.url);
    } catch {
      continue;
    }
    if (url.origin !== origin) continue;
    for (const parameter of new Set(url.searchParams.keys())) add(url, parameter, url.searchParams);
    if (!isHtml(exchange)) continue;
    for (const form of scanForms(scanTags(exchange.response.body))) {
      if (form.method !== 'get') continue;
      let action: URL;
      try {
        action = new URL(form.action ?? '', exchange.request.url);
      } catch {
        continue;
      }
      if (action.origin !== origin) continue;
      const values = new URLSearchParams();
      for (const field of form.fields) if (field.type !== 'submit' && field.type !== 'button') values.set(field.name, field.value || 'x');
      for (const field of form.fields) if (field.type !== 'submit' && field.type !== 'button' && field.type !== 'hidden') add(new URL(action.origin + action.pathname), field.name, values);
    }
  }
  return probes;
}

/** Where the canary landed, if it broke out: a finding, or nothing. */
export function classifyXss(probe: XssProbe, response: Exchange, canary: string): Finding | undefined {
  if (!response.response.body.includes(canary)) return undefined;
  const body = response.response.body;
  const tags = scanTags(body);
  const csp = response.response.headers.filter(([name]) => name === 'content-security-policy').map(([, value]) => value);
  const blocksInline = csp.some((policy) => /script-src[^;]*'(?:nonce-|sha\d{3}-)/i.test(policy) || (/default-src\s+'(?:none|self)'/i.test(policy) && !/script-src/i.test(policy)));
  const severity = blocksInline ? 'medium' : 'high';
  const base = { url: probe.url, exchanges: [response.index], fingerprint: `${probe.kind === 'url' ? 'xss-javascript-url' : 'xss-reflected'}|${pathOf(probe.url)}|${probe.parameter}` } as const;
  if (probe.kind === 'url') {
    const hit = tags.find((tag) => ['href', 'src', 'action', 'formaction', 'data'].some((name) => tag.attributes.get(name)?.trim().toLowerCase().startsWith(`javascript:${canary}`)));
    if (!hit) return undefined;
    return { ...base, ruleId: 'xss-javascript-url', severity: 'medium', message: `The parameter ${probe.parameter} becomes a javascript: URL in <${hit.name}>.`, evidence: excerpt(body, hit.start) };
  }
  const tag = tags.find((candidate) => candidate.name === `${canary}x`);
  if (tag) {
    return { ...base, ruleId: 'xss-reflected', severity, message: `The parameter ${probe.parameter} is reflected as markup: the inert tag <${canary}x> appears in the page${blocksInline ? ' (the CSP would block inline script)' : ''}.`, evidence: excerpt(body, tag.start) };
  }
  const attribute = tags.find((candidate) => candidate.attributes.has(`${canary}y`));
  if (attribute) {
    return { ...base, ruleId: 'xss-reflected', severity, message: `The parameter ${probe.parameter} is reflected into an unquoted attribute of <${attribute.name}>: it can add attributes (event handlers).`, evidence: excerpt(body, attribute.start) };
  }
  const script = tags.find((candidate) => candidate.name === 'script' && candidate.text?.includes(`${canary}'"`));
  if (script) {
    return { ...base, ruleId: 'xss-reflected', severity, message: `The parameter ${probe.parameter} is reflected inside a <script> with its quotes unescaped.`, evidence: excerpt(body, script.start) };
  }
  return undefined;
}

/** One CSRF probe: a form, and the invalid values that make submitting it harmless. */
export interface CsrfProbe {
  readonly page: string;
  readonly action: string;
  readonly enctype: 'application/x-www-form-urlencoded' | 'multipart/form-data';
  /** The fields with invalid values, the token left out. */
  readonly fields: readonly (readonly [string, string])[];
  readonly tokenField: string | undefined;
  readonly token: string | undefined;
  /** Which field was made invalid, and how. */
  readonly invalid: string;
}

/**
 * The CSRF probes for the POST forms seen (same origin, one per action). A form is probed
 * only if one of its fields can be made invalid by its own markup.
 */
export function planCsrfProbes(exchanges: readonly Exchange[], origin: string, canary: string): { probes: CsrfProbe[]; skipped: string[] } {
  const probes: CsrfProbe[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (const exchange of exchanges) {
    if (!isHtml(exchange) || exchange.reason === 'probe') continue;
    for (const form of scanForms(scanTags(exchange.response.body))) {
      if (form.method !== 'post') continue;
      let action: URL;
      try {
        action = new URL(form.action ?? '', exchange.request.url);
      } catch {
        continue;
      }
      if (action.origin !== origin || seen.has(action.href)) continue;
      seen.add(action.href);
      const probe = invalidSubmission(exchange.request.url, action.href, form, canary);
      if (probe) probes.push(probe);
      else skipped.push(action.href);
    }
  }
  return { probes, skipped };
}

function invalidSubmission(page: string, action: string, form: Form, canary: string): CsrfProbe | undefined {
  const tokenField = form.fields.find((field) => CSRF_FIELD_NAMES.test(field.name));
  const fields: [string, string][] = [];
  let invalid: string | undefined;
  for (const field of form.fields) {
    if (field === tokenField || field.type === 'submit' || field.type === 'button' || field.type === 'image' || field.type === 'reset') continue;
    if (field.type === 'file') continue;
    const bad = invalidValue(field, canary);
    if (bad !== undefined && invalid === undefined) {
      fields.push([field.name, bad]);
      invalid = `${field.name}=${bad} (a ${field.type} field)`;
    } else {
      fields.push([field.name, field.value || canary]);
    }
  }
  if (invalid === undefined) return undefined;
  const multipart = form.enctype?.trim().toLowerCase() === 'multipart/form-data';
  return {
    page,
    action,
    enctype: multipart ? 'multipart/form-data' : 'application/x-www-form-urlencoded',
    fields,
    tokenField: tokenField?.name,
    token: tokenField?.value,
    invalid,
  };
}

/** A value the field's own markup refuses (its type, `maxlength`, `required`), or `undefined` for free text. */
function invalidValue(field: FormField, canary: string): string | undefined {
  if (field.type === 'hidden') return undefined;
  if (field.maxLength !== undefined && field.maxLength < 100_000) return canary.repeat(Math.ceil((field.maxLength + 1) / canary.length)).slice(0, field.maxLength + 1);
  if (field.required && field.type !== 'checkbox' && field.type !== 'radio') return '';
  switch (field.type) {
    case 'number':
    case 'range':
      return canary;
    case 'email':
      return `${canary} not an address`;
    case 'url':
      return `${canary} not a url`;
    case 'date':
    case 'datetime-local':
    case 'month':
    case 'week':
    case 'time':
      return `${canary}-not-a-date`;
    case 'color':
      return canary;
    default:
      return undefined;
  }
}

/** Encodes a CSRF probe's body, with or without the token. */
export function csrfBody(probe: CsrfProbe, withToken: boolean): { contentType: string; body: string } {
  const fields: (readonly [string, string])[] = withToken && probe.tokenField !== undefined ? [[probe.tokenField, probe.token ?? ''], ...probe.fields] : [...probe.fields];
  if (probe.enctype === 'application/x-www-form-urlencoded') {
    return { contentType: probe.enctype, body: new URLSearchParams(fields.map(([name, value]) => [name, value])).toString() };
  }
  const boundary = `----rampartAudit${Math.random().toString(36).slice(2, 12)}`;
  const body = `${fields.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name.replaceAll('"', '%22')}"\r\n\r\n${value}\r\n`).join('')}--${boundary}--\r\n`;
  return { contentType: `multipart/form-data; boundary=${boundary}`, body };
}

/**
 * Whether a CSRF probe needs the comparison request (the same invalid values, with the
 * token, from the site itself): always, unless the forged request was refused in words
 * that name CSRF protection (see `refusedForCsrf`) or failed with a server error. A 2xx
 * is no proof either way (Flask-WTF redraws the form with 200 when the token is missing).
 */
export function needsComparison(forged: Exchange): boolean {
  return forged.response.status < 500 && !refusedForCsrf(forged);
}

/**
 * The verdict of a CSRF probe: `forged` is the tokenless cross-site submission,
 * `genuine` (sent when `needsComparison(forged)`) the same invalid values with the token.
 * The token made no difference to the answer: not enforced. It made one: protected.
 * Anything else (no comparison, a server error) is not assessed.
 */
export function classifyCsrf(probe: CsrfProbe, forged: Exchange, genuine: Exchange | undefined): Finding | 'protected' | 'not-assessed' {
  const fingerprint = `csrf-not-enforced|${pathOf(probe.action)}`;
  if (refusedForCsrf(forged)) return 'protected';
  if (genuine === undefined || genuine.response.status >= 500 || forged.response.status >= 500) return 'not-assessed';
  const forgedStatus = forged.response.status;
  // A 4xx without the token but a success with it: the invalid values were not refused
  // either way, so the answer says nothing about the token.
  if (forgedStatus >= 400 && genuine.response.status < 400) return 'not-assessed';
  if (!sameAnswer(forged, genuine)) return 'protected';
  const outcome = forgedStatus < 400 ? `was accepted (${forgedStatus})` : `is answered (${forgedStatus})`;
  return {
    ruleId: 'csrf-not-enforced',
    severity: 'high',
    message: `POST ${probe.action} ${outcome} from another site without a CSRF token exactly as from the site with its token: the token is not checked (the values sent were invalid: ${probe.invalid}).`,
    url: probe.action,
    exchanges: [forged.index, genuine.index],
    fingerprint,
  };
}

/** Same status, same redirect target, same page once what changes on every response is left out. */
function sameAnswer(forged: Exchange, genuine: Exchange): boolean {
  return (
    forged.response.status === genuine.response.status &&
    (headerValues(forged, 'location')[0] ?? '') === (headerValues(genuine, 'location')[0] ?? '') &&
    normalise(forged.response.body) === normalise(genuine.response.body)
  );
}

/**
 * What frameworks say when they refuse a request for CSRF: Flask-WTF ("The CSRF token is
 * missing."), Django ("CSRF verification failed"), Rails (InvalidAuthenticityToken), csurf
 * ("invalid csrf token"), Laravel ("CSRF token mismatch"), ASP.NET anti-forgery, Origin checks.
 */
const CSRF_REFUSAL_TEXT =
  /\b(?:csrf|xsrf)\b[\s\w'"-]{0,40}?\b(?:missing|invalid|mismatch|failed|failure|expired|verification|not found|does not match|required)\b|\b(?:invalid|missing|bad|expired)\s+(?:csrf|xsrf)\b|InvalidAuthenticityToken|authenticity token|anti-?forgery|cross-site request forgery|cross-site (?:post|form|request)s? (?:are|is) (?:not allowed|forbidden|refused)|origin (?:check|checking) failed|origin (?:mismatch|not allowed)/i;

/**
 * A refusal that names CSRF protection: a 403, or a 4xx whose text (markup left out: a
 * redrawn form carries its own `csrf_token` field) is a framework's CSRF error. The
 * values were never looked at, so nothing needs to be sent with the token. A 2xx whose
 * text is such an error (Flask-WTF's redrawn form) is a refusal too.
 */
export function refusedForCsrf(forged: Exchange): boolean {
  const status = forged.response.status;
  if (status === 403) return true;
  if (status >= 500 || (status >= 300 && status < 400)) return false;
  return CSRF_REFUSAL_TEXT.test(visibleText(forged.response.body));
}

/**
 * The text of a page without its markup: tags (their names and attribute values),
 * comments, scripts and styles. A linear scan of the first 100,000 characters (a
 * refusal says so early; a hostile page must not make this quadratic).
 */
function visibleText(body: string): string {
  const page = body.slice(0, 100_000);
  const lower = page.toLowerCase();
  let text = '';
  let position = 0;
  while (position < page.length) {
    const open = page.indexOf('<', position);
    if (open === -1) return text + page.slice(position);
    text += `${page.slice(position, open)} `;
    if (page.startsWith('<!--', open)) {
      const end = page.indexOf('-->', open + 4);
      if (end === -1) break;
      position = end + 3;
      continue;
    }
    const end = page.indexOf('>', open + 1);
    if (end === -1) break;
    position = end + 1;
    const raw = /^<(script|style)[\s/>]/.exec(lower.slice(open, open + 8))?.[1];
    if (raw !== undefined) {
      const close = lower.indexOf(`</${raw}`, position);
      if (close === -1) break;
      position = close;
    }
  }
  return text.replace(/&#0*39;|&#x0*27;|&apos;/gi, "'").replace(/&quot;|&#0*34;/gi, '"');
}

/** A page without what changes on every response (tokens, nonces, dates). */
function normalise(body: string): string {
  return body
    .replace(/\b(?:nonce|value|content)="[^"]*"/g, '')
    .replace(/[A-Za-z0-9_-]{20,}/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** One traversal probe: the original URL, and the same file asked for through `../<dir>/`. */
export interface TraversalProbe {
  readonly original: string;
  readonly variants: readonly string[];
  readonly where: string;
}

const FILE_PARAMETER = /^(?:file|filename|path|name|download|doc|document|page|template|img|image|attachment|f)$/i;
const GUESSED_DIRECTORIES = ['files', 'static', 'uploads', 'media', 'public', 'assets', 'data', 'downloads'];

/** The traversal probes: file-like parameters and static-looking paths of successful same-origin GETs. */
export function planTraversalProbes(exchanges: readonly Exchange[], origin: string, limit: number): TraversalProbe[] {
  const probes: TraversalProbe[] = [];
  const seen = new Set<string>();
  for (const exchange of exchanges) {
    if (exchange.request.method !== 'GET' || exchange.response.status !== 200 || exchange.reason === 'probe' || probes.length >= limit) continue;
    let url: URL;
    try {
      url = new URL(exchange.request.url);
    } catch {
      continue;
    }
    if (url.origin !== origin) continue;
    for (const [parameter, value] of url.searchParams) {
      if (!(FILE_PARAMETER.test(parameter) || /\.[A-Za-z0-9]{1,5}$/.test(value)) || value === '') continue;
      const key = `${url.pathname}|${parameter}`;
      if (seen.has(key)) continue;
      seen.add(key);
      // "../" must climb above the served directory: `docs/../docs/x` stays inside it, and
      // a safe join (Werkzeug's safe_join) rightly serves it. The directory's own name is
      // unknown for a parameter, so the usual ones are guessed.
      const variants: string[] = [];
      for (const directory of GUESSED_DIRECTORIES) {
        for (const form of [`../${directory}/${value}`, `..\\${directory}\\${value.replaceAll('/', '\\')}`]) {
          const target = new URL(url.href);
          target.searchParams.set(parameter, form);
          variants.push(target.href);
        }
      }
      probes.push({ original: url.href, variants, where: `parameter ${parameter}` });
    }
    const segments = url.pathname.split('/').filter(Boolean);
    if (segments.length >= 2 && /\.[A-Za-z0-9]{1,5}$/.test(segments.at(-1)!) && !isHtml(exchange)) {
      // The route's first segment stands for the served directory (/files/docs/x.txt is
      // files/docs/x.txt): "../" climbs above it and comes back in by that name. Deeper
      // segments would only move inside the directory, which a safe join allows.
      const directory = segments[0]!;
      const key = `path|${directory}`;
      if (!seen.has(key)) {
        seen.add(key);
        const prefix = `/${directory}`;
        const rest = segments.slice(1);
        // Only encodings a URL parser leaves alone: `%2e%2e/` would be normalised away by the
        // client before the request is sent, and fetch the original file itself.
        const variants = ['%2f', '%5c'].map((slash) => `${url.origin}${prefix}/..${slash}${[directory, ...rest].join(slash)}`);
        probes.push({ original: url.href, variants, where: `path ${prefix}/` });
      }
    }
  }
  return probes;
}

/** A variant that returned the original file: the path went through `..`. */
export function classifyTraversal(probe: TraversalProbe, original: Exchange, variant: Exchange): Finding | undefined {
  if (variant.request.url === original.request.url) return undefined;
  if (variant.response.status !== 200 || original.response.status !== 200) return undefined;
  if (variant.response.body !== original.response.body || original.response.body.length === 0) return undefined;
  return {
    ruleId: 'traversal-dir-echo',
    severity: 'high',
    message: `${variant.request.url} returns the same file as ${probe.original}: the ${probe.where} is resolved through "..".`,
    url: variant.request.url,
    exchanges: [original.index, variant.index],
    fingerprint: `traversal-dir-echo|${pathOf(probe.original)}|${probe.where}`,
  };
}

function pathOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}

function excerpt(text: string, index: number): string {
  return text.slice(Math.max(0, index - 40), index + 160).replace(/\s+/g, ' ');
}
