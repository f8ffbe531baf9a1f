// Cookies and sealed sessions, in one run: `npm run build && node bench/cookies.mjs`.
//
// 1. Parsing and serializing, side by side with the `cookie` package (what Express,
//    Fastify and most Node code use).
// 2. Sessions: opening a sealed cookie and sealing the changed session, side by side
//    with iron-session, @fastify/secure-session and the floor: bare node:crypto
//    AES-256-GCM of the same JSON, base64url, nothing else.
//
// In-process timings, interleaved: each round times every case once, in rotated
// order, and each ratio is taken within the round; the median over rounds is
// reported, so a noisy machine moves both sides of a ratio together.

import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import fastifySecureSession from '@fastify/secure-session';
import * as cookie from 'cookie';
import Fastify from 'fastify';
import { sealData, unsealData } from 'iron-session';
import { generateKey, rampart } from 'rampart';
import { parseCookies, serializeCookie } from 'rampart/cookies';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const N = Number(process.env.BENCH_N ?? 200_000);
const SESSION_N = Number(process.env.BENCH_SESSION_N ?? 20_000);

// A realistic header: a session, a CSRF binding, analytics and preference cookies.
const HEADER = [
  '__Host-session=Fe26.2**0cdd607945dd1dffb7da0b0bf5f1a7daa6218cbae14cac51dcbd91fb077aeb5b**aOZLCKLhCt0D5IU1qLTtYw',
  '__Host-csrf=nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s',
  '_ga=GA1.2.1234567890.1234567890',
  '_gid=GA1.2.0987654321.0987654321',
  'theme=dark',
  'lang=en-GB',
  'consent="analytics:yes,ads:no"',
  'tz=Europe%2FLondon',
].join('; ');

let sink = 0;
const cases = {
  'parse: cookie.parse': () => (sink += Object.keys(cookie.parse(HEADER)).length),
  'parse: rampart parseCookies': () => (sink += Object.keys(parseCookies(HEADER)).length),
  'serialize: cookie.serialize': () =>
    (sink += cookie.serialize('__Host-session', 'abcdefghijklmnopqrstuvwxyz0123456789', { path: '/', maxAge: 3600, secure: true, httpOnly: true, sameSite: 'lax' }).length),
  'serialize: rampart serializeCookie': () => (sink += serializeCookie('session', 'abcdefghijklmnopqrstuvwxyz0123456789', { maxAge: 3600 }).length),
};
const pairs = [
  ['parse: rampart parseCookies', 'parse: cookie.parse'],
  ['serialize: rampart serializeCookie', 'serialize: cookie.serialize'],
];

function time(run) {
  const start = process.hrtime.bigint();
  for (let index = 0; index < N; index++) run();
  return Number(process.hrtime.bigint() - start) / N; // ns per call
}

for (const run of Object.values(cases)) for (let index = 0; index < 50_000; index++) run();
const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
const ratios = Object.fromEntries(pairs.map(([ours]) => [ours, []]));
const names = Object.keys(cases);
for (let round = 0; round < ROUNDS; round++) {
  const order = names.slice(round % names.length).concat(names.slice(0, round % names.length));
  const got = {};
  for (const name of order) got[name] = time(cases[name]);
  for (const name of names) samples[name].push(got[name]);
  // Speed ratio: how many of ours per one of theirs (above 1: ours is faster).
  for (const [ours, theirs] of pairs) ratios[ours].push(got[theirs] / got[ours]);
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const lines = ['| case | ns per call (median) | speed vs `cookie` (median of per-round ratios) |', '| --- | ---: | ---: |'];
for (const name of names) {
  const ratio = ratios[name] ? `**${median(ratios[name]).toFixed(2)}×**` : '1';
  lines.push(`| ${name} | ${median(samples[name]).toFixed(0)} | ${ratio} |`);
}
console.log(lines.join('\n'));
console.log(`\n${ROUNDS} rounds of ${N} calls; node ${process.version}; ${new Date().toUTCString()}`);

// ---- Sessions: open the cookie a request brings, change one value, seal the new cookie.

// What a logged-in session typically holds: a user id, a role list, a flash message.
const DATA = { user: 'u_2bD9kQ7xZp', roles: ['member', 'editor'], flash: 'Saved.' };
const KEY = randomBytes(32);
const PASSWORD = KEY.toString('base64url'); // iron-session: a 32+ character password
// A KeyObject made once: node imports a raw key on every cipher otherwise (≈ +5 µs per op here).
const KEY_OBJECT = createSecretKey(KEY);

// The floor: JSON, AES-256-GCM with a random IV, base64url; and back. Nothing else.
function floorSeal(data) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', KEY_OBJECT, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(data)), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}
function floorOpen(text) {
  const bytes = Buffer.from(text, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', KEY_OBJECT, bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString());
}

// rampart, through its public API: the request's context, its session, a change, the Set-Cookie.
const security = rampart({ mode: 'production', keys: generateKey(), origin: 'https://app.example', logger: { warn: () => {} } });
function incoming(cookieHeader) {
  return { method: 'GET', target: '/', tls: true, remoteAddress: '127.0.0.1', header: (name) => (name === 'cookie' ? cookieHeader : name === 'host' ? 'app.example' : undefined), toRequest: () => null };
}
async function rampartCookie() {
  const context = security.begin(incoming(undefined));
  const session = await context.session();
  for (const [key, value] of Object.entries(DATA)) session.set(key, value);
  return context.responseCookies()[0].split(';')[0];
}
const rampartHeader = await rampartCookie();
// Each case opens a cookie it has not seen for a while, from a ring of RING distinct ones
// (the same for all: a single cookie would sit in the CPU's caches). rampart keeps the
// 64 cookies it opened last, so a ring longer than that makes every open decrypt, as
// the other libraries always do; the same cookie again is a row of its own.
const RING = 5000;
async function ringOf(make, size = RING) {
  const ring = [];
  for (let index = 0; index < size; index++) ring.push(await make());
  let next = 0;
  return () => ring[next++ % size];
}
const rampartRing = await ringOf(rampartCookie);

// @fastify/secure-session (libsodium secretbox), through the decorators its plugin adds.
const app = Fastify();
await app.register(fastifySecureSession, { key: KEY, cookie: { path: '/' } });
await app.ready();
const secureSessionCookie = app.encodeSecureSession(app.createSecureSession(DATA));

const ironSeal = await sealData(DATA, { password: PASSWORD });
const floorCookie = floorSeal(DATA);
const floorRing = await ringOf(() => floorSeal(DATA));
const secureSessionRing = await ringOf(() => app.encodeSecureSession(app.createSecureSession(DATA)));
// iron-session seals through PBKDF2 (~1 ms each): a shorter ring, which its speed makes moot.
const ironRing = await ringOf(() => sealData(DATA, { password: PASSWORD }), 200);

let counter = 0;
const sessionCases = {
  'floor: node:crypto AES-256-GCM': async () => {
    const data = floorOpen(floorRing());
    data.flash = `n${counter++}`;
    sink += floorSeal(data).length;
  },
  'rampart session': async () => {
    const context = security.begin(incoming(rampartRing()));
    const session = await context.session();
    session.set('flash', `n${counter++}`);
    sink += context.responseCookies()[0].length;
  },
  'rampart session, the same cookie again (kept opened)': async () => {
    const context = security.begin(incoming(rampartHeader));
    const session = await context.session();
    session.set('flash', `n${counter++}`);
    sink += context.responseCookies()[0].length;
  },
  '@fastify/secure-session': async () => {
    const session = app.decodeSecureSession(secureSessionRing());
    session.set('flash', `n${counter++}`);
    sink += app.encodeSecureSession(session).length;
  },
  'iron-session': async () => {
    const data = await unsealData(ironRing(), { password: PASSWORD });
    data.flash = `n${counter++}`;
    sink += (await sealData(data, { password: PASSWORD })).length;
  },
};

// Sanity: every case really opens what it was given.
if (floorOpen(floorCookie).user !== DATA.user) throw new Error('floor does not round-trip');
if ((await security.begin(incoming(rampartHeader)).session()).get('user') !== DATA.user) throw new Error('rampart does not open its cookie');
if (app.decodeSecureSession(secureSessionCookie).get('user') !== DATA.user) throw new Error('secure-session does not open its cookie');
if ((await unsealData(ironSeal, { password: PASSWORD })).user !== DATA.user) throw new Error('iron-session does not open its seal');

async function timeAsync(run, n) {
  const start = process.hrtime.bigint();
  for (let index = 0; index < n; index++) await run();
  return Number(process.hrtime.bigint() - start) / n; // ns per op
}

const sessionNames = Object.keys(sessionCases);
// iron-session goes through Web Crypto (~100 µs a call here): fewer calls keep the run short.
const callsOf = (name) => (name === 'iron-session' ? Math.max(200, SESSION_N / 20) : SESSION_N);
for (const name of sessionNames) await timeAsync(sessionCases[name], callsOf(name) / 4);
const sessionSamples = Object.fromEntries(sessionNames.map((name) => [name, []]));
const floorRatios = Object.fromEntries(sessionNames.map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = sessionNames.slice(round % sessionNames.length).concat(sessionNames.slice(0, round % sessionNames.length));
  const got = {};
  for (const name of order) got[name] = await timeAsync(sessionCases[name], callsOf(name));
  for (const name of sessionNames) {
    sessionSamples[name].push(got[name]);
    // Cost ratio: how many times the floor's time per op (1 is the floor; lower is better).
    floorRatios[name].push(got[name] / got['floor: node:crypto AES-256-GCM']);
  }
}
const sessionLines = ['| open + change + seal | µs per op (median) | ops/s (median) | cost × floor (median of per-round ratios) | cookie bytes |', '| --- | ---: | ---: | ---: | ---: |'];
const cookieBytes = {
  'floor: node:crypto AES-256-GCM': floorCookie.length,
  'rampart session': rampartHeader.length,
  'rampart session, the same cookie again (kept opened)': rampartHeader.length,
  '@fastify/secure-session': secureSessionCookie.length,
  'iron-session': ironSeal.length,
};
for (const name of sessionNames) {
  const nanoseconds = median(sessionSamples[name]);
  sessionLines.push(`| ${name} | ${(nanoseconds / 1000).toFixed(2)} | ${Math.round(1e9 / nanoseconds).toLocaleString('en-US')} | **${median(floorRatios[name]).toFixed(2)}×** | ${cookieBytes[name]} |`);
}
console.log(`\n${sessionLines.join('\n')}`);
const ours = median(floorRatios['rampart session']);
console.log(`\nTarget: rampart within 1.5× of the floor: ${ours <= 1.5 ? 'MET' : 'MISSED'} (${ours.toFixed(2)}×).`);
console.log(`${ROUNDS} rounds of ${SESSION_N} ops (iron-session: ${callsOf('iron-session')}); node ${process.version}; ${new Date().toUTCString()}`);
await app.close();
if (sink === 0) console.log('(nothing computed)');
