// The status feed against its Flask anchor, in one run: `npm run build && node bench/demo.mjs`.
//
// Starts the demo (`node demo/server.mjs`, production mode, its own keys and temporary
// DATA_DIR), the same demo on node:cluster with 2 workers (bench/demo-cluster.mjs: as many
// processes as the anchor), and the Flask anchor (bench/anchors/flask under gunicorn, 2 sync
// workers, its own temporary data directory), seeds each through its HTTP routes with the same data
// (3 users; 200 statuses, every 10th with a PNG, every 10th with a text file), checks that both
// feed pages list the same statuses, then measures with autocannon:
//
// (a) the feed page, `GET /`, as a logged-in user (the post form and a delete form on each
//     of their statuses: every form with its CSRF token);
// (b) status posts, `POST /statuses`, multipart as a browser sends the form (the token
//     first, the text, an empty file part), rotating over the 3 users (both apps accept a
//     token again until it expires).
//
// Before every measurement, each user logs in again (a new session cookie, and the form's
// token under it). wrk and autocannon replay the cookie they were given; a browser keeps
// the one a session renewal sends. The demo rolls a session forward (a new cookie) once a
// tenth of its 30-minute idle timeout has passed: replaying an older cookie made every
// request of the later rounds a renewal (a seal and a Set-Cookie each), ~20 µs a post,
// which a browser would pay once every 3 minutes.
//
// The load client is wrk (C, one thread), or autocannon with BENCH_CLIENT=autocannon. The
// client shares the machine's 2 cores with the servers, so its own cost per request
// lowers the faster app's req/s most: autocannon (JavaScript) spends ~50 µs of CPU on
// each 10 KB response here, and held the 2-worker demo near 15,000 req/s whatever the
// server cost (the CPU-cost ratio, 12×, said so; wrk measured the same servers at 12×).
//
// Rounds are interleaved: each round measures every app back to back, the order rotated,
// so the machine's other load hits all alike; the ratio demo / Flask is taken within each
// round. All feed rounds run first (on the seeded data), then all post rounds. Every
// response must be the expected one (200 for the feed, 303 for a post; any other status, an
// error or a timeout fails the run), and after each post run the rows added to the app's
// database must match the 303s acknowledged.
//
// The Flask anchor runs as behind a TLS-terminating proxy: every request carries
// `X-Forwarded-Proto: https`, which gunicorn trusts from loopback, so Talisman's HTTPS
// redirect stays on (and is not taken), HSTS is sent, and Flask-WTF's strict Referer check
// applies (the POSTs carry the https Referer a browser would send). The demo gets the
// `Origin` header a browser sends with a form POST.
//
// Environment: BENCH_ROUNDS (default 3), BENCH_DURATION (seconds per measurement, default 10),
// BENCH_WARMUP (seconds of unmeasured load before each, default 2), BENCH_CONNECTIONS
// (default 32), BENCH_CLUSTER (0: leave out the 2-worker demo), BENCH_CLIENT (wrk, the
// default, or autocannon). Takes about 4 minutes
// with the defaults. A run with the defaults writes its
// figures into bench/RESULTS.md (the `## Status feed` section); other runs only print.

import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import {
  DEMO_MARKERS,
  MULTIPART_TYPE,
  STATUSES,
  USERS,
  cannon,
  cpuSeconds,
  feedSummary,
  freePort,
  requireBuild,
  requireFlask,
  seed,
  startDemo,
  startFlask,
  statusBody,
  tokenOf,
  versions,
  wrk,
  wrkVersion,
  writeResults,
} from './demo-lib.mjs';

const DEFAULTS = { rounds: 3, duration: 10, warmup: 2, connections: 32, cluster: 1, client: 'wrk' };
const config = {
  rounds: integer('BENCH_ROUNDS', DEFAULTS.rounds, 1),
  duration: integer('BENCH_DURATION', DEFAULTS.duration, 1),
  warmup: integer('BENCH_WARMUP', DEFAULTS.warmup, 0),
  connections: integer('BENCH_CONNECTIONS', DEFAULTS.connections, 1),
  cluster: integer('BENCH_CLUSTER', DEFAULTS.cluster, 0),
  client: process.env.BENCH_CLIENT || DEFAULTS.client,
};
if (config.client !== 'wrk' && config.client !== 'autocannon') {
  console.error(`BENCH_CLIENT: expected wrk or autocannon, got ${config.client}`);
  process.exit(2);
}
if (config.client === 'wrk' && wrkVersion() === undefined) {
  console.error('bench/demo.mjs: wrk is not installed (apt-get install wrk), or run with BENCH_CLIENT=autocannon.');
  process.exit(2);
}
const isDefault = Object.keys(DEFAULTS).every((key) => config[key] === DEFAULTS[key]);
const TARGET = 10;

function integer(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`${name}: expected an integer ≥ ${min}, got ${raw}`);
    process.exit(2);
  }
  return value;
}

function rowCount(dataDir) {
  const db = new Database(join(dataDir, 'feed.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) AS n FROM statuses').get().n;
  } finally {
    db.close();
  }
}

let runs = 0;

/** One run of the load client; `load` has the request for each client (wrk's takes the run's number). */
function run(server, load, duration) {
  runs++;
  if (config.client === 'wrk') return wrk({ url: server.url, connections: config.connections, duration, request: load.wrk(runs) });
  return cannon({ url: server.url, connections: config.connections, duration, requests: load.autocannon });
}

/** One measurement of `server`; an unexpected status, error or timeout fails the run. */
async function measure(server, { load, expected, label }) {
  let warmed = 0;
  if (config.warmup > 0) {
    const warm = await run(server, load, config.warmup);
    check(server, label, warm, expected, 'warm-up');
    warmed = warm.statusCodeStats[expected]?.count ?? 0;
  }
  const pids = server.pids();
  const cpuBefore = cpuSeconds(pids);
  const result = await run(server, load, config.duration);
  const cpuAfter = cpuSeconds(pids);
  check(server, label, result, expected, 'measured run');
  const total = result.statusCodeStats[expected]?.count ?? 0;
  return {
    rps: total / result.duration,
    total,
    acknowledged: warmed + total,
    cpu: ((cpuAfter - cpuBefore) * 1e6) / total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bytes: result.throughput.total / Math.max(1, result.requests.total),
  };
}

const failures = [];

function check(server, label, result, expected, phase) {
  // The demo sends a cookie only when a session changes or rolls forward: a measured
  // request that got one was a renewal (a stale cookie), not the request meant.
  if (server.name !== 'flask' && result.setCookies > 0) {
    const message = `${server.name} ${label} (${phase}): ${result.setCookies} responses set a cookie (a session renewed: the client's cookie went stale)`;
    failures.push(message);
    console.error(`FAIL ${message}`);
  }
  const unexpected = Object.entries(result.statusCodeStats).filter(([code]) => Number(code) !== expected);
  if (unexpected.length > 0 || result.errors > 0 || result.timeouts > 0) {
    const message = `${server.name} ${label} (${phase}): ${unexpected.map(([code, { count }]) => `${count}× ${code}`).join(', ') || 'no unexpected status'}; ${result.errors} errors${Object.keys(result.errorCodes).length ? ` (${Object.entries(result.errorCodes).map(([code, count]) => `${count}× ${code}`).join(', ')})` : ''}, ${result.timeouts} timeouts`;
    failures.push(message);
    console.error(`FAIL ${message}`);
  }
}

function spread(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1) };
}

const n0 = (x) => Math.round(x).toLocaleString('en-US');
const n1 = (x) => x.toFixed(1);
const range = (s, f = n0) => (s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`);
const ratio = (s) => (s.min === s.max ? `${s.median.toFixed(2)}×` : `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`);

/** The apps measured: the demo (one process), the demo on 2 cluster workers, the Flask anchor. */
const APPS = [
  { id: 'demo', label: 'demo (1 process)' },
  ...(config.cluster ? [{ id: 'demo2', label: 'demo (node:cluster, 2 workers)' }] : []),
  { id: 'flask', label: 'Flask (gunicorn, 2 workers)' },
];
const DEMOS = APPS.filter((app) => app.id !== 'flask').map((app) => app.id);

async function main() {
  requireBuild();
  requireFlask();
  const startedAt = Date.now();
  const load = [loadavg()[0]];
  const { generateKey } = await import('rampart');
  const dirs = Object.fromEntries(APPS.map(({ id }) => [id, mkdtempSync(join(tmpdir(), `feed-${id}-`))]));
  const servers = {};
  try {
    servers.demo = await startDemo({ dataDir: dirs.demo, port: await freePort(), keys: generateKey() });
    if (config.cluster) servers.demo2 = await startDemo({ dataDir: dirs.demo2, port: await freePort(), keys: generateKey(), workers: 2, name: 'demo2' });
    servers.flask = await startFlask({ dataDir: dirs.flask, port: await freePort(), secret: randomBytes(32).toString('hex') });
    for (const { id } of APPS) console.log(`${id} on ${servers[id].url} (pids ${servers[id].pids().join(', ')})`);

    const seedStart = Date.now();
    const clients = {};
    for (const { id } of APPS) clients[id] = await seed(servers[id]);
    console.log(`seeded: ${USERS.length} users, ${STATUSES} statuses each (${((Date.now() - seedStart) / 1000).toFixed(1)} s)`);

    // The same feed on all: same statuses, attachments and forms for the same viewer.
    const pages = {};
    for (const { id } of APPS) {
      const page = await clients[id][0].request('GET', '/');
      if (page.status !== 200) throw new Error(`${id}: GET / as ${USERS[0]}: ${page.status}`);
      pages[id] = { bytes: Buffer.byteLength(page.text), summary: feedSummary(page.text) };
    }
    for (const { id } of APPS) {
      const [a, b] = [JSON.stringify(pages.demo.summary), JSON.stringify(pages[id].summary)];
      if (a !== b) throw new Error(`the feed pages differ:\ndemo: ${a}\n${id}: ${b}`);
    }
    const summary = pages.demo.summary;
    console.log(
      `feed page as ${USERS[0]}: ${summary.texts.length} statuses, ${summary.images} images, ${summary.downloads} downloads, ${summary.deleteForms} delete forms; ` +
        `body ${pages.demo.bytes} bytes (demo), ${pages.flask.bytes} bytes (Flask)`,
    );

    // (a) The feed page as alice.
    const feedRequests = (app) => [{ method: 'GET', path: '/', headers: { ...servers[app].headers, cookie: clients[app][0].cookieHeader() } }];
    const feedLoad = (app) => ({ autocannon: feedRequests(app), wrk: () => feedRequests(app)[0] });
    // (b) Status posts, rotating over the three users, each with their token and cookies;
    // wrk numbers each post (`bench post <run>-<thread>-<n>`) in its Lua script.
    const postLoad = (app) => ({
      autocannon: postRequests(app),
      wrk: (run) => ({
        method: 'POST',
        path: '/statuses',
        headers: { ...servers[app].headers, ...servers[app].postHeaders, 'content-type': MULTIPART_TYPE },
        bodies: clients[app].map((client) => {
          const body = statusBody(client.postToken, `bench post ${run}-\u0001`);
          const number = body.indexOf(1);
          return { headers: { cookie: client.cookieHeader() }, prefix: body.subarray(0, number), suffix: body.subarray(number + 1) };
        }),
      }),
    });
    let sequence = 0;
    const postRequests = (app) => {
      const users = clients[app].map((client) => ({ cookie: client.cookieHeader(), token: client.postToken }));
      return [
        {
          method: 'POST',
          path: '/statuses',
          setupRequest(request) {
            const user = users[sequence % users.length];
            const body = statusBody(user.token, `bench post ${sequence++}`);
            return {
              ...request,
              headers: { ...servers[app].headers, ...servers[app].postHeaders, cookie: user.cookie, 'content-type': MULTIPART_TYPE },
              body,
            };
          },
        },
      ];
    };
    // One post to each app by hand first: the bench's own body must be accepted.
    for (const { id } of APPS) {
      const [request] = postRequests(id);
      const built = request.setupRequest({});
      const response = await fetch(`${servers[id].url}/statuses`, { method: 'POST', headers: built.headers, body: built.body, redirect: 'manual' });
      const text = await response.text();
      if (response.status !== 303) throw new Error(`${id}: the bench's status post got ${response.status}, not 303:\n${text.slice(0, 400)}`);
      // Deleted again, so every feed stays on the seeded data for the feed rounds.
      const client = clients[id][(sequence - 1) % USERS.length];
      const page = (await client.request('GET', '/')).text;
      const statusId = /action="\/statuses\/(\d+)\/delete"/.exec(page)?.[1];
      const deleted = await client.request('POST', `/statuses/${statusId}/delete`, {
        body: new URLSearchParams({ csrf_token: tokenOf(page) }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      if (deleted.status !== 303) throw new Error(`${id}: deleting the test post: ${deleted.status}`);
    }

    const rounds = { feed: [], post: [] };
    for (const kind of ['feed', 'post']) {
      for (let round = 0; round < config.rounds; round++) {
        // Rotated every round: each app goes first, middle and last in turn.
        const order = APPS.map((_, i) => APPS[(i + round) % APPS.length].id);
        const results = {};
        for (const app of order) {
          for (const client of clients[app]) await client.freshSession();
          const before = kind === 'post' ? rowCount(dirs[app]) : 0;
          results[app] =
            kind === 'feed'
              ? await measure(servers[app], { load: feedLoad(app), expected: 200, label: 'GET /' })
              : await measure(servers[app], { load: postLoad(app), expected: 303, label: 'POST /statuses' });
          if (kind === 'post') {
            await sleep(200);
            // Rows added during warm-up and measured run: every 303 is a row, plus the
            // requests still in flight when the client stopped (at most one per connection).
            const added = rowCount(dirs[app]) - before;
            const { acknowledged } = results[app];
            if (added < acknowledged || added > acknowledged + 2 * config.connections) {
              failures.push(`${app} post round ${round + 1}: ${acknowledged} posts acknowledged (303), ${added} rows added`);
            }
          }
          const r = results[app];
          console.log(
            `${kind} round ${round + 1}/${config.rounds} ${app.padEnd(5)}: ${n0(r.rps).padStart(6)} req/s, server CPU ${n1(r.cpu).padStart(6)} µs/req, latency p50 ${r.p50} ms, p99 ${r.p99} ms`,
          );
        }
        for (const id of DEMOS) {
          results[id].ratio = results[id].rps / results.flask.rps;
          results[id].cpuRatio = results.flask.cpu / results[id].cpu;
        }
        rounds[kind].push(results);
        console.log(`${kind} round ${round + 1}: ${DEMOS.map((id) => `${id} / Flask ${results[id].ratio.toFixed(2)}× req/s, ${results[id].cpuRatio.toFixed(2)}× CPU cost`).join('; ')}`);
      }
    }

    // No bench post stored twice.
    for (const { id } of APPS) duplicates(dirs[id], id);

    load.push(loadavg()[0]);
    const elapsed = (Date.now() - startedAt) / 1000;
    report({ rounds, pages, summary, load, elapsed });
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
    for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.error(`\nFAIL: ${failures.length} problem(s):\n- ${failures.join('\n- ')}`);
    process.exit(1);
  }
}

/** Each `bench post N` is a distinct request: none may be stored twice. */
function duplicates(dataDir, app) {
  const db = new Database(join(dataDir, 'feed.db'), { readonly: true, fileMustExist: true });
  try {
    const { n } = db.prepare("SELECT count(*) AS n FROM (SELECT text FROM statuses WHERE text LIKE 'bench post %' GROUP BY text HAVING count(*) > 1)").get();
    if (n > 0) failures.push(`${app}: ${n} bench posts stored twice`);
  } finally {
    db.close();
  }
}

function report({ rounds, pages, summary, load, elapsed }) {
  const v = versions();
  const stat = (kind, id, field) => spread(rounds[kind].map((r) => r[id][field]));
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  const rows = [];
  for (const [kind, title] of [
    ['feed', 'Feed page `GET /` (logged in)'],
    ['post', 'Status post `POST /statuses`'],
  ]) {
    for (const { id, label } of APPS) {
      const rps = stat(kind, id, 'rps');
      const cpu = stat(kind, id, 'cpu');
      const p99 = stat(kind, id, 'p99');
      const isDemo = id !== 'flask';
      rows.push(
        `| ${title} | ${label} | ${range(rps)} | ${isDemo ? `**${ratio(stat(kind, id, 'ratio'))}**` : '1'} | ${n0(cpu.median)} | ${isDemo ? ratio(stat(kind, id, 'cpuRatio')) : '1'} | ${p99.median} |`,
      );
    }
  }
  const verdicts = [];
  for (const [kind, what] of [
    ['feed', 'feed page'],
    ['post', 'status post'],
  ]) {
    for (const id of DEMOS) {
      const r = stat(kind, id, 'ratio').median;
      verdicts.push(
        `- ${r >= TARGET ? 'MET' : 'MISSED'}: ${what}, ${APPS.find((app) => app.id === id).label}: **${r.toFixed(2)}×** the anchor's req/s (CPU-cost ratio ${stat(kind, id, 'cpuRatio').median.toFixed(2)}×).`,
      );
    }
  }
  const text = `### Feed page and status post: the demo vs the Flask anchor

\`\`\`
npm run build && node bench/demo.mjs
\`\`\`

- Date: ${new Date().toUTCString()}; rampart at ${v.commit}
- Node ${v.node} (node:http), better-sqlite3 ${v.sqlite}; Python ${v.python} (${v.flask}), gunicorn ${v.gunicorn}; ${config.client === 'wrk' ? v.wrk : `autocannon ${v.autocannon}`}
- Machine: ${availableParallelism()} cores, ${cpuModel}; load average (1 min) ${load[0].toFixed(2)} at start, ${load[1].toFixed(2)} at end (other work shared the machine); ${Math.round(elapsed)} s in all.
- Data, the same in each app: ${USERS.length} users, ${STATUSES} statuses posted through the app's own routes (every 10th with a PNG, every 10th with a text file). The feed page as ${USERS[0]}: ${summary.texts.length} statuses, ${summary.images} images, ${summary.downloads} downloads, ${summary.deleteForms} delete forms plus the post and log-out forms, each with its CSRF token; ${pages.demo.bytes} bytes of HTML from the demo, ${pages.flask.bytes} from Flask.
- The demo: \`node demo/server.mjs\`, \`NODE_ENV=production\` with its own \`RAMPART_KEYS\` and \`ORIGIN=http://127.0.0.1:<port>\`, one process${config.cluster ? '; and the same on `node:cluster` with 2 workers (`bench/demo-cluster.mjs`), as many processes as the anchor has' : ''}. The anchor: \`gunicorn --workers 2 app:app\` (sync workers, gunicorn's default) in \`bench/anchors/flask\`: Flask-WTF CSRFProtect, Flask-Talisman with a nonce CSP, HSTS and its HTTPS redirect on, secure session cookie, Jinja2 autoescaping; its requests carry \`X-Forwarded-Proto: https\` as from a TLS proxy (so nothing is turned off), and its POSTs the https \`Referer\` Flask-WTF's strict check wants; the demo's POSTs carry \`Origin\`.
- Method: ${config.client === 'wrk' ? '`wrk -t1`' : 'autocannon'}, ${config.connections} connections, ${config.duration} s measured after ${config.warmup} s of warm-up, ${config.rounds} rounds per kind; in each round every app back to back, the order rotated; all feed rounds first (on the seeded data), then the post rounds. Posts: multipart as a browser sends the form (token, text, an empty file part), rotating over the 3 users. Before every measurement each user logs in again and fetches the form's token: the load client replays the cookie it was given, where a browser keeps the one a session renewal sends (the demo rolls its session forward once a tenth of the 30-minute idle timeout has passed; replaying an older cookie makes every request a renewal). Every response checked: only 200 (feed) or 303 (post), no errors, no timeouts; rows added match the 303s. gunicorn's sync workers close the connection after each response: the client reconnects (as a browser would). ${config.client === 'wrk' ? 'wrk (one thread) runs on the same 2 cores as the servers; autocannon, a JavaScript client, spends ~50 µs of CPU per 10 KB response there and held the 2-worker demo near 15,000 req/s whatever the server cost (`BENCH_CLIENT=autocannon` measures with it).' : 'autocannon runs on the same 2 cores as the servers.'}
- req/s: the median over rounds (min–max); × Flask: the median of per-round ratios. Server CPU µs/req: user + system CPU of the server's processes (the demo's one, or the cluster's primary and workers; gunicorn's master and workers) during the measured run, per request; the CPU-cost ratio (Flask µs/req ÷ demo µs/req) is what the req/s ratio would be with the CPU to themselves, and is less sensitive to the client and other load sharing the machine.

| Route | App | req/s | × Flask req/s | server CPU µs/req | CPU-cost ratio | p99 latency ms |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

Target (issue 7): at least ${TARGET}× the Flask anchor.

${verdicts.join('\n')}
${failures.length > 0 ? `\nFAILED checks: ${failures.join('; ')}\n` : ''}`;
  console.log(`\n${text}`);
  if (isDefault && failures.length === 0) {
    writeResults(DEMO_MARKERS, text);
    console.log('Written to bench/RESULTS.md.');
  } else {
    console.log(`Not written to bench/RESULTS.md: ${failures.length > 0 ? 'checks failed' : 'not the default settings'}.`);
  }
}

await main();
