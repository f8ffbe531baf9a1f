import { test } from 'vitest';
import { chromium } from 'playwright-core';
import { startTarget, testOptions } from '../support/targets.ts';
import type { CspViolation } from 'rampart';

for (const variant of ['short']) test(variant, async () => {
  const t0 = Date.now();
  const args = ['--headless', '--no-sandbox', '--disable-gpu'];
  if (!variant.includes('nobgnet')) args.push('--disable-background-networking');
  if (variant.startsWith('short')) args.push('--short-reporting-delay');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
  const got: CspViolation[] = [];
  const t = await startTarget('node', testOptions({ reports: { sink: (v) => { got.push(v); console.log(variant, 'SINK', Date.now() - t0, JSON.stringify(v)); } } }));
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.route(`${t.url}/`, async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace('</body>', '<script>window.__injected = true</script><img src="data:," onerror="window.__handler = true"></body>');
    const headers = response.headers();
    if (variant === 'no-report-to') headers['content-security-policy'] = headers['content-security-policy']!.replace('; report-to rampart-csp', '');
    await route.fulfill({ response, body, headers });
  });
  await page.goto(`${t.url}/`);
  const t1 = Date.now();
  for (let i = 0; i < 800 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 100));
  console.log(variant, 'after poll', Date.now() - t1, got.length);
  await ctx.close(); await browser.close(); await t.close();
}, 120000);
