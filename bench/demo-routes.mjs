// What each kind of page costs the demo: `npm run build && node bench/demo-routes.mjs`.
//
// Starts the demo (production mode, temporary DATA_DIR), seeds it as bench/demo.mjs does,
// and measures server CPU per request (user + system, from /proc) and req/s with
// autocannon for a ladder of routes, from the cheapest (a 404 page through the whole
// middleware stack) to the logged-in feed, so the difference between two rungs is the
// cost of what one adds. Two rounds; the lower CPU figure of the two is printed.
//
// Environment: ROUTES_DURATION (seconds per measurement, default 4), ROUTES_CONNECTIONS (default 16).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cannon, cpuSeconds, freePort, requireBuild, seed, startDemo } from './demo-lib.mjs';

const duration = Number(process.env.ROUTES_DURATION ?? 4);
const connections = Number(process.env.ROUTES_CONNECTIONS ?? 16);

requireBuild();
const { generateKey } = await import('rampart');
const dataDir = mkdtempSync(join(tmpdir(), 'feed-routes-'));
const server = await startDemo({ dataDir, port: await freePort(), keys: generateKey() });
try {
  const clients = await seed(server);
  const cookie = clients[0].cookieHeader();
  const cases = [
    ['404 page, anonymous (node:http + rampart + a small page)', '/nope', {}, 404],
    ['404 page, logged in (+ session, revocation check, user)', '/nope', { cookie }, 404],
    ['log-in page, anonymous (+ a form: token and CSRF cookie)', '/login', {}, 200],
    ['feed, anonymous (+ feed query, 20 statuses, no forms)', '/', {}, 200],
    ['feed, logged in (+ session, user, 9 forms with tokens)', '/', { cookie }, 200],
    ["a user's page, logged in", '/u/bob', { cookie }, 200],
    ['the stylesheet (staticFiles)', '/static/style.css', {}, 200],
  ];
  const best = new Map();
  for (let round = 0; round < 2; round++) {
    for (const [name, path, headers, expected] of cases) {
      const requests = [{ method: 'GET', path, headers }];
      await cannon({ url: server.url, connections, duration: 1, requests });
      const before = cpuSeconds([server.pid]);
      const result = await cannon({ url: server.url, connections, duration, requests });
      const cpu = ((cpuSeconds([server.pid]) - before) * 1e6) / result.requests.total;
      const ok = result.statusCodeStats[expected]?.count === result.requests.total && result.errors === 0;
      const row = { cpu, rps: result.requests.total / result.duration, bytes: result.throughput.total / result.requests.total, ok };
      if (!best.has(name) || best.get(name).cpu > cpu) best.set(name, row);
    }
  }
  console.log('route'.padEnd(62), 'CPU µs/req'.padStart(10), 'req/s'.padStart(7), 'bytes'.padStart(6));
  for (const [name, row] of best) {
    console.log(`${name.padEnd(62)} ${row.cpu.toFixed(0).padStart(10)} ${row.rps.toFixed(0).padStart(7)} ${row.bytes.toFixed(0).padStart(6)}${row.ok ? '' : '  (unexpected statuses or errors!)'}`);
  }
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
