// Where the demo's time goes: `npm run build && node bench/demo-profile.mjs [feed|post]`.
//
// Starts the demo (production mode, temporary DATA_DIR) under `node --cpu-prof`, seeds it
// as bench/demo.mjs does, loads one route with autocannon (default: the feed page as a
// logged-in user; `post`: status posts), stops it, and prints from the V8 CPU profile the
// share of the server's busy time by part (rampart, npm dependencies,
// better-sqlite3, the demo's own code, Node internals, GC) and the functions with the most
// self time. The .cpuprofile is kept (its path is printed) for Chrome DevTools or speedscope.
//
// Environment: PROFILE_DURATION (seconds, default 10), PROFILE_CONNECTIONS (default 32),
// PROFILE_WORKERS (default 0: one process; 2: the demo on node:cluster with 2 workers, every
// process profiled and the profiles added up).

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MULTIPART_TYPE, ROOT, cannon, freePort, requireBuild, seed, startDemo, statusBody } from './demo-lib.mjs';

const kind = process.argv[2] ?? 'feed';
if (!['feed', 'anonymous', 'post'].includes(kind)) {
  console.error('usage: node bench/demo-profile.mjs [feed|anonymous|post]');
  process.exit(2);
}
const duration = Number(process.env.PROFILE_DURATION ?? 10);
const connections = Number(process.env.PROFILE_CONNECTIONS ?? 32);
const workers = Number(process.env.PROFILE_WORKERS ?? 0);

requireBuild();
const { generateKey } = await import('rampart');
const dataDir = mkdtempSync(join(tmpdir(), 'feed-profile-'));
const profileDir = mkdtempSync(join(tmpdir(), 'feed-cpuprofile-'));
const server = await startDemo({ dataDir, port: await freePort(), keys: generateKey(), workers, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] });
let result;
try {
  const clients = await seed(server);
  let sequence = 0;
  const requests =
    kind === 'feed'
      ? [{ method: 'GET', path: '/', headers: { cookie: clients[0].cookieHeader() } }]
      : kind === 'anonymous'
        ? [{ method: 'GET', path: '/' }]
        : [
          {
            method: 'POST',
            path: '/statuses',
            setupRequest(request) {
              const client = clients[sequence % clients.length];
              return {
                ...request,
                headers: { ...server.postHeaders, cookie: client.cookieHeader(), 'content-type': MULTIPART_TYPE },
                body: statusBody(client.postToken, `profile post ${sequence++}`),
              };
            },
          },
        ];
  result = await cannon({ url: server.url, connections, duration, requests });
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
const expected = kind === 'post' ? 303 : 200;
const served = result.statusCodeStats[expected]?.count ?? 0;
console.log(`${kind}: ${served} × ${expected} in ${result.duration.toFixed(1)} s (${Math.round(served / result.duration)} req/s); other: ${JSON.stringify(Object.fromEntries(Object.entries(result.statusCodeStats).filter(([c]) => Number(c) !== expected)))}, ${result.errors} errors`);

// One profile per process (the cluster's primary and workers each write theirs).
const files = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'));
if (files.length === 0) {
  console.error(`no .cpuprofile written in ${profileDir}`);
  process.exit(1);
}

// Self time per call frame, from the samples and their time deltas, over every profile.
const self = [];
for (const file of files) {
  const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const times = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    times.set(id, (times.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  for (const [id, time] of times) self.push([byId.get(id).callFrame, time]);
}
const root = fileURLToPath(new URL('..', import.meta.url));
function part(frame) {
  const { url, functionName } = frame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8 / native (program)';
  if (!url) return `native: ${functionName || '(anonymous)'}`;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(join(ROOT, 'dist'))) return 'rampart (dist/)';
  if (path.startsWith(join(ROOT, 'demo'))) return 'demo/';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
  if (module) return module === 'better-sqlite3' ? 'better-sqlite3' : `npm: ${module}`;
  if (path.startsWith('node:')) return `node: ${path.slice(5).split('/')[0]}`;
  return relative(root, path);
}
const parts = new Map();
const functions = new Map();
let busy = 0;
let total = 0;
for (const [callFrame, time] of self) {
  total += time;
  const p = part(callFrame);
  if (p === 'idle') continue;
  busy += time;
  parts.set(p, (parts.get(p) ?? 0) + time);
  const where = callFrame.url ? `${callFrame.url.replace(`file://${ROOT}`, '').replace(/^\//, '')}:${callFrame.lineNumber + 1}` : '';
  const key = `${callFrame.functionName || '(anonymous)'} ${where}`;
  functions.set(key, (functions.get(key) ?? 0) + time);
}
const pct = (t) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
console.log(`\nprofile${files.length > 1 ? `s (${files.length} processes, added up)` : ''}: ${files.map((file) => join(profileDir, file)).join(', ')}`);
console.log(`busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s sampled; ${((busy / served) | 0)} µs of busy CPU per request (main threads)\n`);
console.log('By part (self time, share of busy time):');
for (const [name, time] of [...parts].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(time)}  ${name}`);
console.log('\nTop functions (self time):');
for (const [name, time] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${pct(time)}  ${name}`);
