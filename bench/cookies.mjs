// Cookie parsing and serializing, side by side with the `cookie` package (what Express,
// Fastify and most Node code use): `npm run build && node bench/cookies.mjs`.
//
// In-process timings, interleaved: each round times every case once, in rotated
// order, and the ratio to `cookie` is taken within the round; the median over rounds
// is reported, so a noisy machine moves both sides of a ratio together.

import * as cookie from 'cookie';
import { parseCookies, serializeCookie } from 'rampart/cookies';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const N = Number(process.env.BENCH_N ?? 200_000);

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
if (sink === 0) console.log('(nothing computed)');
