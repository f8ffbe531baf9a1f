// CSRF tokens, in one run: `npm run build && node bench/csrf.mjs`.
//
// One operation is what a browser's round trip costs the server: a page is rendered
// with a token (mint), then a form or fetch() sends it back (verify). Side by side:
//
// - the floor: bare node:crypto HMAC-SHA256 over nonce ‖ binding, nonce and MAC in
//   base64url; verified by recomputing the MAC and crypto.timingSafeEqual. The least a
//   stateless token bound to a cookie can cost;
// - rampart's tokens alone (CsrfTokens.mint + verify), and rampart's whole request
//   path: security.begin(GET).csrfToken(), then security.begin(POST) with the token
//   in X-CSRF-Token, which runs every CSRF check;
// - rampart with csrf: false: the two request contexts every request pays anyway (the
//   CSP nonce), to show what the CSRF check adds to begin();
// - csrf-csrf 4 (double submit: an HMAC in a cookie, echoed in a header) and csrf-sync 4
//   (synchronizer token: a random token kept in the session, compared with ===), each
//   through its Express middleware on a GET and a POST, the token from req.csrfToken().
//
// In-process timings, interleaved: each round times every case once, in rotated order,
// and each ratio is taken within the round; the median over rounds is reported, so a
// noisy machine moves both sides of a ratio together.

import { Buffer } from 'node:buffer';
import { createHmac, createSecretKey, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import { loadavg } from 'node:os';
import { doubleCsrf } from 'csrf-csrf';
import { csrfSync } from 'csrf-sync';
import { generateKey, rampart, RequestContext } from 'rampart';
// Not a public subpath: the token class alone, to separate its cost from the request path's.
import { CsrfTokens } from '../dist/csrf/token.js';

// Many short rounds rather than a few long ones: a burst of other load on the machine then
// spoils a few rounds' ratios, which the median drops, instead of one case's whole sample.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 41);
const N = Number(process.env.BENCH_N ?? 40_000);

const ORIGIN = 'https://app.example';
const loadAtStart = loadavg()[0];
let sink = 0;

// ---- The floor: nonce (12 bytes) ‖ MAC, MAC = HMAC-SHA256(key, nonce ‖ binding), both
// base64url: 16 + 22 characters (the MAC cut to 22 characters, 132 bits).

const FLOOR_KEY = createSecretKey(randomBytes(32));
const FLOOR_BINDING = randomBytes(32);
const FLOOR_INPUT = Buffer.alloc(12 + 32); // one MAC input buffer: the nonce, then the binding
// Random bytes drawn 4 KiB at a time, as rampart does: crypto.randomBytes(12) costs ~2 µs
// a call on Node 20, as much as an HMAC, and would make the floor easy to beat.
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;
// The MAC as text straight from digest(): on Node 20 a digest() that returns a Buffer costs
// ~0.5 µs more per HMAC than one that returns a string, a quarter of the whole HMAC.
function floorMac(binding) {
  binding.copy(FLOOR_INPUT, 12);
  return createHmac('sha256', FLOOR_KEY).update(FLOOR_INPUT).digest('base64url').slice(0, 22);
}
function floorMint(binding) {
  if (poolOffset + 12 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  POOL.copy(FLOOR_INPUT, 0, poolOffset, poolOffset + 12);
  poolOffset += 12;
  return FLOOR_INPUT.toString('base64url', 0, 12) + floorMac(binding);
}
function floorVerify(text, binding) {
  if (text.length !== 38) return false;
  if (FLOOR_INPUT.write(text.slice(0, 16), 0, 'base64url') !== 12) return false;
  return timingSafeEqual(Buffer.from(floorMac(binding), 'latin1'), Buffer.from(text.slice(16), 'latin1'));
}

// ---- rampart, through its public API, as an adapter drives it.

const silent = { warn: () => {} };
const security = rampart({ mode: 'production', keys: generateKey(), origin: ORIGIN, logger: silent });
const withoutCsrf = rampart({ mode: 'production', keys: generateKey(), origin: ORIGIN, logger: silent, csrf: false });

/** An IncomingRequest as the node adapter builds one: headers by lowercase name. */
function incoming(method, headers) {
  return {
    method,
    target: '/account',
    tls: true,
    remoteAddress: '127.0.0.1',
    header: (name) => headers[name],
    toRequest: () => {
      throw new Error('bench: rampart asked for the whole request');
    },
    peekBody: () => {
      throw new Error('bench: rampart read the body of a header-token request');
    },
  };
}
const getHeaders = (cookie) => ({ host: 'app.example', cookie, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', accept: 'text/html' });
// What fetch() sends from a page of ours: JSON, with the token in a header.
const postHeaders = (cookie, token) => ({
  host: 'app.example',
  cookie,
  origin: ORIGIN,
  'sec-fetch-site': 'same-origin',
  'sec-fetch-mode': 'cors',
  'content-type': 'application/json',
  accept: 'application/json',
  'x-csrf-token': token,
});

// A returning browser: its __Host-csrf cookie came with an earlier response.
const firstVisit = security.begin(incoming('GET', getHeaders(undefined)));
firstVisit.csrfToken();
const BINDING_COOKIE = firstVisit.responseCookies()[0].split(';')[0];
if (!BINDING_COOKIE.startsWith('__Host-csrf=')) throw new Error(`bench: unexpected binding cookie ${BINDING_COOKIE}`);

function rampartRender() {
  const context = security.begin(incoming('GET', getHeaders(BINDING_COOKIE)));
  if (!(context instanceof RequestContext)) throw new Error('rampart refused a GET');
  return context.csrfToken();
}
function rampartSubmit(token, cookie = BINDING_COOKIE) {
  return security.begin(incoming('POST', postHeaders(cookie, token)));
}

// The token alone, with the instance's keyring (so the subkeys are the ones begin() uses).
const tokens = new CsrfTokens(security.keyring, Date.now, 86_400);
const BINDING = Buffer.from(BINDING_COOKIE.slice('__Host-csrf='.length), 'base64url');

// ---- csrf-csrf 4: double submit. The cookie and the header carry the same token,
// HMAC(secret, session id ‖ random) in hex; verified by recomputing it and `===`.

const CSRF_CSRF_SECRET = randomBytes(32).toString('base64url');
const SESSION_ID = 'a3f1c0de9b8e4d2f8c7b6a5d4e3f2a1b';
const doubleSubmit = doubleCsrf({ getSecret: () => CSRF_CSRF_SECRET, getSessionIdentifier: (req) => req.session.id });
const CSRF_CSRF_COOKIE = '__Host-psifi.x-csrf-token';
// What Express and cookie-parser give it: parsed cookies, a res.cookie() (here it only stores).
function fakeResponse() {
  return {
    cookies: {},
    cookie(name, value) {
      this.cookies[name] = value;
    },
  };
}
function failOnError(error) {
  if (error) throw error;
}
// The first visit, where the library mints the token it keeps in the cookie.
const csrfCsrfFirst = { method: 'GET', headers: {}, cookies: {}, session: { id: SESSION_ID } };
const csrfCsrfFirstResponse = fakeResponse();
doubleSubmit.doubleCsrfProtection(csrfCsrfFirst, csrfCsrfFirstResponse, failOnError);
csrfCsrfFirst.csrfToken();
const CSRF_CSRF_TOKEN = csrfCsrfFirstResponse.cookies[CSRF_CSRF_COOKIE];

function csrfCsrfRender() {
  // A returning browser: generateCsrfToken verifies the cookie's HMAC and hands it out again.
  const req = { method: 'GET', headers: {}, cookies: { [CSRF_CSRF_COOKIE]: CSRF_CSRF_TOKEN }, session: { id: SESSION_ID } };
  doubleSubmit.doubleCsrfProtection(req, fakeResponse(), failOnError);
  return req.csrfToken();
}
function csrfCsrfSubmit(headerToken, cookieToken = headerToken, sessionId = SESSION_ID) {
  const req = { method: 'POST', headers: { 'x-csrf-token': headerToken }, cookies: { [CSRF_CSRF_COOKIE]: cookieToken }, session: { id: sessionId } };
  let passed = false;
  doubleSubmit.doubleCsrfProtection(req, fakeResponse(), (error) => (passed = error === undefined));
  return passed;
}

// ---- csrf-sync 4: a synchronizer token, 128 random bytes in hex kept in the session.

const synchronizer = csrfSync();
const syncSession = {}; // what express-session would hand every request of this browser
{
  const req = { method: 'GET', headers: {}, session: syncSession };
  synchronizer.csrfSynchronisedProtection(req, {}, failOnError);
  req.csrfToken(); // the first visit stores the token in the session
}
function csrfSyncRender() {
  const req = { method: 'GET', headers: {}, session: syncSession };
  synchronizer.csrfSynchronisedProtection(req, {}, failOnError);
  return req.csrfToken();
}
function csrfSyncSubmit(token) {
  const req = { method: 'POST', headers: { 'x-csrf-token': token }, session: syncSession };
  let passed = false;
  synchronizer.csrfSynchronisedProtection(req, {}, (error) => (passed = error === undefined));
  return passed;
}

// ---- Sanity: every case accepts its own token and refuses a wrong one.

/** The same token with one character changed (still valid base64url / hex). */
function tampered(token) {
  const index = Math.floor(token.length / 3); // inside the MAC or nonce: never a delimiter or padding bits
  const replacement = token[index] === 'a' ? 'b' : 'a';
  return token.slice(0, index) + replacement + token.slice(index + 1);
}
function check(condition, message) {
  if (!condition) throw new Error(`bench sanity check failed: ${message}`);
}
{
  const token = floorMint(FLOOR_BINDING);
  check(floorVerify(token, FLOOR_BINDING), 'the floor refuses its own token');
  check(!floorVerify(tampered(token), FLOOR_BINDING), 'the floor accepts a tampered token');
  check(!floorVerify(token, randomBytes(32)), 'the floor accepts a token for another binding');
}
{
  const token = rampartRender();
  check(token.length === 50 && token !== rampartRender(), 'rampart does not mint a fresh 50-character token');
  check(rampartSubmit(token) instanceof RequestContext, 'rampart refuses its own token');
  const refusals = [rampartSubmit(tampered(token)), rampartSubmit(''), rampartSubmit(token, '__Host-csrf=' + Buffer.from(randomBytes(32)).toString('base64url'))];
  for (const refusal of refusals) check(refusal instanceof Response && refusal.status === 403, 'rampart accepts a tampered token, no token, or another binding');
  check(tokens.verify(token, BINDING) === true, 'CsrfTokens refuses a token minted through begin()');
  check(tokens.verify(tokens.mint(BINDING), BINDING) === true, 'CsrfTokens refuses its own token');
  check(tokens.verify(tampered(token), BINDING) !== true, 'CsrfTokens accepts a tampered token');
}
{
  const token = csrfCsrfRender();
  check(token === CSRF_CSRF_TOKEN && /^[0-9a-f]{64}\.[0-9a-f]{64}$/.test(token), 'csrf-csrf does not hand out its cookie token');
  check(csrfCsrfSubmit(token), 'csrf-csrf refuses its own token');
  check(doubleSubmit.validateRequest({ headers: { 'x-csrf-token': token }, cookies: { [CSRF_CSRF_COOKIE]: token }, session: { id: SESSION_ID } }), 'csrf-csrf validateRequest refuses its own token');
  check(!csrfCsrfSubmit(tampered(token), token), 'csrf-csrf accepts a header that differs from the cookie');
  check(!csrfCsrfSubmit(tampered(token), tampered(token)), 'csrf-csrf accepts a forged cookie and header pair');
  check(!csrfCsrfSubmit(token, token, 'another-session'), 'csrf-csrf accepts a token of another session');
}
{
  const token = csrfSyncRender();
  check(/^[0-9a-f]{256}$/.test(token) && token === syncSession.csrfToken, 'csrf-sync does not hand out its session token');
  check(csrfSyncSubmit(token), 'csrf-sync refuses its own token');
  check(synchronizer.isRequestValid({ headers: { 'x-csrf-token': token }, session: syncSession }), 'csrf-sync isRequestValid refuses its own token');
  check(!csrfSyncSubmit(tampered(token)), 'csrf-sync accepts a tampered token');
}

// ---- The cases: one mint and one verify each; a refusal inside the timed loop throws.

const FLOOR = 'floor: node:crypto HMAC-SHA256 + timingSafeEqual';
const TOKENS = 'rampart tokens alone (CsrfTokens mint + verify)';
const RAMPART = 'rampart: begin(GET).csrfToken() + begin(POST)';
const NO_CSRF = 'rampart with csrf: false: begin(GET) + begin(POST)';
const CSRF_CSRF = 'csrf-csrf 4: middleware + req.csrfToken(), middleware';
const CSRF_SYNC = 'csrf-sync 4: middleware + req.csrfToken(), middleware';
const cases = {
  [FLOOR]: () => {
    if (!floorVerify(floorMint(FLOOR_BINDING), FLOOR_BINDING)) throw new Error('floor refused');
  },
  [TOKENS]: () => {
    if (tokens.verify(tokens.mint(BINDING), BINDING) !== true) throw new Error('CsrfTokens refused');
  },
  [RAMPART]: () => {
    if (!(rampartSubmit(rampartRender()) instanceof RequestContext)) throw new Error('rampart refused');
  },
  [NO_CSRF]: () => {
    const page = withoutCsrf.begin(incoming('GET', getHeaders(BINDING_COOKIE)));
    const submit = withoutCsrf.begin(incoming('POST', postHeaders(BINDING_COOKIE, 'x')));
    if (!(page instanceof RequestContext && submit instanceof RequestContext)) throw new Error('rampart (csrf: false) refused');
    sink += page.nonce.length;
  },
  [CSRF_CSRF]: () => {
    if (!csrfCsrfSubmit(csrfCsrfRender())) throw new Error('csrf-csrf refused');
  },
  [CSRF_SYNC]: () => {
    if (!csrfSyncSubmit(csrfSyncRender())) throw new Error('csrf-sync refused');
  },
};
const tokenChars = { [FLOOR]: 38, [TOKENS]: 50, [RAMPART]: 50, [NO_CSRF]: '–', [CSRF_CSRF]: CSRF_CSRF_TOKEN.length, [CSRF_SYNC]: syncSession.csrfToken.length };

/** Wall-clock and CPU (user + system, all threads: GC included) nanoseconds per op. */
function time(run, n) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let index = 0; index < n; index++) run();
  const wall = Number(process.hrtime.bigint() - start) / n;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: ((used.user + used.system) * 1000) / n };
}

const names = Object.keys(cases);
for (const name of names) time(cases[name], N / 4);
const samples = Object.fromEntries(names.map((name) => [name, []]));
const ratios = Object.fromEntries(names.map((name) => [name, []]));
const cpuRatios = Object.fromEntries(names.map((name) => [name, []]));
const excess = Object.fromEntries(names.map((name) => [name, []]));
const started = Date.now();
for (let round = 0; round < ROUNDS; round++) {
  const order = names.slice(round % names.length).concat(names.slice(0, round % names.length));
  const got = {};
  for (const name of order) got[name] = time(cases[name], N);
  for (const name of names) {
    samples[name].push(got[name].wall);
    // Cost ratio: how many times the floor's time per op (1 is the floor; lower is better).
    ratios[name].push(got[name].wall / got[FLOOR].wall);
    cpuRatios[name].push(got[name].cpu / got[FLOOR].cpu);
    excess[name].push(got[name].wall - got[FLOOR].wall);
  }
}
const seconds = (Date.now() - started) / 1000;
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)];
const median = (values) => quantile(values, 0.5);
// The middle half of the rounds: min–max over many rounds on a busy machine says only how busy it was.
const middleHalf = (values) => `${quantile(values, 0.25).toFixed(2)}–${quantile(values, 0.75).toFixed(2)}`;

const lines = [
  '| mint + verify | µs per op (median) | ops/s (median) | cost × floor, median of per-round ratios (middle half) | µs over the floor (median) | CPU-time cost × floor (median) | token chars |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const name of names) {
  const nanoseconds = median(samples[name]);
  const ratio = name === FLOOR ? '1' : `**${median(ratios[name]).toFixed(2)}×** (${middleHalf(ratios[name])})`;
  const over = name === FLOOR ? '–' : `${(median(excess[name]) / 1000).toFixed(2)}`;
  const cpuRatio = name === FLOOR ? '1' : `${median(cpuRatios[name]).toFixed(2)}×`;
  lines.push(`| ${name} | ${(nanoseconds / 1000).toFixed(2)} | ${Math.round(1e9 / nanoseconds).toLocaleString('en-US')} | ${ratio} | ${over} | ${cpuRatio} | ${tokenChars[name]} |`);
}
console.log(lines.join('\n'));

const ours = median(ratios[RAMPART]);
const alone = median(ratios[TOKENS]);
const theirs = median(ratios[CSRF_CSRF]);
// Ahead of csrf-csrf: cheaper in most rounds, not only in the medians.
const aheadRounds = ratios[RAMPART].filter((ratio, index) => ratio < ratios[CSRF_CSRF][index]).length;
const cpu = (name) => median(cpuRatios[name]).toFixed(2);
console.log(
  `\nTarget: rampart within 1.15× of the floor: ${ours <= 1.15 ? 'MET' : 'MISSED'} (${ours.toFixed(2)}×, CPU time ${cpu(RAMPART)}×; tokens alone ${alone.toFixed(2)}×, CPU time ${cpu(TOKENS)}×); ` +
    `ahead of csrf-csrf: ${ours < theirs ? 'MET' : 'MISSED'} (${ours.toFixed(2)}× against ${theirs.toFixed(2)}×, CPU time ${cpu(RAMPART)}× against ${cpu(CSRF_CSRF)}×; cheaper in ${aheadRounds} of ${ROUNDS} rounds).`,
);
console.log(
  `${ROUNDS} rounds of ${N.toLocaleString('en-US')} ops per case (${seconds.toFixed(0)} s); node ${process.version}; load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end; ${new Date().toUTCString()}`,
);
if (sink === 0) console.log('(nothing computed)');
