import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, errorResponse, isRampartError, RampartError, type RampartErrorCode } from './errors.ts';

const codes = Object.keys(ERROR_CODES) as RampartErrorCode[];

describe('error codes', () => {
  it('are all documented in docs/errors.md, with their status, and nothing else is', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((match) => [match[1], Number(match[2])]);
    expect(rows).toEqual(codes.map((code) => [code, ERROR_CODES[code].status]));
  });

  it('are client errors, but for a full upload storage (507: the client may retry later)', () => {
    for (const code of codes) expect(ERROR_CODES[code].status).toBeGreaterThanOrEqual(400);
    for (const code of codes) if (code !== 'upload_storage_full') expect(ERROR_CODES[code].status).toBeLessThan(500);
    expect(ERROR_CODES.upload_storage_full.status).toBe(507);
  });
});

describe('RampartError', () => {
  it('carries code, status and cause', () => {
    const cause = new SyntaxError('Unexpected token');
    const error = new RampartError('csp_report_malformed', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'RampartError', code: 'csp_report_malformed', status: 400, cause });
    expect(isRampartError(error)).toBe(true);
    expect(isRampartError(new Error('x'))).toBe(false);
  });
});

describe('error responses', () => {
  it.each(codes)('%s as problem+json', async (code) => {
    const response = errorResponse(new RampartError(code), 'application/json');
    expect(response.status).toBe(ERROR_CODES[code].status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const entry: { status: number; title: string; retryable?: boolean } = ERROR_CODES[code];
    const retryable = entry.retryable ? { retryable: true } : {};
    expect(await response.json()).toEqual({ type: 'about:blank', title: entry.title, status: entry.status, code, ...retryable });
  });

  it.each(codes)('%s as HTML', async (code) => {
    const response = errorResponse(new RampartError(code), 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const body = await response.text();
    expect(body).toContain(`<code>${code}</code>`);
    expect(body).not.toMatch(/at \w+ \(/); // no stack frames
  });

  it('cannot be cached, sniffed or run script', () => {
    const response = errorResponse(new RampartError('csp_report_too_large'));
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
  });
});
