// Starts the reference app of one adapter: `npm run example -- <adapter>` (PORT, default 3000).
const adapters = ['node', 'express', 'fastify', 'hono', 'hono-node', 'fetch'];
const adapter = process.argv[2] ?? 'node';
if (!adapters.includes(adapter)) {
  console.error(`Unknown adapter "${adapter}". Use one of: ${adapters.join(', ')}.`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 3000);
const { createServer } = await import(`./${adapter}/app.mjs`);
const server = await createServer({ origin: process.env.ORIGIN ?? `http://localhost:${port}` });
server.listen(port, () => {
  console.log(`rampart reference app (${adapter}) listening on http://localhost:${port}/`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
