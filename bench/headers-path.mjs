// The node:http header path without the network: `node bench/headers-path.mjs` (after a build).
//
// Calls the handlers of node-bare, node-fixed and node-rampart directly with a fresh
// IncomingMessage and ServerResponse per call (no socket: end() only queues the output),
// so what is left is what the handler and rampart cost: writing the head, the nonce,
// the context, and the garbage they leave. Quick (about 10 s) and much less noisy than the
// wrk benchmark: use it to check a change to the request path, then confirm with
// `npm run bench`. A whole request under wrk costs roughly 15–20 µs of server CPU, so the
// 0.95× target for rampart on node:http means about 1 µs over node-fixed here.
//
// N (default 200000) sets the calls per timing; each case is timed 7 times in 3 passes,
// and the best median is reported.

import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { rampart } from 'rampart';
import { rampartNode } from 'rampart/adapters/node';
import { FIXED_NONCE, page, rampartHtmlBlock } from './servers/headers-server.mjs';

const HTML = 'text/html; charset=utf-8';
const security = rampart({ mode: 'production', keys: 'WUEcnVN3LQvjfZvf3c5_ndYzSrsHkBsrJlrrIj25p64', origin: 'http://127.0.0.1', logger: { warn() {} } });

// The fixed block, exactly as the node-fixed server builds it.
const FIXED = await rampartHtmlBlock();
const PAGE = page(FIXED_NONCE);

const socket = new Socket();
const RAW_HEADERS = ['Host', '127.0.0.1:8080', 'User-Agent', 'wrk'];
function newExchange() {
  const request = new IncomingMessage(socket);
  request.method = 'GET';
  request.url = '/';
  request.headers = { host: '127.0.0.1:8080', 'user-agent': 'wrk' };
  request.rawHeaders = RAW_HEADERS;
  return [request, new ServerResponse(request)];
}

const handlers = {
  'node-bare': (_req, res) => {
    res.writeHead(200, { 'content-type': HTML });
    res.end(PAGE);
  },
  'node-fixed': (_req, res) => {
    res.writeHead(200, FIXED);
    res.end(PAGE);
  },
  'node-rampart': rampartNode(security, (_req, res, context) => {
    res.writeHead(200, { 'content-type': HTML });
    res.end(page(context.nonce));
  }),
};

const N = Number(process.env.N ?? 200_000);
let sink = 0;
function time(handler) {
  const run = () => {
    const [request, response] = newExchange();
    handler(request, response);
    sink += response.outputSize;
  };
  for (let index = 0; index < 20_000; index++) run();
  const samples = [];
  for (let repeat = 0; repeat < 7; repeat++) {
    const start = process.hrtime.bigint();
    for (let index = 0; index < N; index++) run();
    samples.push(Number(process.hrtime.bigint() - start) / N / 1000);
  }
  return samples.sort((a, b) => a - b)[3];
}

const best = {};
for (let pass = 0; pass < 3; pass++) {
  for (const [name, handler] of Object.entries(handlers)) best[name] = Math.min(best[name] ?? Infinity, time(handler));
}
for (const [name, microseconds] of Object.entries(best)) {
  const extra = microseconds - best['node-fixed'];
  console.log(`${name.padEnd(13)} ${microseconds.toFixed(3)} µs/request  (${extra >= 0 ? '+' : ''}${extra.toFixed(3)} µs vs node-fixed)`);
}
if (sink === 0) console.log('(nothing was written)');
