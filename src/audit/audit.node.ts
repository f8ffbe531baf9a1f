/**
 * `audit(url, options)`: crawls a running site (same origin, within a request budget
 * and rate), runs the passive checks on everything it saw, the active probes when
 * asked, and scores the result against the seed's checklist and Observatory 1.4.8.
 */

import { randomBytes } from 'node:crypto';
import { analyzeCsp, CSP_RULES, cspNonces } from './csp.ts';
import { fetchExchange, type FetchOptions } from './fetch.node.ts';
import { headTags, linkTargets, metaHttpEquiv, scanTags } from './html-scan.ts';
import { observatory, observatoryError } from './observatory.ts';
import { analyzeCookies, analyzeDisclosure, analyzeForms, analyzeHeaders, analyzeTransport, headerValues, isHtml, PASSIVE_RULES } from './passive.ts';
import {
  canaryFor,
  classifyCsrf,
  classifyTraversal,
  classifyXss,
  csrfBody,
  planCsrfProbes,
  planTraversalProbes,
  planXssProbes,
  needsComparison,
  PROBE_RULES,
} from './probes.ts';
import { retrieveSite } from './retrieve.node.ts';
import { checklist, type NotAssessed } from './score.ts';
import type { AuditReport, Exchange, Finding, Practice, Rule } from './types.ts';

/** Every rule of the auditor, by id. */
export const RULES: ReadonlyMap<string, Rule> = new Map([...PASSIVE_RULES, ...CSP_RULES, ...PROBE_RULES].map((rule) => [rule.id, rule]));

/** Options of `audit`. */
export interface AuditOptions {
  /** Run the active probes (XSS canary, CSRF differential, traversal differential). Default false. */
  readonly active?: boolean;
  /** Most requests in all, probes included. Default 200. */
  readonly maxRequests?: number;
  /** Most requests per second. Default 10. */
  readonly rate?: number;
  /** Timeout of each request, ms. Default 10 s. */
  readonly timeoutMs?: number;
  /** Headers sent with every in-scope request (authentication), e.g. `{ authorization: 'Bearer …' }`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A `Cookie` header sent with every in-scope request (a logged-in scan). */
  readonly cookie?: string;
  /** The HTTP port to check the redirect on, when it is not the default (80) of the target's host. */
  readonly httpPort?: number;
  /** The HTTPS port, when it is not the default (443). */
  readonly httpsPort?: number;
  /** Extra trusted CA certificates (PEM), for private certificates. */
  readonly ca?: string;
  /** Progress events for long scans. */
  readonly onProgress?: (event: { readonly phase: string; readonly done: number; readonly total: number; readonly url?: string }) => void;
  /** The tool version written in the report. */
  readonly version?: string;
}

/** Audits the site at `target`. Throws a TypeError for a bad target; scan problems go into `report.errors`. */
export async function audit(target: string, options: AuditOptions = {}): Promise<AuditReport> {
  const start = parseTarget(target);
  const startedAt = new Date().toISOString();
  const maxRequests = options.maxRequests ?? 200;
  // The Observatory-style retrieval alone takes up to a dozen requests (both schemes, their redirects, robots.txt, a preflight).
  if (!Number.isSafeInteger(maxRequests) || maxRequests < 20) throw new TypeError(`maxRequests: expected a whole number of at least 20, got ${String(maxRequests)}.`);
  const rate = options.rate ?? 10;
  const exchanges: Exchange[] = [];
  const errors: string[] = [];
  const runId = randomBytes(4).toString('hex');
  const canary = canaryFor(runId);
  let counter = 0;
  const next = (): number => counter++;
  const progress = options.onProgress ?? (() => {});

  const inScope = (url: URL): boolean => url.origin === start.origin;
  const extraHeaders: Record<string, string> = { ...options.headers, ...(options.cookie ? { cookie: options.cookie } : {}) };
  const fetchOptions: FetchOptions = { timeoutMs: options.timeoutMs ?? 10_000, ...(options.ca ? { ca: options.ca } : {}), userAgent: `rampart-audit/${options.version ?? 'dev'}` };

  // A token bucket of one: at most `rate` requests a second, whatever the phase.
  let lastSent = 0;
  const pace = async (): Promise<void> => {
    const wait = lastSent + 1000 / rate - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    lastSent = Date.now();
  };
  const budgetLeft = (): boolean => counter < maxRequests;

  /** One in-scope request, recorded. Redirects are followed within the origin (each hop recorded). */
  const send = async (method: string, url: URL, reason: Exchange['reason'], init: { headers?: Record<string, string>; body?: string } = {}): Promise<Exchange | undefined> => {
    let current = url;
    let response: Exchange | undefined;
    for (let hop = 0; hop < 6; hop++) {
      if (!budgetLeft()) {
        errors.push(`The request budget (${maxRequests}) ran out before ${current.href}.`);
        return response;
      }
      await pace();
      try {
        response = await fetchExchange(
          { method: hop === 0 ? method : 'GET', url: current.href, headers: { ...extraHeaders, ...init.headers }, ...(hop === 0 && init.body !== undefined ? { body: init.body } : {}) },
          fetchOptions,
          { index: next(), reason: hop === 0 ? reason : 'redirect' },
        );
      } catch (error) {
        errors.push(error instanceof Error ? error.message : String(error));
        return undefined;
      }
      exchanges.push(response);
      const location = headerValues(response, 'location')[0];
      if (response.response.status < 300 || response.response.status >= 400 || location === undefined || reason === 'probe') return response;
      let following: URL;
      try {
        following = new URL(location, current);
      } catch {
        return response;
      }
      if (!inScope(following)) {
        errors.push(`Not followed: ${current.href} redirects out of scope, to ${following.origin}.`);
        return response;
      }
      current = following;
    }
    return response;
  };

  // 1. The site as Observatory sees it (both schemes, robots.txt, a CORS preflight).
  progress({ phase: 'retrieve', done: 0, total: 1, url: start.href });
  const site = await retrieveSite(
    start,
    {
      ...fetchOptions,
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.httpPort ? { httpPort: options.httpPort } : {}),
      ...(options.httpsPort ? { httpsPort: options.httpsPort } : {}),
      ...(options.cookie ? { cookies: options.cookie } : {}),
    },
    next,
  );
  exchanges.push(...site.exchanges);
  errors.push(...site.errors);
  const observatoryProblem = observatoryError(site);
  if (observatoryProblem !== undefined) errors.push(`Observatory-compatible block not graded: ${observatoryProblem}`);

  // 2. The crawl: same-origin links, breadth first, and a page that does not exist (error pages get headers too).
  const queue: URL[] = [start, new URL(`/rampart-audit-${runId}-not-found`, start)];
  const queued = new Set(queue.map(key));
  let crawled = 0;
  while (queue.length > 0 && budgetLeft()) {
    const url = queue.shift()!;
    progress({ phase: 'crawl', done: crawled, total: crawled + queue.length + 1, url: url.href });
    const response = await send('GET', url, crawled === 0 ? 'start' : url.pathname.includes(`rampart-audit-${runId}`) ? 'error-page' : 'link');
    crawled++;
    if (!response || !isHtml(response)) continue;
    for (const href of linkTargets(scanTags(response.response.body))) {
      let link: URL;
      try {
        link = new URL(href, response.request.url);
      } catch {
        continue;
      }
      link.hash = '';
      if (!inScope(link) || (link.protocol !== 'http:' && link.protocol !== 'https:') || queued.has(key(link))) continue;
      // Links that would end the session of a logged-in scan are not followed.
      if (/log-?out|sign-?out/i.test(link.pathname)) continue;
      queued.add(key(link));
      queue.push(link);
    }
  }

  if (queue.length > 0) errors.push(`The request budget (${maxRequests}) ran out with ${queue.length} page${queue.length === 1 ? '' : 's'} not visited; raise --max-requests.`);

  // 3. Passive checks.
  const findings: Finding[] = [];
  // A redirect is no page: its HTML body ("301 Moved Permanently") is never shown.
  const pages = exchanges.filter((exchange) => exchange.reason !== 'probe' && exchange.reason !== 'preflight' && isHtml(exchange) && !isRedirect(exchange));
  findings.push(...collapse(pages.flatMap((exchange) => analyzeHeaders(exchange))));
  findings.push(...analyzeCookies(exchanges));
  findings.push(...pages.flatMap((exchange) => analyzeForms(exchange)));
  findings.push(...collapse(exchanges.flatMap((exchange) => analyzeDisclosure(exchange))));
  findings.push(...analyzeTransport({ http: site.http, https: site.https, ...(site.httpsError ? { httpsError: site.httpsError } : {}) }));
  // CSP on every HTML page; the nonce of each page is compared with that of another
  // response to the same URL (the retrieval fetched the start page too): a static nonce
  // protects nothing.
  const firstNonce = new Map<string, { nonce: string; index: number }>();
  const cspFindings: Finding[] = [];
  for (const page of pages) {
    const pageKey = key(new URL(page.request.url));
    const headers = headerValues(page, 'content-security-policy');
    const nonce = cspNonces(headers)[0];
    const earlier = firstNonce.get(pageKey);
    if (nonce !== undefined && earlier === undefined) firstNonce.set(pageKey, { nonce, index: page.index });
    cspFindings.push(
      ...analyzeCsp({
        url: page.request.url,
        https: page.request.url.startsWith('https:'),
        headers,
        reportOnly: headerValues(page, 'content-security-policy-report-only'),
        meta: metaHttpEquiv(headTags(scanTags(page.response.body), page.response.body), 'content-security-policy'),
        exchanges: earlier === undefined ? [page.index] : [earlier.index, page.index],
        ...(earlier !== undefined ? { nonceSeenElsewhere: earlier.nonce } : {}),
        // The nonce hints need the whole page.
        ...(page.response.truncated ? {} : { html: page.response.body }),
      }),
    );
  }
  findings.push(...collapse(cspFindings));

  // 4. Active probes.
  const notAssessed: NotAssessed = {};
  if (options.active) {
    await runProbes();
  } else {
    notAssessed.templates = 'reflected XSS needs the active probes (--active)';
    notAssessed.traversal = 'traversal needs the active probes (--active)';
  }
  if (!pages.some((page) => /<form[^>]*method\s*=\s*["']?post/i.test(page.response.body))) notAssessed.csrf = 'no POST form was found to check';

  async function runProbes(): Promise<void> {
    const probeHeaders = { 'x-audit-probe': runId };
    const xss = planXssProbes(exchanges, start.origin, canary, 20);
    if (xss.length === 0) notAssessed.templates = 'no query parameter or GET form field was found to probe';
    for (const [index, probe] of xss.entries()) {
      progress({ phase: 'probe xss', done: index, total: xss.length, url: probe.url });
      const response = await send('GET', new URL(probe.url), 'probe', { headers: probeHeaders });
      const found = response && classifyXss(probe, response, canary);
      if (found) findings.push(found);
    }
    const { probes: csrf, skipped } = planCsrfProbes(exchanges, start.origin, canary);
    if (csrf.length === 0 && skipped.length > 0) notAssessed.csrf = `no form field could be made invalid, so no form was submitted (${skipped.length} form(s))`;
    let csrfAssessed = 0;
    for (const [index, probe] of csrf.entries()) {
      progress({ phase: 'probe csrf', done: index, total: csrf.length, url: probe.action });
      const forgedBody = csrfBody(probe, false);
      const forged = await send('POST', new URL(probe.action), 'probe', {
        headers: { ...probeHeaders, 'content-type': forgedBody.contentType, origin: 'https://aud-probe.invalid', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', referer: 'https://aud-probe.invalid/' },
        body: forgedBody.body,
      });
      if (!forged) continue;
      let genuine: Exchange | undefined;
      // The same invalid values from the site itself (with the token, when the form has one):
      // sent unless the forged request was refused in words that name CSRF.
      if (needsComparison(forged)) {
        const genuineBody = csrfBody(probe, true);
        genuine = await send('POST', new URL(probe.action), 'probe', {
          headers: { ...probeHeaders, 'content-type': genuineBody.contentType, origin: start.origin, 'sec-fetch-site': 'same-origin', referer: probe.page },
          body: genuineBody.body,
        });
      }
      const verdict = classifyCsrf(probe, forged, genuine);
      if (verdict === 'protected') csrfAssessed++;
      else if (verdict !== 'not-assessed') {
        findings.push(verdict);
        csrfAssessed++;
      }
    }
    if (csrf.length > 0 && csrfAssessed === 0) notAssessed.csrf = 'the forms probed gave no clear answer';
    const traversal = planTraversalProbes(exchanges, start.origin, 10);
    if (traversal.length === 0) notAssessed.traversal = 'no file parameter or static file was found to probe';
    for (const [index, probe] of traversal.entries()) {
      progress({ phase: 'probe traversal', done: index, total: traversal.length, url: probe.original });
      const original = exchanges.find((exchange) => exchange.request.url === probe.original && exchange.response.status === 200);
      if (!original) continue;
      for (const variant of probe.variants) {
        const response = await send('GET', new URL(variant), 'probe', { headers: probeHeaders });
        const found = response && classifyTraversal(probe, original, response);
        if (found) {
          findings.push(found);
          break;
        }
      }
    }
  }

  const practiceOf = (ruleId: string): Practice => RULES.get(ruleId)?.practice ?? 'headers';
  return {
    schemaVersion: 1,
    tool: { name: 'rampart audit', version: options.version ?? 'dev' },
    target: start.href,
    startedAt,
    finishedAt: new Date().toISOString(),
    settings: { active: options.active === true, maxRequests, scope: 'origin' },
    checklist: checklist(findings, practiceOf, notAssessed),
    observatory: site.https === undefined && site.http === undefined ? undefined : observatory(site),
    findings: sortFindings(deduplicate(findings, runId)),
    exchanges,
    errors,
  };
}

function isRedirect(exchange: Exchange): boolean {
  return exchange.response.status >= 300 && exchange.response.status < 400 && headerValues(exchange, 'location').length > 0;
}

function parseTarget(target: string): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new TypeError(`"${target}" is not a URL; give the full address, e.g. https://example.com/ or http://127.0.0.1:3000/.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`${url.protocol} URLs cannot be audited; use http: or https:.`);
  url.hash = '';
  return url;
}

function key(url: URL): string {
  return `${url.origin}${url.pathname}${url.search}`;
}

/**
 * Page-level findings of the same rule (and, for CSP, the same directive and source) on
 * several pages become one, saying how many pages share it: a header missing on fifty
 * pages is one problem to fix.
 */
function collapse(findings: readonly Finding[]): Finding[] {
  const byRule = new Map<string, Finding[]>();
  for (const finding of findings) {
    // Fingerprints are `rule|page|detail…`: the group is the rule and the detail.
    const [rule, , ...detail] = finding.fingerprint.split('|');
    const group = [rule, ...detail].join('|');
    const list = byRule.get(group) ?? [];
    list.push(finding);
    byRule.set(group, list);
  }
  return [...byRule.values()].map((list) => {
    const first = list[0]!;
    if (list.length === 1) return first;
    const urls = new Set(list.map((finding) => finding.url));
    return {
      ...first,
      message: urls.size > 1 ? `${first.message} (and ${urls.size - 1} more URL${urls.size > 2 ? 's' : ''})` : first.message,
      exchanges: list.flatMap((finding) => finding.exchanges),
      fingerprint: [first.ruleId, new URL(first.url).origin, ...first.fingerprint.split('|').slice(2)].join('|'),
    };
  });
}

/**
 * One finding per fingerprint (a page fetched twice, by the retrieval and by the crawl,
 * is analysed twice), and fingerprints that do not depend on this run's id (the
 * not-found page's URL carries it), so `--baseline` matches across runs.
 */
function deduplicate(findings: readonly Finding[], runId: string): Finding[] {
  const kept = new Map<string, Finding>();
  for (const finding of findings) {
    const fingerprint = finding.fingerprint.replaceAll(`rampart-audit-${runId}-not-found`, 'rampart-audit-not-found');
    const previous = kept.get(fingerprint);
    if (previous === undefined) kept.set(fingerprint, { ...finding, fingerprint });
    else kept.set(fingerprint, { ...previous, exchanges: [...new Set([...previous.exchanges, ...finding.exchanges])] });
  }
  return [...kept.values()];
}

const ORDER = { critical: 0, high: 1, medium: 2, low: 3, info: 4 } as const;

function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || a.ruleId.localeCompare(b.ruleId) || a.url.localeCompare(b.url));
}
