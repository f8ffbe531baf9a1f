import { test } from 'vitest';
import { chromium } from 'playwright-core';
import { startTarget, testOptions } from '../support/targets.ts';
import type { CspViolation } from 'rampart';

for (const variant of ['absolute-short', 'absolute-localhost-short', 'absolute-noshort']) test(variant, async () => {
  const t0 = Date.now();
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
  if (variant.endsWith('-short')) args.push('--short-reporting-delay');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
  const got: CspViolation[] = [];
  const t = await startTarget('node', testOptions({ reports: { sink: (v) => { got.push(v); console.log(variant, 'SINK', Date.now() - t0, JSON.stringify(v)); } } }));
  const base = variant.includes('localhost') ? t.url.replace('127.0.0.1', 'localhost') : t.url;
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.route(`${base}/`, async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace('</body>', '<script>window.__injected = true</script><img src="data:," onerror="window.__handler = true"></body>');
    const headers = response.headers();
    headers['reporting-endpoints'] = `rampart-csp="${base}/_rampart/csp-report"`;
    await route.fulfill({ response, body, headers });
  });
  await page.goto(`${base}/`);
  const t1 = Date.now();
  for (let i = 0; i < 150 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 100));
  console.log(variant, 'after poll', Date.now() - t1, got.length);
  await ctx.close(); await browser.close(); await t.close();
}, 120000);
