// The pages of the reference app, the same on every adapter. Until rampart's `html`
// templates exist these are fixed strings: nothing from the request goes into them.

/** `GET /`: a page whose inline script runs only because it carries the response's nonce. */
export function homePage(nonce) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rampart reference app</title>
<style nonce="${nonce}">body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 40rem; }</style>
</head>
<body>
<h1>rampart reference app</h1>
<p id="status">inline script did not run</p>
<script nonce="${nonce}">document.getElementById('status').textContent = 'inline script ran';</script>
</body>
</html>
`;
}

/** `GET /embed`: a page this site lets its own origin frame (a per-route header policy). */
export function embedPage(nonce) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>embeddable widget</title></head>
<body>
<p id="widget">widget</p>
<script nonce="${nonce}">document.getElementById('widget').textContent = 'widget ready';</script>
</body>
</html>
`;
}

/** The per-route header overrides of `GET /embed`. */
export const embedOverrides = {
  xFrameOptions: 'SAMEORIGIN',
  contentSecurityPolicy: { set: { 'frame-ancestors': ["'self'"] } },
};

/** `GET /data.json`: a non-HTML response, which gets the minimal header set. */
export const data = { ok: true, service: 'rampart reference app' };

/** Options every example starts from; tests and `run.mjs` add to them. */
export function exampleOptions(options = {}) {
  return { reports: { sink: () => {} }, ...options };
}
