// Time to audit one URL: `rampart audit` against MDN HTTP Observatory 1.4.8 on the same
// target, in one run. Both are run as their command lines (a process each time, as in CI),
// interleaved, against the reference app (Express) on loopback over plain HTTP.
//
//   npm run build && bench/anchors/observatory/setup.sh && node bench/audit.mjs
//
// BENCH_ROUNDS (default 7). Writes its section of bench/RESULTS.md.

import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const OBSERVATORY = join(root, 'bench/anchors/observatory/node_modules/@mdn/mdn-http-observatory/src/scan.js');
const CLI = join(root, 'dist/cli/index.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const RESULTS = join(root, 'bench/RESULTS.md');

if (!existsSync(OBSERVATORY)) {
  console.error('MDN HTTP Observatory 1.4.8 is not installed: run bench/anchors/observatory/setup.sh first.');
  process.exit(1);
}
if (!existsSync(CLI)) {
  console.error('dist/ is missing: run npm run build first.');
  process.exit(1);
}

// The target runs in a child process: the commands are timed with spawnSync, which blocks this one.
const uploads = mkdtempSync(join(tmpdir(), 'rampart-bench-audit-'));
const child = fork(new URL('./audit-target.mjs', import.meta.url), [uploads], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const targetPort = await new Promise((resolve) => child.once('message', resolve));
const target = `127.0.0.1:${targetPort}`;

const runs = {
  observatory: () => spawnSync(process.execPath, [OBSERVATORY, target], { encoding: 'utf8' }),
  passive: () => spawnSync(process.execPath, [CLI, 'audit', `http://${target}/`, '--format', 'json', '--fail-on', 'none', '--rate', '1000', '--no-progress'], { encoding: 'utf8' }),
  active: () => spawnSync(process.execPath, [CLI, 'audit', `http://${target}/`, '--active', '--format', 'json', '--fail-on', 'none', '--rate', '1000', '--no-progress'], { encoding: 'utf8' }),
};
const times = { observatory: [], passive: [], active: [] };
const requests = { observatory: 5, passive: 0, active: 0 };
const load = loadavg()[0];
for (let round = 0; round < ROUNDS + 1; round++) {
  const order = Object.keys(runs);
  for (let shift = 0; shift < round % order.length; shift++) order.push(order.shift());
  for (const name of order) {
    const started = performance.now();
    const result = runs[name]();
    const elapsed = performance.now() - started;
    if (result.status !== 0) {
      console.error(`${name} failed (${result.status}): ${result.stderr}`);
      process.exit(1);
    }
    if (name !== 'observatory') requests[name] = JSON.parse(result.stdout).exchanges.length;
    else JSON.parse(result.stdout);
    // The first round warms the disk cache: not counted.
    if (round > 0) times[name].push(elapsed);
  }
  process.stdout.write(`round ${round}/${ROUNDS}\r`);
}
child.kill();
rmSync(uploads, { recursive: true, force: true });

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const ratios = (name) => times[name].map((time, index) => time / times.observatory[index]);
const rows = [
  ['MDN HTTP Observatory 1.4.8 (`src/scan.js`)', 'observatory', '5 (both schemes, robots.txt, preflight, auto)'],
  ['`rampart audit` (passive)', 'passive', String(requests.passive)],
  ['`rampart audit --active`', 'active', String(requests.active)],
];
const table = [
  '| command | wall time per URL, ms (median) | × Observatory (median of per-round ratios) | requests sent |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map(([label, name, sent]) => `| ${label} | ${median(times[name]).toFixed(0)} | ${name === 'observatory' ? '1' : `**${median(ratios(name)).toFixed(2)}×**`} | ${sent} |`),
].join('\n');
const section = `<!-- bench/audit.mjs: start (generated, do not edit by hand) -->
## Auditor: time to audit one URL

\`\`\`
npm run build && bench/anchors/observatory/setup.sh && node bench/audit.mjs
\`\`\`

- Date: ${new Date().toUTCString()}; Node ${process.version}; ${cpus().length} cores; load average (1 min) ${load.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end.
- Target: the reference app (Express) on loopback over plain HTTP, in its own process. Each command is run as a process, as CI runs it (Node start-up included), ${ROUNDS} interleaved rounds after one warm-up round, the order rotated.
- Observatory 1.4.8 sends about five requests and checks headers only; \`rampart audit\` also crawls the site's links and an error page, and with \`--active\` probes XSS, CSRF and traversal.

${table}
<!-- bench/audit.mjs: end -->`;
console.log(`\n${table}`);
const current = readFileSync(RESULTS, 'utf8');
const pattern = /<!-- bench\/audit\.mjs: start[\s\S]*?<!-- bench\/audit\.mjs: end -->/;
writeFileSync(RESULTS, pattern.test(current) ? current.replace(pattern, section) : `${current.trimEnd()}\n\n${section}\n`);
