// The status feed under load, across a restart and a crash: `npm run build && node bench/load.mjs`.
//
// Issue 7's load check, on the demo alone (production mode, its own keys and temporary DATA_DIR,
// seeded like bench/demo.mjs: 3 users, 200 statuses):
//
// 1. Load: autocannon, 64 connections for 30 s of mixed requests: 75 % reads (the feed as a
//    logged-in user, the feed anonymous, an older page of the feed, a user's page) and 25 %
//    status posts (multipart as a browser sends the form, each user's token fetched once,
//    a unique text per post). Zero errors: every read must be a 200 that is the page asked
//    for, every post a 303 to `/`; no connection error, no timeout.
// 2. Every acknowledged post (303) is there afterwards: read back through each user's pages
//    (`/u/<name>`, following the "Older statuses" links to the end) and in SQLite.
// 3. Restart (SIGTERM, then a new process on the same DATA_DIR and keys): every post still
//    there, the sessions and tokens issued before still valid (a post with the old token).
// 4. Crash in the middle of an upload: a 4 MiB attachment streamed slowly over a raw socket;
//    once part of it is on disk under `uploads/incoming/`, the server is SIGKILLed and started
//    again. Then: nothing left under `uploads/incoming/` (only the new process's empty folder),
//    every committed file has its status and every status's attachment its file, and every
//    acknowledged post survived the crash. A complete 4 MiB upload before the crash must
//    still be served after it.
// 5. A crash after an upload is committed but before its status is written (the window between
//    `files.receive` and `store.addStatus`): the state it leaves (a committed file and its
//    metadata, no status) is made by hand, the server restarted, and the file must be gone.
//
// Prints PASS/FAIL per check and exits 1 on any failure. Environment: LOAD_CONNECTIONS
// (default 64), LOAD_DURATION (seconds, default 30), LOAD_POST_SHARE (default 0.25),
// LOAD_UPLOAD_MIB (default 4). About 45 seconds with the defaults; a run with the defaults
// writes its results into bench/RESULTS.md (the `## Status feed` section).

import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import {
  BOUNDARY,
  LOAD_MARKERS,
  MULTIPART_TYPE,
  PNG,
  STATUSES,
  USERS,
  cannon,
  freePort,
  requireBuild,
  seed,
  startDemo,
  statusBody,
  versions,
  writeResults,
} from './demo-lib.mjs';

const DEFAULTS = { connections: 64, duration: 30, postShare: 0.25, uploadMiB: 4 };
const config = {
  connections: number('LOAD_CONNECTIONS', DEFAULTS.connections),
  duration: number('LOAD_DURATION', DEFAULTS.duration),
  postShare: number('LOAD_POST_SHARE', DEFAULTS.postShare),
  uploadMiB: number('LOAD_UPLOAD_MIB', DEFAULTS.uploadMiB),
};
const isDefault = Object.keys(DEFAULTS).every((key) => config[key] === DEFAULTS[key]);

function number(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0)) {
    console.error(`${name}: expected a positive number, got ${raw}`);
    process.exit(2);
  }
  return value;
}

const checks = [];
function check(name, ok, detail) {
  checks.push({ name, ok, detail });
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? `: ${detail}` : ''}`);
  return ok;
}

function openDb(dataDir) {
  return new Database(join(dataDir, 'feed.db'), { readonly: true, fileMustExist: true });
}

/** The sequence numbers of this run's load posts found in SQLite. */
function storedPosts(dataDir, run) {
  const db = openDb(dataDir);
  try {
    const rows = db.prepare('SELECT text FROM statuses WHERE text LIKE ?').all(`load ${run} #%`);
    return new Set(rows.map(({ text }) => Number(text.slice(text.indexOf('#') + 1))));
  } finally {
    db.close();
  }
}

function statusCount(dataDir) {
  const db = openDb(dataDir);
  try {
    return db.prepare('SELECT count(*) AS n FROM statuses').get().n;
  } finally {
    db.close();
  }
}

/** Every status's text on a user's pages, following "Older statuses" to the end. */
async function readBack(client, username) {
  const texts = [];
  let path = `/u/${username}`;
  let pages = 0;
  while (path) {
    const page = await client.request('GET', path);
    if (page.status !== 200) throw new Error(`GET ${path}: ${page.status}`);
    pages++;
    for (const match of page.text.matchAll(/<p class="text">([\s\S]*?)<\/p>/g)) texts.push(match[1]);
    path = /<a href="([^"]+)" rel="next">/.exec(page.text)?.[1]?.replace(/&amp;/g, '&');
  }
  return { texts, pages };
}

/** What is on disk under DATA_DIR/uploads: files being received, committed files and metadata. */
function uploadsOnDisk(dataDir) {
  const root = join(dataDir, 'uploads');
  const incoming = [];
  const incomingFolders = [];
  const committed = new Set();
  const metadata = new Set();
  const stray = [];
  if (!existsSync(root)) return { incoming, incomingFolders, committed, metadata, stray };
  for (const entry of readdirSync(root)) {
    const path = join(root, entry);
    if (entry === 'incoming') {
      for (const folder of readdirSync(path)) {
        incomingFolders.push(folder);
        const folderPath = join(path, folder);
        if (!statSync(folderPath).isDirectory()) {
          incoming.push({ name: folder, size: statSync(folderPath).size });
          continue;
        }
        for (const name of readdirSync(folderPath)) incoming.push({ name: `${folder}/${name}`, size: statSync(join(folderPath, name)).size });
      }
    } else if (/^[0-9a-f]{2}$/.test(entry) && statSync(path).isDirectory()) {
      for (const name of readdirSync(path)) {
        if (/^[0-9a-f]{32}$/.test(name)) committed.add(name);
        else if (/^[0-9a-f]{32}\.json$/.test(name)) metadata.add(name.slice(0, -5));
        else stray.push(`${entry}/${name}`);
      }
    } else {
      stray.push(entry);
    }
  }
  return { incoming, incomingFolders, committed, metadata, stray };
}

function attachmentIds(dataDir) {
  const db = openDb(dataDir);
  try {
    return new Set(db.prepare('SELECT attachment_id AS id FROM statuses WHERE attachment_id IS NOT NULL').all().map((row) => row.id));
  } finally {
    db.close();
  }
}

/** Checks that uploads/ holds exactly the files of the statuses, and nothing being received. */
function checkUploads(label, dataDir) {
  const disk = uploadsOnDisk(dataDir);
  const ids = attachmentIds(dataDir);
  check(
    `${label}: nothing left under uploads/incoming/`,
    disk.incoming.length === 0 && disk.incomingFolders.length <= 1,
    disk.incoming.length === 0 ? `${disk.incomingFolders.length} folder(s) (this process's, empty)` : disk.incoming.map((f) => `${f.name} (${f.size} B)`).join(', '),
  );
  const orphans = [...new Set([...disk.committed, ...disk.metadata])].filter((id) => !ids.has(id));
  check(`${label}: no committed file without a status`, orphans.length === 0 && disk.stray.length === 0, orphans.length || disk.stray.length ? `orphans: ${orphans.join(', ')} ${disk.stray.join(', ')}` : `${disk.committed.size} files, all referenced`);
  const missing = [...ids].filter((id) => !disk.committed.has(id) || !disk.metadata.has(id));
  check(`${label}: every status's attachment on disk`, missing.length === 0, missing.length ? `missing: ${missing.join(', ')}` : `${ids.size} attachments`);
  return disk;
}

/** Multipart parts before and after the file's bytes, the token first, as a browser sends the form. */
function uploadParts(token, text, filename, type) {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n${token}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${text}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="attachment"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  return { head, tail };
}

/** A PNG signature and header, then random bytes: `bytes` long in all. */
function bigImage(bytes) {
  const data = randomBytes(bytes);
  PNG.copy(data, 0, 0, 33);
  return data;
}

/**
 * Starts a slow upload over a raw socket and resolves once part of the file is on disk
 * under uploads/incoming/ (or rejects after 15 s). The socket is returned still sending.
 */
async function slowUpload(server, client, token, dataDir, totalBytes) {
  const file = bigImage(totalBytes);
  const { head, tail } = uploadParts(token, 'crash test: this upload is killed in the middle', 'big.png', 'image/png');
  const length = head.length + file.length + tail.length;
  const { port } = new URL(server.url);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => {});
  let response = '';
  socket.on('data', (chunk) => (response += chunk));
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `POST /statuses HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${server.postHeaders.origin}\r\nCookie: ${client.cookieHeader()}\r\n` +
      `Content-Type: ${MULTIPART_TYPE}\r\nContent-Length: ${length}\r\n\r\n`,
  );
  socket.write(head);
  const chunk = 64 * 1024;
  let sent = 0;
  let stopped = false;
  // Half the file at 64 KiB per 20 ms (~3 MiB/s), then the server is killed while this
  // loop still sends: the upload is never complete.
  const sending = (async () => {
    while (!stopped && sent < file.length / 2 && !socket.destroyed) {
      socket.write(file.subarray(sent, sent + chunk));
      sent += chunk;
      await sleep(20);
    }
    // Then slower still, until the test stops it.
    while (!stopped && sent < file.length - chunk && !socket.destroyed) {
      socket.write(file.subarray(sent, sent + chunk));
      sent += chunk;
      await sleep(200);
    }
  })();
  const deadline = Date.now() + 15_000;
  for (;;) {
    const partial = uploadsOnDisk(dataDir).incoming.filter((f) => !f.name.endsWith('.json') && f.size > 0);
    if (partial.length > 0 && sent >= file.length / 4) {
      return {
        partial,
        sent: () => sent,
        response: () => response,
        stop() {
          stopped = true;
          socket.destroy();
          return sending;
        },
      };
    }
    if (Date.now() > deadline) {
      stopped = true;
      socket.destroy();
      throw new Error(`no partial upload under uploads/incoming/ after 15 s (${sent} bytes sent; response: ${JSON.stringify(response.slice(0, 200))})`);
    }
    await sleep(50);
  }
}

async function main() {
  requireBuild();
  const startedAt = Date.now();
  const load = [loadavg()[0]];
  const { generateKey } = await import('rampart');
  const keys = generateKey();
  const dataDir = mkdtempSync(join(tmpdir(), 'feed-load-'));
  const port = await freePort();
  const run = randomBytes(4).toString('hex');
  let server;
  const figures = {};
  try {
    server = await startDemo({ dataDir, port, keys });
    const clients = await seed(server);
    console.log(`demo on ${server.url} (pid ${server.pid}), DATA_DIR ${dataDir}; seeded ${USERS.length} users, ${STATUSES} statuses`);

    // 1. The load.
    const firstPage = await clients[0].request('GET', '/');
    const newestSeeded = Number(/id="status-(\d+)"/.exec(firstPage.text)?.[1]);
    const users = clients.map((client, i) => ({ name: USERS[i], cookie: client.cookieHeader(), token: client.postToken }));
    const acknowledged = new Set();
    const counts = { post: 0, feed: 0, anonymous: 0, older: 0, user: 0 };
    const bad = {};
    let sequence = 0;
    let pick = 0;
    const kinds = [];
    // A fixed, shuffled mix: the share of posts exact, the reads spread over the four pages.
    const slots = 100;
    for (let i = 0; i < slots; i++) {
      if (i < Math.round(slots * config.postShare)) kinds.push('post');
      else kinds.push(['feed', 'feed', 'anonymous', 'older', 'user'][i % 5]);
    }
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = (i * 7919 + 13) % (i + 1);
      [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
    }
    const request = {
      method: 'GET',
      path: '/',
      setupRequest(req, context) {
        const kind = kinds[pick++ % kinds.length];
        const user = users[pick % users.length];
        context.kind = kind;
        switch (kind) {
          case 'post': {
            const seq = sequence++;
            context.seq = seq;
            return {
              ...req,
              method: 'POST',
              path: '/statuses',
              headers: { ...server.postHeaders, cookie: user.cookie, 'content-type': MULTIPART_TYPE },
              body: statusBody(user.token, `load ${run} #${seq}`),
            };
          }
          case 'feed':
            return { ...req, method: 'GET', path: '/', headers: { cookie: user.cookie }, body: undefined };
          case 'anonymous':
            return { ...req, method: 'GET', path: '/', headers: {}, body: undefined };
          case 'older':
            return { ...req, method: 'GET', path: `/?before=${1 + (pick % newestSeeded)}`, headers: { cookie: user.cookie }, body: undefined };
          default:
            context.user = user.name;
            return { ...req, method: 'GET', path: `/u/${user.name}`, headers: { cookie: user.cookie }, body: undefined };
        }
      },
      onResponse(status, body, context) {
        counts[context.kind]++;
        const fault = (why) => (bad[`${context.kind}: ${why}`] = (bad[`${context.kind}: ${why}`] ?? 0) + 1);
        if (context.kind === 'post') {
          if (status === 303) acknowledged.add(context.seq);
          else fault(`status ${status}`);
        } else if (status !== 200) fault(`status ${status}`);
        else if (context.kind === 'user' ? !body.includes(`<h1>@${context.user}</h1>`) : !body.includes('<h1>Latest statuses</h1>')) fault('not the page asked for');
      },
    };
    console.log(`load: ${config.connections} connections, ${config.duration} s, ${Math.round(config.postShare * 100)} % posts ...`);
    const result = await cannon({ url: server.url, connections: config.connections, duration: config.duration, requests: [request] });
    const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
    figures.load = {
      requests: result.requests.total,
      rps: result.requests.total / result.duration,
      counts: { ...counts },
      statusCodes,
      errors: result.errors,
      timeouts: result.timeouts,
      errorCodes: result.errorCodes,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      acknowledged: acknowledged.size,
    };
    const unexpected = Object.entries(statusCodes).filter(([code]) => code !== '200' && code !== '303');
    check(
      'load: zero errors',
      result.errors === 0 && result.timeouts === 0 && unexpected.length === 0 && Object.keys(bad).length === 0,
      `${result.requests.total} responses (${Math.round(figures.load.rps)}/s): ${Object.entries(statusCodes)
        .map(([code, count]) => `${count}× ${code}`)
        .join(', ')}; ${result.errors} errors${Object.keys(result.errorCodes).length ? ` ${JSON.stringify(result.errorCodes)}` : ''}, ${result.timeouts} timeouts${Object.keys(bad).length ? `; wrong: ${JSON.stringify(bad)}` : ''}; latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
    );
    check('load: posts acknowledged', acknowledged.size > 0, `${acknowledged.size} posts (303) of ${counts.post} answered`);

    // 2. Every acknowledged post is there: through the user pages, and in SQLite.
    await sleep(500); // requests still in flight when autocannon stopped
    const readStart = Date.now();
    const seen = new Set();
    let pages = 0;
    for (const [i, name] of USERS.entries()) {
      const back = await readBack(clients[i], name);
      pages += back.pages;
      for (const text of back.texts) {
        const match = new RegExp(`^load ${run} #(\\d+)$`).exec(text);
        if (match) seen.add(Number(match[1]));
      }
    }
    const missingOnPages = [...acknowledged].filter((seq) => !seen.has(seq));
    check(
      'every acknowledged post on its user page',
      missingOnPages.length === 0,
      `${acknowledged.size} acknowledged, ${missingOnPages.length} missing (${pages} pages read in ${((Date.now() - readStart) / 1000).toFixed(1)} s)${missingOnPages.length ? `: #${missingOnPages.slice(0, 10).join(', #')}` : ''}`,
    );
    const stored = storedPosts(dataDir, run);
    const missingInDb = [...acknowledged].filter((seq) => !stored.has(seq));
    check('every acknowledged post in SQLite', missingInDb.length === 0, `${stored.size} load posts stored (${stored.size - acknowledged.size} more than acknowledged: in flight at the end)`);
    const countBefore = statusCount(dataDir);

    // 3. Restart on the same data.
    const stopped = await server.stop('SIGTERM');
    check('graceful stop (SIGTERM)', stopped.code === 0, `exit code ${stopped.code}${stopped.signal ? `, signal ${stopped.signal}` : ''}`);
    server = await startDemo({ dataDir, port, keys });
    const afterRestart = storedPosts(dataDir, run);
    check(
      'restart: data survived',
      statusCount(dataDir) === countBefore && [...acknowledged].every((seq) => afterRestart.has(seq)),
      `${statusCount(dataDir)} statuses (${countBefore} before), every acknowledged post present`,
    );
    const session = await clients[0].request('GET', '/');
    check('restart: sessions still valid', session.status === 200 && session.text.includes(`>@${USERS[0]}</a>`), `GET / as ${USERS[0]}: ${session.status}`);
    const oldToken = await clients[1].post(`load ${run} after restart`, undefined, clients[1].postToken);
    check('restart: a token issued before still accepted', oldToken.status === 303, `POST /statuses: ${oldToken.status}`);

    // 4. A complete large upload, then one killed in the middle.
    const bytes = Math.round(config.uploadMiB * 1024 * 1024);
    const whole = await clients[2].post(`load ${run} complete upload`, { name: 'whole.png', type: 'image/png', bytes: bigImage(bytes) });
    const wholeId = /src="\/attachments\/([0-9a-f]{32})"/.exec((await clients[2].request('GET', '/')).text)?.[1];
    check(`complete ${config.uploadMiB} MiB upload`, whole.status === 303 && wholeId !== undefined, `POST: ${whole.status}, attachment ${wholeId}`);
    const acknowledgedBeforeCrash = storedPosts(dataDir, run);
    const countBeforeCrash = statusCount(dataDir);
    const committedBefore = uploadsOnDisk(dataDir).committed;
    const upload = await slowUpload(server, clients[0], clients[0].postToken, dataDir, bytes);
    const killedPid = server.pid;
    const killed = await server.stop('SIGKILL');
    const sentAtKill = upload.sent();
    await upload.stop();
    const leftBehind = uploadsOnDisk(dataDir);
    check(
      'crash: server SIGKILLed in the middle of the upload',
      killed.signal === 'SIGKILL' && upload.response() === '',
      `pid ${killedPid} killed after ${(sentAtKill / 1024 / 1024).toFixed(2)} of ${config.uploadMiB} MiB sent; left in incoming/: ${leftBehind.incoming.map((f) => `${f.name} (${f.size} B)`).join(', ')}`,
    );
    figures.crash = { sent: sentAtKill, leftBehind: leftBehind.incoming };
    server = await startDemo({ dataDir, port, keys });
    checkUploads('crash, after the next start', dataDir);
    const committedAfter = uploadsOnDisk(dataDir).committed;
    check(
      'crash: no new committed file, none lost',
      committedAfter.size === committedBefore.size && [...committedBefore].every((id) => committedAfter.has(id)),
      `${committedBefore.size} files before, ${committedAfter.size} after`,
    );
    const afterCrash = storedPosts(dataDir, run);
    check(
      'crash: every acknowledged post survived',
      statusCount(dataDir) === countBeforeCrash && [...acknowledgedBeforeCrash].every((seq) => afterCrash.has(seq)),
      `${statusCount(dataDir)} statuses (${countBeforeCrash} before the crash)`,
    );
    const served = await fetch(`${server.url}/attachments/${wholeId}`);
    const servedBytes = (await served.arrayBuffer()).byteLength;
    check('crash: the complete upload still served', served.status === 200 && servedBytes === bytes, `GET /attachments/${wholeId}: ${served.status}, ${servedBytes} bytes`);

    // 5. The state a crash between commit and INSERT leaves: a committed file without a status.
    const orphanId = randomBytes(16).toString('hex');
    const shard = join(dataDir, 'uploads', orphanId.slice(0, 2));
    mkdirSync(shard, { recursive: true, mode: 0o700 });
    writeFileSync(join(shard, orphanId), PNG, { mode: 0o600 });
    writeFileSync(join(shard, `${orphanId}.json`), JSON.stringify({ id: orphanId, name: 'orphan.png', type: 'image/png', size: PNG.length }), { mode: 0o600 });
    await server.stop('SIGKILL');
    server = await startDemo({ dataDir, port, keys });
    const orphanLeft = existsSync(join(shard, orphanId)) || existsSync(join(shard, `${orphanId}.json`));
    check(
      'crash between commit and INSERT (state made by hand): the committed file without a status removed at start',
      !orphanLeft,
      orphanLeft ? `uploads/${orphanId.slice(0, 2)}/${orphanId} (+ .json) still there after the next start: demo/app.mjs never sweeps committed files without a status (db.mjs has attachmentIds() "for the orphan sweep at start", unused)` : 'removed',
    );
    figures.orphanSweep = !orphanLeft;
  } catch (error) {
    check('the run itself', false, error.stack ?? String(error));
  } finally {
    if (server) await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  load.push(loadavg()[0]);
  const failed = checks.filter((c) => !c.ok);
  const elapsed = (Date.now() - startedAt) / 1000;
  console.log(`\n${failed.length === 0 ? 'PASS' : 'FAIL'}: ${checks.length - failed.length} of ${checks.length} checks passed (${Math.round(elapsed)} s).`);
  if (failed.length > 0) for (const c of failed) console.log(`  FAIL ${c.name}`);

  if (isDefault) {
    const v = versions();
    const l = figures.load;
    const text = `### Load, restart and crash (the demo alone)

\`\`\`
npm run build && node bench/load.mjs
\`\`\`

- Date: ${new Date().toUTCString()}; rampart at ${v.commit}; Node ${v.node} (node:http), better-sqlite3 ${v.sqlite}, autocannon ${v.autocannon}
- Machine: ${availableParallelism()} cores, ${cpus()[0]?.model ?? 'unknown'}; load average (1 min) ${load[0].toFixed(2)} at start, ${load[1].toFixed(2)} at end; ${Math.round(elapsed)} s in all.
- The demo in production mode (own keys, temporary DATA_DIR), seeded with ${USERS.length} users and ${STATUSES} statuses. Load: autocannon, ${config.connections} connections, ${config.duration} s; ${Math.round(config.postShare * 100)} % status posts (multipart, token first, unique text), the rest reads (feed logged in, feed anonymous, an older feed page, a user page), every response checked (200 and the page asked for; 303 for a post).
${
  l
    ? `- Load: ${l.requests.toLocaleString('en-US')} responses, ${Math.round(l.rps).toLocaleString('en-US')}/s (${Object.entries(l.counts)
        .map(([kind, count]) => `${kind} ${count.toLocaleString('en-US')}`)
        .join(', ')}); ${Object.entries(l.statusCodes)
        .map(([code, count]) => `${count.toLocaleString('en-US')}× ${code}`)
        .join(', ')}; ${l.errors} errors, ${l.timeouts} timeouts; latency p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms; ${l.acknowledged.toLocaleString('en-US')} posts acknowledged.`
    : ''
}
${figures.crash ? `- Crash: SIGKILL after ${(figures.crash.sent / 1024 / 1024).toFixed(2)} MiB of a ${config.uploadMiB} MiB upload had been sent (${figures.crash.leftBehind.map((f) => `${f.size.toLocaleString('en-US')} bytes`).join(', ')} on disk under \`uploads/incoming/\` at the kill).` : ''}

| Check | Result | Detail |
| --- | --- | --- |
${checks.map((c) => `| ${c.name} | ${c.ok ? 'PASS' : '**FAIL**'} | ${(c.detail ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`).join('\n')}

${failed.length === 0 ? 'PASS' : 'FAIL'}: ${checks.length - failed.length} of ${checks.length} checks passed.
`;
    writeResults(LOAD_MARKERS, text);
    console.log('Written to bench/RESULTS.md.');
  }
  process.exit(failed.length === 0 ? 0 : 1);
}

await main();
