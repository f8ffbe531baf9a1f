// The target of bench/audit.mjs: the reference app (Express) on an ephemeral loopback port,
// which it sends to its parent.
import { createServer } from 'node:http';

const { createApp } = await import('../examples/express/app.mjs');
const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  server.on('request', createApp({ keys: 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s', origin: `http://127.0.0.1:${port}`, logger: { warn() {} }, uploadsDirectory: process.argv[2] }));
  process.send(port);
});
