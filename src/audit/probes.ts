/**
 * The active probes (opt-in with `--active`): what to send and how to read the answers.
 * They never change server state by construction:
 *
 * - reflected XSS: GET requests with an inert canary (a made-up tag and attribute name,
 *   no script, no event handler), classified by where the canary lands in the page;
 * - CSRF: a form submitted cross-site without its token, with values its own markup says
 *   are invalid (a number field given letters, a value over `maxlength`…), compared with
 *   the same invalid submission carrying the token: a protected site refuses the first
 *   before looking at the values. Forms without any field that can be made invalid are
 *   not probed ("not assessed"), and nothing is sent with a valid token unless the
 *   tokenless request was already refused;
 * - traversal: the "dir-echo" differential (`../static/x.css` for `static/x.css`): it
 *   reads only files the site serves anyway.
 *
 * Every probe request carries `X-Audit-Probe: <run id>` and is listed in the report.
 * The I/O is done by the caller; these functions are pure.
 */

import { CSRF_FIELD_NAMES, isHtml } from './passive.ts';
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

/** The inert XSS payload: it breaks out of text, quoted and unquoted attributes, and names a tag and an attribute no one has. */
export function xssPayload(canary: string): string {
  return `${canary}'"><${canary}x ${canary}y=1>`;
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
 * The verdict of a CSRF probe: `forged` is the tokenless cross-site submission,
 * `genuine` (only sent when `forged` was refused) the same invalid values with the token.
 */
export function classifyCsrf(probe: CsrfProbe, forged: Exchange, genuine: Exchange | undefined): Finding | 'protected' | 'not-assessed' {
  const fingerprint = `csrf-not-enforced|${pathOf(probe.action)}`;
  const accepted = forged.response.status < 400;
  if (accepted) {
    return {
      ruleId: 'csrf-not-enforced',
      severity: 'high',
      message: `POST ${probe.action} was accepted (${forged.response.status}) from another site without a CSRF token (the values sent were invalid: ${probe.invalid}).`,
      url: probe.action,
      exchanges: [forged.index],
      fingerprint,
    };
  }
  if (genuine === undefined) return refusedForCsrf(forged) ? 'protected' : 'not-assessed';
  if (genuine.response.status < 400) return 'not-assessed';
  // Same answer with and without the token: the token was never looked at.
  if (genuine.response.status === forged.response.status && normalise(genuine.response.body) === normalise(forged.response.body)) {
    return {
      ruleId: 'csrf-not-enforced',
      severity: 'high',
      message: `POST ${probe.action} answers a cross-site submission without a token exactly as one with its token (${forged.response.status}): the token is not checked.`,
      url: probe.action,
      exchanges: [forged.index, genuine.index],
      fingerprint,
    };
  }
  return 'protected';
}

/**
 * A refusal that names CSRF protection (a 403, or a 4xx whose body mentions the token
 * or the other site): the values were never looked at, so nothing needs to be sent
 * with the token.
 */
export function refusedForCsrf(forged: Exchange): boolean {
  const status = forged.response.status;
  if (status < 400 || status >= 500) return false;
  return status === 403 || /csrf|xsrf|forgery|anti-?forgery|token|cross-site|another site|origin/i.test(forged.response.body);
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
      const slash = value.lastIndexOf('/');
      const directories = slash > 0 ? [value.slice(0, slash).split('/').at(-1)!] : GUESSED_DIRECTORIES;
      const leaf = value.slice(slash + 1);
      const variants: string[] = [];
      for (const directory of directories) {
        for (const form of [`../${directory}/${leaf}`, `..\\${directory}\\${leaf}`]) {
          const target = new URL(url.href);
          target.searchParams.set(parameter, slash > 0 ? `${value.slice(0, slash)}/${form}` : form);
          variants.push(target.href);
        }
      }
      probes.push({ original: url.href, variants, where: `parameter ${parameter}` });
    }
    const segments = url.pathname.split('/').filter(Boolean);
    if (segments.length >= 2 && /\.[A-Za-z0-9]{1,5}$/.test(segments.at(-1)!) && !isHtml(exchange)) {
      const directory = segments.at(-2)!;
      const key = `path|${segments.slice(0, -1).join('/')}`;
      if (!seen.has(key)) {
        seen.add(key);
        const prefix = `/${segments.slice(0, -1).join('/')}`;
        const leaf = segments.at(-1)!;
        // Only encodings a URL parser leaves alone: `%2e%2e/` would be normalised away by the
        // client before the request is sent, and fetch the original file itself.
        const variants = [`${prefix}/..%2f${directory}%2f${leaf}`, `${prefix}/..%5c${directory}%5c${leaf}`].map((path) => `${url.origin}${path}`);
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
