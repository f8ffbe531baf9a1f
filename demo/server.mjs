// `npm start`: the status feed on $PORT (default 3000), data in $DATA_DIR (default ./data).
// Development mode unless NODE_ENV=production, which needs RAMPART_KEYS and ORIGIN (and
// TRUST_PROXY behind a TLS-terminating proxy: production redirects plain HTTP to HTTPS).
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { createDemo } from './app.mjs';

const port = Number(process.env.PORT ?? 3000);
const dataDir = resolve(process.env.DATA_DIR ?? 'data');
const production = process.env.NODE_ENV === 'production';

if (production && (!process.env.RAMPART_KEYS || !process.env.ORIGIN)) {
  console.error(
    'status feed: NODE_ENV=production needs RAMPART_KEYS (comma-separated keys, newest first: generate one with\n' +
      "  node -e \"import('rampart').then((r) => console.log(r.generateKey()))\")\n" +
      'and ORIGIN (the public origin, e.g. https://feed.example). Unset NODE_ENV to try the demo in development mode.',
  );
  process.exit(1);
}

const demo = createDemo({
  dataDir,
  origin: process.env.ORIGIN ?? `http://localhost:${port}`,
  keys: process.env.RAMPART_KEYS?.split(',').map((key) => key.trim()),
  // Behind a TLS-terminating proxy: its addresses (comma-separated), or the number of proxies.
  trustProxy: trustProxy(process.env.TRUST_PROXY),
});

function trustProxy(value) {
  if (value === undefined || value.trim() === '') return undefined;
  return /^\d+$/.test(value.trim()) ? Number(value) : value.split(',').map((entry) => entry.trim());
}
const orphans = await demo.sweepAttachments();
if (orphans > 0) console.log(`status feed: removed ${orphans} attachment${orphans === 1 ? '' : 's'} no status refers to (left by a crash)`);
const server = createServer(demo.app);
server.listen(port, () => {
  console.log(`status feed on http://localhost:${port}/ (data in ${dataDir})`);
});

function shutdown() {
  server.close(() => {
    demo.close();
    process.exit(0);
  });
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
