import { test } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTarget, testOptions } from '../support/targets.ts';
import { launchChromium } from '../support/browser.ts';
import type { CspViolation } from 'rampart';

test('explore', async () => {
  const t0 = Date.now();
  const browser = await launchChromium();
  console.log('launch', Date.now() - t0, browser.version());
  const got: CspViolation[] = [];
  const t = await startTarget('node', testOptions({ reports: { sink: (v) => { got.push(v); console.log('SINK', Date.now() - t0, JSON.stringify(v)); } } }));
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on('console', (m) => console.log('CONSOLE', m.type(), m.text()));
  await page.addInitScript(() => {
    (window as unknown as { __v: unknown[] }).__v = [];
    window.addEventListener('securitypolicyviolation', (e) => (window as unknown as { __v: unknown[] }).__v.push({ d: e.effectiveDirective, vd: e.violatedDirective, b: e.blockedURI, disp: e.disposition }), true);
  });
  await page.route(`${t.url}/`, async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace('</body>', '<script>window.__injected = true</script><img src="data:," onerror="window.__handler = true"></body>');
    await route.fulfill({ response, body });
  });
  const r = await page.goto(`${t.url}/`);
  console.log('status', r?.status(), await page.textContent('#status'));
  console.log(await page.evaluate(() => JSON.stringify({ v: (window as unknown as { __v: unknown[] }).__v, i: (window as unknown as Record<string, unknown>).__injected, h: (window as unknown as Record<string, unknown>).__handler })));
  for (let i = 0; i < 40 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  console.log('after poll', Date.now() - t0, got.length);

  const attacker = createServer((req, res) => { res.setHeader('content-type', 'text/html'); res.end(`<iframe src="${decodeURIComponent(req.url!.slice(6))}"></iframe>`); });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
  const port = (attacker.address() as AddressInfo).port;
  const page2 = await ctx.newPage();
  page2.on('console', (m) => console.log('CONSOLE2', m.type(), m.text()));
  for (const p of ['/', '/embed']) {
    await page2.goto(`http://localhost:${port}/?src=${encodeURIComponent(t.url + p)}`);
    const frames = page2.frames();
    console.log(p, frames.map((f) => f.url()));
    const child = frames[1]!;
    try { console.log('child text', await child.evaluate(() => document.body?.innerText.slice(0, 100))); } catch (e) { console.log('eval err', (e as Error).message); }
  }
  await page2.route(`${t.url}/__frame_host`, (route) => route.fulfill({ contentType: 'text/html', body: '<iframe src="/embed"></iframe><iframe src="/"></iframe>' }));
  await page2.goto(`${t.url}/__frame_host`);
  console.log(page2.frames().map((f) => f.url()));
  for (const f of page2.frames().slice(1)) console.log(await f.evaluate(() => document.body?.innerText.slice(0, 100)));
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 100));
  console.log('total reports', got.length, Date.now() - t0);
  await ctx.close(); await browser.close(); await t.close(); attacker.close();
}, 60000);
