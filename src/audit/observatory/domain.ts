/**
 * Hostnames as Observatory 1.4.8 reads them through `tldts`: the host part of a
 * URL-ish string, whether it is an IP address, and its registrable domain
 * ("eTLD+1"). The SRI test compares registrable domains (ICANN suffixes only); the
 * cookie jar (tough-cookie) refuses a `Domain` attribute that is a public suffix
 * (ICANN and private suffixes).
 *
 * `tldts` carries the whole Public Suffix List (some 10,000 rules); rampart has no
 * runtime dependency and does not bundle it. Instead: every single-label suffix is
 * a suffix (the list's default `*` rule, which is what `tldts` applies to any TLD),
 * plus the multi-label suffixes below, the ones hosts are commonly registered under.
 * A host under a multi-label suffix missing here gets one label too few in its
 * registrable domain; the golden test's hosts are IPs and names under single-label
 * suffixes, where the result is exact.
 */

/** Multi-label ICANN public suffixes (second level under a country code, mostly). */
const ICANN_SUFFIXES: ReadonlySet<string> = new Set([
  'co.uk', 'org.uk', 'me.uk', 'ltd.uk', 'plc.uk', 'net.uk', 'ac.uk', 'gov.uk', 'nhs.uk', 'police.uk', 'sch.uk',
  'com.au', 'net.au', 'org.au', 'edu.au', 'gov.au', 'asn.au', 'id.au',
  'co.nz', 'net.nz', 'org.nz', 'govt.nz', 'ac.nz', 'geek.nz',
  'co.jp', 'ne.jp', 'or.jp', 'ac.jp', 'go.jp', 'ad.jp', 'ed.jp', 'gr.jp', 'lg.jp',
  'co.kr', 'or.kr', 'ne.kr', 'go.kr', 'ac.kr', 're.kr',
  'com.cn', 'net.cn', 'org.cn', 'gov.cn', 'edu.cn', 'ac.cn',
  'com.hk', 'net.hk', 'org.hk', 'gov.hk', 'edu.hk', 'idv.hk',
  'com.tw', 'net.tw', 'org.tw', 'gov.tw', 'edu.tw', 'idv.tw',
  'com.sg', 'net.sg', 'org.sg', 'gov.sg', 'edu.sg',
  'co.in', 'net.in', 'org.in', 'firm.in', 'gen.in', 'ind.in', 'ac.in', 'edu.in', 'gov.in', 'res.in',
  'com.br', 'net.br', 'org.br', 'gov.br', 'edu.br', 'art.br', 'blog.br',
  'com.ar', 'net.ar', 'org.ar', 'gob.ar', 'edu.ar',
  'com.mx', 'net.mx', 'org.mx', 'gob.mx', 'edu.mx',
  'co.za', 'net.za', 'org.za', 'gov.za', 'ac.za', 'web.za',
  'com.tr', 'net.tr', 'org.tr', 'gov.tr', 'edu.tr', 'gen.tr',
  'com.ua', 'net.ua', 'org.ua', 'gov.ua', 'in.ua', 'kiev.ua',
  'com.pl', 'net.pl', 'org.pl', 'gov.pl', 'edu.pl', 'waw.pl',
  'co.il', 'org.il', 'net.il', 'ac.il', 'gov.il', 'muni.il',
  'com.es', 'nom.es', 'org.es', 'gob.es', 'edu.es',
  'co.at', 'or.at', 'gv.at', 'ac.at',
  'com.ru', 'net.ru', 'org.ru', 'msk.ru', 'spb.ru',
  'com.my', 'net.my', 'org.my', 'gov.my', 'edu.my',
  'co.id', 'or.id', 'web.id', 'ac.id', 'go.id',
  'com.ph', 'net.ph', 'org.ph', 'gov.ph', 'edu.ph',
  'co.th', 'in.th', 'or.th', 'ac.th', 'go.th',
  'com.vn', 'net.vn', 'org.vn', 'gov.vn', 'edu.vn',
  'com.sa', 'net.sa', 'org.sa', 'gov.sa', 'edu.sa',
  'com.eg', 'net.eg', 'org.eg', 'gov.eg', 'edu.eg',
  'com.pk', 'net.pk', 'org.pk', 'gov.pk', 'edu.pk',
  'com.ng', 'net.ng', 'org.ng', 'gov.ng', 'edu.ng',
  'co.ke', 'or.ke', 'ne.ke', 'go.ke', 'ac.ke',
  'com.co', 'net.co', 'nom.co', 'org.co', 'gov.co', 'edu.co',
  'com.pe', 'net.pe', 'org.pe', 'gob.pe', 'edu.pe',
  'com.ve', 'net.ve', 'org.ve', 'gob.ve',
  'com.uy', 'net.uy', 'org.uy', 'gub.uy', 'edu.uy',
  'com.cl', 'gob.cl', 'gov.cl', 'mil.cl',
  'com.gr', 'net.gr', 'org.gr', 'gov.gr', 'edu.gr',
  'com.pt', 'org.pt', 'gov.pt', 'edu.pt',
  'com.ro', 'org.ro', 'nom.ro', 'info.ro', 'store.ro',
  'co.hu', 'org.hu', 'info.hu', 'tm.hu',
]);

/** Multi-label private suffixes (hosting platforms), counted only where `tldts` allows private domains. */
const PRIVATE_SUFFIXES: ReadonlySet<string> = new Set([
  'github.io', 'githubusercontent.com', 'gitlab.io', 'herokuapp.com', 'herokussl.com', 'vercel.app', 'now.sh',
  'netlify.app', 'netlify.com', 'pages.dev', 'workers.dev', 'appspot.com', 'blogspot.com', 'cloudfront.net',
  'azurewebsites.net', 'azurestaticapps.net', 'cloudapp.net', 'web.app', 'firebaseapp.com', 'fly.dev',
  'onrender.com', 'glitch.me', 'repl.co', 'ngrok.io', 'ngrok-free.app', 'surge.sh', 'bitbucket.io',
  'readthedocs.io', 'deno.dev', 'r2.dev', 'wixsite.com', 'myshopify.com', 'azureedge.net', 'elasticbeanstalk.com',
  's3.amazonaws.com', 'compute.amazonaws.com', 'run.app', 'a.run.app', 'codeberg.page', 'pythonanywhere.com',
]);

/**
 * The host of a URL or of a `host[:port][/path]` string, lowercase, without
 * brackets, port or trailing dot — what `tldts` extracts.
 */
export function hostnameOf(value: string): string {
  let rest = value.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  else if (rest.startsWith('//')) rest = rest.slice(2);
  const end = rest.search(/[/?#\\]/);
  let authority = end === -1 ? rest : rest.slice(0, end);
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1);
  let host: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    host = close === -1 ? authority.slice(1) : authority.slice(1, close);
  } else {
    const colon = authority.indexOf(':');
    host = colon === -1 ? authority : authority.slice(0, colon);
  }
  host = host.toLowerCase();
  while (host.endsWith('.')) host = host.slice(0, -1);
  return host;
}

/**
 * Whether `host` is an IP address, as the WHATWG host parser reads one: IPv6 (any
 * colon), or one to four dot-separated numbers in decimal, octal (`0…`) or hex (`0x…`).
 */
export function isIpAddress(host: string): boolean {
  if (host.includes(':')) return true;
  const parts = host.split('.');
  if (parts.length > 4) return false;
  return parts.every((part) => /^(?:0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$/i.test(part));
}

/** How many trailing labels of `labels` form its public suffix. */
function publicSuffixLength(labels: readonly string[], privateSuffixes: boolean): number {
  for (let count = Math.min(labels.length, 3); count >= 2; count--) {
    const candidate = labels.slice(-count).join('.');
    if (ICANN_SUFFIXES.has(candidate) || (privateSuffixes && PRIVATE_SUFFIXES.has(candidate))) return count;
  }
  return 1;
}

/**
 * The registrable domain of `host` (its public suffix and one more label), or
 * `null` for an IP address, a public suffix itself, or a single-label name such as
 * `localhost` — like `tldts`'s `domain`.
 */
export function registrableDomain(host: string, options: { readonly privateSuffixes?: boolean } = {}): string | null {
  const name = hostnameOf(host);
  if (name === '' || isIpAddress(name)) return null;
  const labels = name.split('.');
  if (labels.some((label) => label === '')) return null;
  const suffixLength = publicSuffixLength(labels, options.privateSuffixes === true);
  if (labels.length <= suffixLength) return null;
  return labels.slice(-(suffixLength + 1)).join('.');
}
