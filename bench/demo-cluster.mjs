// The demo on node:cluster: `node bench/demo-cluster.mjs` runs DEMO_WORKERS (default 2)
// processes of demo/server.mjs sharing its port (the primary hands out connections
// round-robin), the way gunicorn runs the Flask anchor's 2 workers. Same environment as
// demo/server.mjs (PORT, DATA_DIR, NODE_ENV, RAMPART_KEYS, ORIGIN); every worker opens the
// same SQLite file (WAL) and upload directory. Used by bench/demo.mjs; not part of the demo.
import cluster from 'node:cluster';
import { once } from 'node:events';

const workers = Number(process.env.DEMO_WORKERS ?? 2);

if (cluster.isPrimary) {
  // One at a time: the first creates and migrates the database before the next opens it.
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork();
    const [event] = await Promise.race([once(worker, 'listening').then(() => ['listening']), once(worker, 'exit').then(() => ['exit'])]);
    if (event === 'exit') {
      console.error(`demo-cluster: worker ${i + 1} exited at start`);
      process.exit(1);
    }
  }
  console.log(`demo-cluster: ${workers} workers listening`);
  let stopping = false;
  cluster.on('exit', () => {
    if (!stopping) {
      console.error('demo-cluster: a worker died; stopping');
      process.exit(1);
    }
    if (Object.keys(cluster.workers).length === 0) process.exit(0);
  });
  const stop = (signal) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill(signal);
    setTimeout(() => process.exit(0), 6000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGTERM'));
} else {
  await import('../demo/server.mjs');
}
