// The security-headers benchmark: `npm run bench` (builds first) or `node bench/headers.mjs`.
//
// Serves the same ~200-byte HTML page through 13 servers (bare node:http, node:http with
// rampart's headers as one precomputed block, helmet, rampart; Express, Fastify and Hono
// bare, with their usual security-headers package, and with rampart), measures each with
// wrk in a fresh server process, in several interleaved rounds, and reports medians of
// requests/s and of per-round ratios to each group's baseline. Ratios measured in the same
// round are the result; absolute requests/s depend on the machine.
//
// Environment: BENCH_ROUNDS (default 5), BENCH_DURATION (seconds per measurement, default 5),
// BENCH_WARMUP (seconds of unmeasured load before each measurement, default 2),
// BENCH_CONNECTIONS (default 50), BENCH_GROUPS (e.g. `express,hono`: measure only those
// groups, print, and leave RESULTS.md alone). Defaults take about 8 minutes on 2 cores.
// A full run writes its results into bench/RESULTS.md between this benchmark's markers.

import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXED_NONCE, page, VARIANT_NAMES } from './servers/headers-server.mjs';

const SERVER_SCRIPT = fileURLToPath(new URL('./servers/headers-server.mjs', import.meta.url));
const RESULTS_FILE = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const START_MARKER = '<!-- bench/headers.mjs: start (generated, do not edit by hand) -->';
const END_MARKER = '<!-- bench/headers.mjs: end -->';

const config = {
  rounds: positiveInteger('BENCH_ROUNDS', 5),
  duration: positiveInteger('BENCH_DURATION', 5),
  warmup: positiveInteger('BENCH_WARMUP', 2, { allowZero: true }),
  connections: positiveInteger('BENCH_CONNECTIONS', 50),
};

/**
 * The groups of the report. Each variant's ratios are taken against the baselines of its
 * group, measured in the same round.
 */
const GROUPS = [
  {
    id: 'node',
    title: 'node:http',
    baselines: ['node-fixed', 'node-bare'],
    // Target: rampart cheaper than helmet, both relative to the fixed block.
    compare: ['node-rampart', 'node-helmet', 'node-fixed'],
    // (Each group's `compare`: rampart, the package it should cost less than, the baseline.)
    rows: [
      ['node-bare', 'bare `writeHead` + `end`, no security headers'],
      ['node-fixed', "rampart's HTML header set, fixed nonce, precomputed flat array, one `writeHead` (the limit)"],
      ['node-helmet', '`helmet()` defaults as middleware, then the bare handler'],
      ['node-rampart', '`rampartNode(security, handler)`, per-request nonce in the page'],
    ],
  },
  {
    id: 'express',
    title: 'Express 5',
    baselines: ['express-bare'],
    compare: ['express-rampart', 'express-helmet', 'express-bare'],
    rows: [
      ['express-bare', '`res.type(\'html\').send(page)` (Express defaults: X-Powered-By, ETag)'],
      ['express-helmet', '`app.use(helmet())`'],
      ['express-rampart', '`app.use(rampartExpress(security))`, per-request nonce'],
    ],
  },
  {
    id: 'fastify',
    title: 'Fastify 5',
    baselines: ['fastify-bare'],
    compare: ['fastify-rampart', 'fastify-helmet', 'fastify-bare'],
    rows: [
      ['fastify-bare', "`reply.type('text/html; charset=utf-8').send(page)`, `logger: false`"],
      ['fastify-helmet', '`app.register(fastifyHelmet)` (default options)'],
      ['fastify-rampart', '`app.register(rampartFastify(security))`, per-request nonce'],
    ],
  },
  {
    id: 'hono',
    title: 'Hono 4 (@hono/node-server)',
    baselines: ['hono-bare'],
    compare: ['hono-rampart-node', 'hono-secureheaders', 'hono-bare'],
    rows: [
      ['hono-bare', '`c.html(page)`'],
      ['hono-secureheaders', "`app.use(secureHeaders())` from 'hono/secure-headers'"],
      ['hono-rampart', '`app.use(rampartHono(security))` (the portable middleware), per-request nonce'],
      ['hono-rampart-node', '`app.use(rampartHonoNode(security))` (rampart/adapters/hono-node), per-request nonce'],
    ],
  },
];

/**
 * BENCH_GROUPS=express,hono measures only those groups (for profiling work); the
 * results are printed but RESULTS.md is only written by a run of every group.
 */
const SELECTED_GROUPS = (() => {
  const raw = process.env.BENCH_GROUPS;
  if (!raw) return GROUPS;
  const ids = raw.split(',').map((id) => id.trim());
  const unknown = ids.filter((id) => !GROUPS.some((group) => group.id === id));
  if (unknown.length > 0) fail(`BENCH_GROUPS: unknown group ${unknown.join(', ')}; use ${GROUPS.map((group) => group.id).join(', ')}.`);
  return GROUPS.filter((group) => ids.includes(group.id));
})();
const MEASURED = SELECTED_GROUPS.flatMap((group) => group.rows.map(([variant]) => variant));

function positiveInteger(name, fallback, { allowZero = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) fail(`${name} must be a whole number${allowZero ? '' : ' above 0'}, got ${JSON.stringify(raw)}.`);
  return value;
}

function fail(message) {
  console.error(`\nbench: ${message}`);
  process.exit(1);
}

function hasCommand(command, args) {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch (error) {
    // `wrk -v` exits with 1 but exists; only a missing binary is ENOENT.
    return error.code !== 'ENOENT';
  }
}

// Server on core 0, wrk on core 1, when the machine has two cores and taskset (util-linux).
const PIN = availableParallelism() >= 2 && hasCommand('taskset', ['-V']);
function pinned(core, command, args) {
  return PIN ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

// ---------------------------------------------------------------------------
// Servers

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds (user + system, all threads) a process has used so far, from
 * /proc/<pid>/stat; undefined where there is no /proc. It is the second, less
 * contention-sensitive measure: on a busy machine req/s drops when the server waits
 * for a core, CPU time per request much less.
 */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Server processes still running, killed if the benchmark stops early. */
const LIVE_SERVERS = new Set();
process.on('exit', () => {
  for (const child of LIVE_SERVERS) child.kill('SIGKILL');
});

/** Starts a fresh server process for `variant`; resolves once it prints its port. */
function startServer(variant) {
  const [command, args] = pinned(0, process.execPath, [SERVER_SCRIPT, variant]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
  LIVE_SERVERS.add(child);
  child.on('exit', () => LIVE_SERVERS.delete(child));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${variant}: the server did not start within 20 s.\n${stderr}`));
    }, 20_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      const { port } = JSON.parse(line);
      resolve({ variant, port, child, stderr: () => stderr });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${variant}: the server exited (${signal ?? code}) before listening.\n${stderr}`));
    });
  });
}

async function stopServer(server) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    throw new Error(`${server.variant}: the server died during the measurement.\n${server.stderr()}`);
  }
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000).then(() => server.child.kill('SIGKILL'))]);
}

// ---------------------------------------------------------------------------
// Verification: every variant sends what it claims, before anything is measured.

/** One GET on a fresh connection: status, lowercase headers, body, and bytes on the wire. */
function get(port) {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path: '/', agent: false, headers: { connection: 'close' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body, wireBytes: response.socket.bytesRead }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

function nonceInBody(body) {
  return /<script nonce="([^"]*)">/.exec(body)?.[1];
}

/**
 * Checks one variant; returns the names of the headers it sends and its response size.
 * `rampartHeaders`: the headers node-fixed sends beyond node-bare, i.e. rampart's set.
 */
async function verifyVariant(variant, port, rampartHeaders) {
  const first = await get(port);
  const second = await get(port);
  const problems = [];
  const expect = (condition, message) => {
    if (!condition) problems.push(message);
  };
  for (const response of [first, second]) {
    expect(response.status === 200, `status ${response.status}, expected 200`);
    expect(/^text\/html/.test(response.headers['content-type'] ?? ''), `content-type ${response.headers['content-type']}`);
    expect(response.body.length >= 150 && response.body.length <= 260, `body is ${response.body.length} bytes, expected about 200`);
  }
  const nonce = nonceInBody(first.body);
  const csp = first.headers['content-security-policy'];
  const kind = variant.split('-')[1];

  if (kind === 'rampart') {
    expect(nonce && nonce !== FIXED_NONCE, 'the page does not carry a per-request nonce');
    expect(first.body === page(nonce), 'the body is not the benchmark page');
    expect(nonceInBody(second.body) !== nonce, 'two requests got the same nonce');
    expect(csp?.includes(`'nonce-${nonce}'`), `Content-Security-Policy lacks the page's nonce: ${csp}`);
    expect(!('x-powered-by' in first.headers), 'X-Powered-By is still sent');
    for (const name of rampartHeaders) expect(name in first.headers, `missing ${name}`);
  } else {
    expect(first.body === page(FIXED_NONCE), 'the body is not the benchmark page');
  }
  if (kind === 'fixed') {
    expect(csp?.includes(`'nonce-${FIXED_NONCE}'`), `Content-Security-Policy lacks the fixed nonce: ${csp}`);
  }
  if (kind === 'helmet') {
    expect(csp?.startsWith("default-src 'self'"), `helmet's default Content-Security-Policy is missing: ${csp}`);
    expect(first.headers['x-content-type-options'] === 'nosniff', 'X-Content-Type-Options is missing');
  }
  if (kind === 'secureheaders') {
    // Hono's secureHeaders() sends no CSP unless configured; check its other defaults.
    expect(first.headers['x-frame-options'] === 'SAMEORIGIN', 'X-Frame-Options: SAMEORIGIN is missing');
    expect(first.headers['x-content-type-options'] === 'nosniff', 'X-Content-Type-Options is missing');
    expect('strict-transport-security' in first.headers, 'Strict-Transport-Security is missing');
  }
  if (kind === 'bare') {
    expect(csp === undefined, 'a bare variant sends a Content-Security-Policy');
  }
  if (problems.length > 0) throw new Error(`${variant} failed verification:\n  - ${[...new Set(problems)].join('\n  - ')}`);
  return { headers: Object.keys(first.headers), wireBytes: first.wireBytes, bodyBytes: Buffer.byteLength(first.body) };
}

async function verifyAll() {
  const facts = {};
  // node-bare and node-fixed first: what node-fixed sends beyond node-bare is rampart's
  // header set, which every rampart variant must send too.
  const order = ['node-bare', 'node-fixed', ...VARIANT_NAMES.filter((name) => name !== 'node-bare' && name !== 'node-fixed')];
  let rampartHeaders = [];
  for (const variant of order) {
    const server = await startServer(variant);
    try {
      facts[variant] = await verifyVariant(variant, server.port, rampartHeaders);
    } finally {
      await stopServer(server);
    }
    if (variant === 'node-fixed') rampartHeaders = facts[variant].headers.filter((name) => !facts['node-bare'].headers.includes(name));
    const { headers, wireBytes, bodyBytes } = facts[variant];
    console.log(`  ok  ${variant.padEnd(19)} ${String(headers.length).padStart(2)} headers, ${wireBytes} bytes on the wire (body ${bodyBytes})`);
  }
  return facts;
}

// ---------------------------------------------------------------------------
// Measurement

function runWrk(port, seconds) {
  const [command, args] = pinned(1, 'wrk', ['-t1', `-c${config.connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
      const requests = Number(/(\d+) requests in/.exec(output)?.[1]);
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const socketErrors = /Socket errors:.*/.exec(output)?.[0];
      if (code !== 0 || !Number.isFinite(rps)) reject(new Error(`wrk failed (exit ${code}):\n${output}`));
      else if (non2xx > 0) reject(new Error(`wrk saw ${non2xx} non-2xx responses:\n${output}`));
      else resolve({ rps, requests, socketErrors });
    });
  });
}

async function measure(variant) {
  const server = await startServer(variant);
  try {
    if (config.warmup > 0) await runWrk(server.port, config.warmup);
    const cpuBefore = cpuSeconds(server.child.pid);
    const result = await runWrk(server.port, config.duration);
    const cpuAfter = cpuSeconds(server.child.pid);
    if (result.socketErrors) console.warn(`  (${variant}: wrk ${result.socketErrors})`);
    // Server CPU microseconds per request served (NaN without /proc).
    const cpuPerRequest = cpuBefore === undefined || cpuAfter === undefined ? NaN : ((cpuAfter - cpuBefore) * 1e6) / result.requests;
    return { rps: result.rps, cpu: cpuPerRequest };
  } finally {
    await stopServer(server);
  }
}

function rotate(list, shift) {
  const start = shift % list.length;
  return [...list.slice(start), ...list.slice(0, start)];
}

/**
 * The order of one round: every variant once. A group's variants run back to back, so
 * each ratio compares measurements taken within a minute of each other (background
 * load drifts); the order of the groups and the order inside each group rotate from
 * round to round, so no variant always runs first, last, or after the same neighbour.
 */
function roundOrder(round) {
  return rotate(SELECTED_GROUPS, round).flatMap((group) => rotate(group.rows.map(([variant]) => variant), round));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// ---------------------------------------------------------------------------
// Report

function spread(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Per variant: req/s and CPU µs/request over the rounds, and per baseline of its group
 * the per-round ratios, of req/s (variant / baseline) and of CPU cost (baseline CPU per
 * request / variant CPU per request: the throughput ratio a saturated core would give).
 */
function summarize(rounds) {
  const stats = {};
  for (const variant of MEASURED) {
    stats[variant] = {
      rps: spread(rounds.map((round) => round[variant].rps)),
      cpu: spread(rounds.map((round) => round[variant].cpu)),
      ratios: {},
      cpuRatios: {},
    };
  }
  for (const group of SELECTED_GROUPS) {
    for (const [variant] of group.rows) {
      for (const baseline of group.baselines) {
        stats[variant].ratios[baseline] = spread(rounds.map((round) => round[variant].rps / round[baseline].rps));
        stats[variant].cpuRatios[baseline] = spread(rounds.map((round) => round[baseline].cpu / round[variant].cpu));
      }
    }
  }
  return stats;
}

const formatRps = (value) => Math.round(value).toLocaleString('en-US');
const formatRatio = (ratio) => `**${ratio.median.toFixed(2)}×** (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`;

function ratioCell(ratios, variant, baseline) {
  if (!ratios[baseline]) return '';
  return variant === baseline ? '1' : formatRatio(ratios[baseline]);
}

function table(stats, facts) {
  const lines = [
    '| Variant | What it does | req/s, median (min–max) | req/s × framework bare | req/s × node fixed block | server CPU µs/req | CPU-cost ratio × bare | CPU-cost ratio × fixed | response bytes |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const group of SELECTED_GROUPS) {
    lines.push(`| **${group.title}** | | | | | | | | |`);
    const bare = group.baselines.find((name) => name.endsWith('-bare'));
    for (const [variant, description] of group.rows) {
      const { rps, cpu, ratios, cpuRatios } = stats[variant];
      lines.push(
        `| \`${variant}\` | ${description} | ${formatRps(rps.median)} (${formatRps(rps.min)}–${formatRps(rps.max)}) | ` +
          `${ratioCell(ratios, variant, bare)} | ${ratioCell(ratios, variant, 'node-fixed')} | ` +
          `${cpu.median.toFixed(1)} | ${ratioCell(cpuRatios, variant, bare)} | ${ratioCell(cpuRatios, variant, 'node-fixed')} | ${facts[variant].wireBytes} |`,
      );
    }
  }
  return lines.join('\n');
}

/** The targets, judged on the req/s ratios; the CPU-cost ratios are given beside them. */
function targets(stats) {
  const lines = [];
  const node = stats['node-rampart'];
  if (node) {
    const nodeRatio = node.ratios['node-fixed'].median;
    lines.push(
      `- ${nodeRatio >= 0.95 ? 'MET' : 'MISSED'}: rampart on node:http at least 0.95× the fixed block: **${nodeRatio.toFixed(2)}×** req/s ` +
        `(CPU-cost ratio ${node.cpuRatios['node-fixed'].median.toFixed(2)}×).`,
    );
  }
  for (const [ours, theirs, baseline] of SELECTED_GROUPS.map((group) => group.compare)) {
    const oursRatio = stats[ours].ratios[baseline].median;
    const theirsRatio = stats[theirs].ratios[baseline].median;
    const met = oursRatio > theirsRatio;
    lines.push(
      `- ${met ? 'MET' : 'MISSED'}: \`${ours}\` cheaper than \`${theirs}\`: **${oursRatio.toFixed(2)}×** vs ${theirsRatio.toFixed(2)}× of \`${baseline}\` req/s ` +
        `(CPU-cost ratios ${stats[ours].cpuRatios[baseline].median.toFixed(2)}× vs ${stats[theirs].cpuRatios[baseline].median.toFixed(2)}×).`,
    );
  }
  return lines.join('\n');
}

function commandLine() {
  const settings = ['BENCH_ROUNDS', 'BENCH_DURATION', 'BENCH_WARMUP', 'BENCH_CONNECTIONS']
    .filter((name) => process.env[name])
    .map((name) => `${name}=${process.env[name]}`);
  const base = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node bench/headers.mjs';
  return [...settings, base].join(' ');
}

/** The commit measured, with a mark when src/ differs from it; undefined outside a git checkout. */
function sourceVersion() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return changed ? `${commit} with uncommitted changes in src/` : commit;
  } catch {
    return undefined;
  }
}

function loadAverage() {
  return loadavg()[0].toFixed(2);
}

function machine() {
  const wrkVersion = (() => {
    try {
      return execFileSync('wrk', ['-v'], { encoding: 'utf8' });
    } catch (error) {
      return String(error.stdout ?? '');
    }
  })().split('\n')[0].trim();
  const cpuModel = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    date: execFileSync('date', ['-u'], { encoding: 'utf8' }).trim(),
    cpuModel,
    cores: availableParallelism(),
    wrkVersion,
    loadStart: loadAverage(),
    source: sourceVersion() ?? 'unknown (not a git checkout)',
  };
}

function report(stats, facts, host, started) {
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  return `${START_MARKER}
## Security headers: a ~200-byte HTML page

\`\`\`
${commandLine()}
\`\`\`

- Date: ${host.date}; rampart at ${host.source}
- Node ${process.version}; ${host.wrkVersion}
- Machine: ${host.cores} cores (nproc), ${host.cpuModel}
- Method: a fresh server process per measurement${PIN ? ', pinned to core 0 with wrk on core 1 (taskset)' : ' (not pinned: no taskset or a single core)'}; \`wrk -t1 -c${config.connections} -d${config.duration}s\` after a ${config.warmup} s warmup; ${config.rounds} rounds, each measuring every variant once, a group's variants back to back, group order and order within groups rotated every round (${minutes} min in all).
- req/s: the median over rounds (min–max). Ratios: the median (min–max) of per-round ratios to that round's baseline.
- Server CPU µs/req: user + system CPU time of the server process (all threads, from /proc) during the measured run, divided by the requests wrk completed; the CPU-cost ratio is baseline µs/req ÷ variant µs/req (the req/s ratio a fully saturated core would give). It is less sensitive to other load on the machine than req/s.
- Load average (1 min) at start and end: ${host.loadStart} / ${loadAverage()}.
- Response bytes: status line, headers and body of one response, as sent.

${table(stats, facts)}

Targets:

${targets(stats)}
${END_MARKER}`;
}

/** Replaces this benchmark's section of RESULTS.md, keeping anything written around it. */
function writeResults(section) {
  const existing = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '# Benchmark results\n\nLatest figures; each section says the command that produced it.\n\n';
  const start = existing.indexOf(START_MARKER);
  const end = existing.indexOf(END_MARKER);
  const updated =
    start !== -1 && end > start
      ? existing.slice(0, start) + section + existing.slice(end + END_MARKER.length)
      : `${existing.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS_FILE, updated);
}

// ---------------------------------------------------------------------------

async function main() {
  if (!hasCommand('wrk', ['-v'])) fail('wrk is not installed (Debian/Ubuntu: apt-get install wrk).');
  const started = Date.now();
  const host = machine();
  console.log(`bench: ${MEASURED.length} variants, ${config.rounds} rounds of ${config.warmup} s warmup + ${config.duration} s, ${config.connections} connections${PIN ? ', server on core 0, wrk on core 1' : ''}`);
  console.log('Verifying every variant:');
  const facts = await verifyAll();

  const rounds = [];
  for (let round = 0; round < config.rounds; round++) {
    console.log(`Round ${round + 1}/${config.rounds}:`);
    const results = {};
    for (const variant of roundOrder(round)) {
      results[variant] = await measure(variant);
      const { rps, cpu } = results[variant];
      console.log(`  ${variant.padEnd(19)} ${formatRps(rps).padStart(8)} req/s  ${cpu.toFixed(1).padStart(6)} µs CPU/request`);
    }
    rounds.push(results);
  }

  const stats = summarize(rounds);
  const section = report(stats, facts, host, started);
  console.log(`\n${section.split('\n').slice(1, -1).join('\n')}\n`);
  if (SELECTED_GROUPS.length === GROUPS.length) {
    writeResults(section);
    console.log(`Written to ${RESULTS_FILE}.`);
  } else {
    console.log(`Not written to ${RESULTS_FILE}: BENCH_GROUPS measured only part of the benchmark.`);
  }
}

main().catch((error) => fail(error.stack ?? String(error)));
