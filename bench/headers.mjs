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
// BENCH_CONNECTIONS (default 50). Defaults take about 8.5 minutes on 2 cores.
// Writes the results into bench/RESULTS.md between the headers-benchmark markers.

import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, cpus } from 'node:os';
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
    title: 'node:http',
    baselines: ['node-fixed', 'node-bare'],
    rows: [
      ['node-bare', 'bare `writeHead` + `end`, no security headers'],
      ['node-fixed', "rampart's HTML header set, fixed nonce, precomputed flat array, one `writeHead` (the limit)"],
      ['node-helmet', '`helmet()` defaults as middleware, then the bare handler'],
      ['node-rampart', '`rampartNode(security, handler)`, per-request nonce in the page'],
    ],
  },
  {
    title: 'Express 5',
    baselines: ['express-bare'],
    rows: [
      ['express-bare', '`res.type(\'html\').send(page)` (Express defaults: X-Powered-By, ETag)'],
      ['express-helmet', '`app.use(helmet())`'],
      ['express-rampart', '`app.use(rampartExpress(security))`, per-request nonce'],
    ],
  },
  {
    title: 'Fastify 5',
    baselines: ['fastify-bare'],
    rows: [
      ['fastify-bare', "`reply.type('text/html; charset=utf-8').send(page)`, `logger: false`"],
      ['fastify-helmet', '`app.register(fastifyHelmet)` (default options)'],
      ['fastify-rampart', '`app.register(rampartFastify(security))`, per-request nonce'],
    ],
  },
  {
    title: 'Hono 4 (@hono/node-server)',
    baselines: ['hono-bare'],
    rows: [
      ['hono-bare', '`c.html(page)`'],
      ['hono-secureheaders', "`app.use(secureHeaders())` from 'hono/secure-headers'"],
      ['hono-rampart', '`app.use(rampartHono(security))`, per-request nonce'],
    ],
  },
];

/** Each framework's security-headers package, which rampart should cost less than. */
const COMPETITORS = [
  ['node-rampart', 'node-helmet', 'node-fixed'],
  ['express-rampart', 'express-helmet', 'express-bare'],
  ['fastify-rampart', 'fastify-helmet', 'fastify-bare'],
  ['hono-rampart', 'hono-secureheaders', 'hono-bare'],
];

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

/** Starts a fresh server process for `variant`; resolves once it prints its port. */
function startServer(variant) {
  const [command, args] = pinned(0, process.execPath, [SERVER_SCRIPT, variant]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
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
 * `rampartHeaders` is the header set of node-fixed (rampart's, asked from rampart).
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
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const socketErrors = /Socket errors:.*/.exec(output)?.[0];
      if (code !== 0 || !Number.isFinite(rps)) reject(new Error(`wrk failed (exit ${code}):\n${output}`));
      else if (non2xx > 0) reject(new Error(`wrk saw ${non2xx} non-2xx responses:\n${output}`));
      else resolve({ rps, socketErrors });
    });
  });
}

async function measure(variant) {
  const server = await startServer(variant);
  try {
    if (config.warmup > 0) await runWrk(server.port, config.warmup);
    const result = await runWrk(server.port, config.duration);
    if (result.socketErrors) console.warn(`  (${variant}: wrk ${result.socketErrors})`);
    return result.rps;
  } finally {
    await stopServer(server);
  }
}

/** The variants rotated so that each round starts elsewhere: no variant always runs first or last. */
function roundOrder(round) {
  const shift = Math.floor((round * VARIANT_NAMES.length) / config.rounds);
  return [...VARIANT_NAMES.slice(shift), ...VARIANT_NAMES.slice(0, shift)];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// ---------------------------------------------------------------------------
// Report

function summarize(rounds) {
  const stats = {};
  for (const variant of VARIANT_NAMES) {
    const series = rounds.map((round) => round[variant]);
    stats[variant] = { median: median(series), min: Math.min(...series), max: Math.max(...series), ratios: {} };
  }
  for (const group of GROUPS) {
    for (const [variant] of group.rows) {
      for (const baseline of group.baselines) {
        const ratios = rounds.map((round) => round[variant] / round[baseline]);
        stats[variant].ratios[baseline] = { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
      }
    }
  }
  return stats;
}

const formatRps = (value) => Math.round(value).toLocaleString('en-US');
const formatRatio = (ratio) => `**${ratio.median.toFixed(2)}×** (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`;

function table(stats, facts) {
  const lines = [
    '| Variant | What it does | req/s, median (min–max) | × framework bare | × node fixed block | response bytes |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const group of GROUPS) {
    lines.push(`| **${group.title}** | | | | | |`);
    const bare = group.baselines.find((name) => name.endsWith('-bare'));
    for (const [variant, description] of group.rows) {
      const { median: rps, min, max, ratios } = stats[variant];
      const versusBare = variant === bare ? '1' : formatRatio(ratios[bare]);
      const versusFixed = ratios['node-fixed'] ? (variant === 'node-fixed' ? '1' : formatRatio(ratios['node-fixed'])) : '';
      lines.push(`| \`${variant}\` | ${description} | ${formatRps(rps)} (${formatRps(min)}–${formatRps(max)}) | ${versusBare} | ${versusFixed} | ${facts[variant].wireBytes} |`);
    }
  }
  return lines.join('\n');
}

function targets(stats) {
  const lines = [];
  const nodeRatio = stats['node-rampart'].ratios['node-fixed'].median;
  lines.push(`- ${nodeRatio >= 0.95 ? 'MET' : 'MISSED'}: rampart on node:http at least 0.95× the fixed block: **${nodeRatio.toFixed(2)}×**.`);
  for (const [ours, theirs, baseline] of COMPETITORS) {
    const oursRatio = stats[ours].ratios[baseline].median;
    const theirsRatio = stats[theirs].ratios[baseline].median;
    const met = oursRatio > theirsRatio;
    lines.push(`- ${met ? 'MET' : 'MISSED'}: \`${ours}\` cheaper than \`${theirs}\`: **${oursRatio.toFixed(2)}×** vs ${theirsRatio.toFixed(2)}× of \`${baseline}\`.`);
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

function machine() {
  const wrkVersion = (() => {
    try {
      return execFileSync('wrk', ['-v'], { encoding: 'utf8' });
    } catch (error) {
      return String(error.stdout ?? '');
    }
  })().split('\n')[0].trim();
  const cpuModel = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return { date: execFileSync('date', ['-u'], { encoding: 'utf8' }).trim(), cpuModel, cores: availableParallelism(), wrkVersion };
}

function report(stats, facts, host, started) {
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  return `${START_MARKER}
## Security headers: a ~200-byte HTML page

\`\`\`
${commandLine()}
\`\`\`

- Date: ${host.date}
- Node ${process.version}; ${host.wrkVersion}
- Machine: ${host.cores} cores (nproc), ${host.cpuModel}
- Method: a fresh server process per measurement${PIN ? ', pinned to core 0 with wrk on core 1 (taskset)' : ' (not pinned: no taskset or a single core)'}; \`wrk -t1 -c${config.connections} -d${config.duration}s\` after a ${config.warmup} s warmup; ${config.rounds} interleaved rounds in rotated order (${minutes} min in all).
- req/s: the median over rounds (min–max). Ratios: the median (min–max) of per-round ratios to that round's baseline.
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
  console.log(`bench: ${VARIANT_NAMES.length} variants, ${config.rounds} rounds of ${config.warmup} s warmup + ${config.duration} s, ${config.connections} connections${PIN ? ', server on core 0, wrk on core 1' : ''}`);
  console.log('Verifying every variant:');
  const facts = await verifyAll();

  const rounds = [];
  for (let round = 0; round < config.rounds; round++) {
    console.log(`Round ${round + 1}/${config.rounds}:`);
    const results = {};
    for (const variant of roundOrder(round)) {
      results[variant] = await measure(variant);
      console.log(`  ${variant.padEnd(19)} ${formatRps(results[variant]).padStart(8)} req/s`);
    }
    rounds.push(results);
  }

  const stats = summarize(rounds);
  const section = report(stats, facts, host, started);
  writeResults(section);
  console.log(`\n${section.split('\n').slice(1, -1).join('\n')}\n\nWritten to ${RESULTS_FILE}.`);
}

main().catch((error) => fail(error.stack ?? String(error)));
