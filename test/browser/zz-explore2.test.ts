import { test } from 'vitest';
import { chromium } from 'playwright-core';
import { startTarget, testOptions } from '../support/targets.ts';
import type { CspViolation } from 'rampart';

for (const variant of ['noroute-short']) test(variant, async () => {
  const t0 = Date.now();
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--short-reporting-delay'];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
  const got: CspViolation[] = [];
  const t = await startTarget('node', testOptions({ reports: { sink: (v) => { got.push(v); console.log(variant, 'SINK', Date.now() - t0, JSON.stringify(v)); } } }));
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${t.url}/`);
  await page.evaluate(() => { document.body.insertAdjacentHTML('beforeend', '<img src="data:," onerror="window.__x=1">'); });
  await new Promise((r) => setTimeout(r, 300)); console.log(await page.evaluate(() => (window as unknown as Record<string, unknown>).__x));
  const t1 = Date.now();
  for (let i = 0; i < 150 && got.length < 1; i++) await new Promise((r) => setTimeout(r, 100));
  console.log(variant, 'after poll', Date.now() - t1, got.length);
  await ctx.close(); await browser.close(); await t.close();
}, 120000);
