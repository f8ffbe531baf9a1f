import { describe, expect, it } from 'vitest';
import { ObservedHeaders } from './headers.ts';

describe('ObservedHeaders (Node IncomingMessage.headers, then axios)', () => {
  const headers = new ObservedHeaders([
    ['Content-Security-Policy', "default-src 'none'"],
    ['content-type', 'text/html'],
    ['set-cookie', 'a=1'],
    ['content-security-policy', "script-src 'self'"],
    ['Content-Type', 'text/plain'],
    ['set-cookie', 'b=2'],
    ['x-frame-options', ' DENY\t'],
  ]);

  it('joins repeated fields with a comma, keeps the first singleton, lists Set-Cookie', () => {
    expect(headers.all('content-security-policy')).toEqual(["default-src 'none', script-src 'self'"]);
    expect(headers.first('content-type')).toBe('text/html');
    expect(headers.all('Set-Cookie')).toEqual(['a=1', 'b=2']);
    expect(headers.first('set-cookie')).toBe('a=1');
  });

  it('trims spaces and tabs, and has nothing for an absent field', () => {
    expect(headers.first('x-frame-options')).toBe('DENY');
    expect(headers.all('referrer-policy')).toEqual([]);
    expect(headers.first('referrer-policy')).toBeNull();
  });
});
