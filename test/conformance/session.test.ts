/**
 * Sessions on every adapter, through the reference app's `POST /login`, `GET /me`
 * and `POST /logout` (DESIGN.md), over raw HTTP. A difference between adapters is a bug.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAPTERS, formCredentials, startTarget, testOptions, type Target } from '../support/targets.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function sessionCookie(response: Response): string | undefined {
  return response.headers.getSetCookie().find((cookie) => cookie.startsWith('__Host-session='));
}

function pair(setCookie: string | undefined): string {
  if (!setCookie) throw new Error('no session cookie');
  return setCookie.split(';')[0]!;
}

describe.each(ADAPTERS)('%s', (adapter) => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget(adapter, testOptions());
  });
  afterAll(() => target.close());

  /** Logs in the way the home page's form does: its CSRF token first, then the user. */
  async function login(user: string, cookie?: string): Promise<Response> {
    const form = await formCredentials(target, cookie);
    return target.request('/login', { method: 'POST', headers: { ...FORM, cookie: form.cookie }, body: `csrf_token=${form.token}&user=${encodeURIComponent(user)}` });
  }

  async function logout(cookie: string): Promise<Response> {
    const form = await formCredentials(target, cookie, '/me');
    return target.request('/logout', { method: 'POST', headers: { ...FORM, cookie: form.cookie }, body: `csrf_token=${form.token}` });
  }

  async function me(cookie?: string): Promise<Response> {
    return target.request('/me', cookie ? { headers: { cookie } } : {});
  }

  it('logs in: 303 to /me with a sealed __Host- cookie that is Secure, HttpOnly, SameSite=Lax', async () => {
    const response = await login('alice');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/me');
    expect(sessionCookie(response)).toMatch(/^__Host-session=[A-Za-z0-9_-]{40,}; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
    expect(sessionCookie(response)).not.toContain('alice');
    // A shared cache must not store a response that sets a session.
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('shows the user to the holder of the cookie, and 401 to anyone else', async () => {
    const cookie = pair(sessionCookie(await login('alice')));
    const mine = await me(cookie);
    expect(mine.status).toBe(200);
    expect(await mine.text()).toContain('<strong id="user">alice</strong>');
    expect(sessionCookie(mine)).toBeUndefined();
    expect((await me()).status).toBe(401);
  });

  it('logs out: the cookie is deleted, and a copy of it is refused (revocation store)', async () => {
    const cookie = pair(sessionCookie(await login('alice')));
    const response = await logout(cookie);
    expect(response.status).toBe(303);
    expect(sessionCookie(response)).toBe('__Host-session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax');
    expect((await me(cookie)).status).toBe(401);
  });

  it('rotates the session on login, so a planted session is worth nothing after it', async () => {
    const planted = pair(sessionCookie(await login('attacker')));
    const response = await login('victim', planted);
    const fresh = pair(sessionCookie(response));
    expect(fresh).not.toBe(planted);
    expect((await me(planted)).status).toBe(401);
    expect(await (await me(fresh)).text()).toContain('victim');
  });

  it.each([
    ['garbage', '__Host-session=garbage'],
    ['a flipped last character', 'flip'],
    ['a truncated seal', 'truncate'],
    ['the seal without the prefix', 'unprefixed'],
    ['two different sessions', 'two'],
    ['8 KiB of other cookies before a forged one', 'noise'],
  ])('treats %s as no session: 401, never a 500', async (_name, kind) => {
    const valid = pair(sessionCookie(await login('alice')));
    const other = pair(sessionCookie(await login('bob')));
    const seal = valid.slice('__Host-session='.length);
    const cookie = {
      '__Host-session=garbage': '__Host-session=garbage',
      flip: `__Host-session=${seal.slice(0, -2)}${seal.at(-2) === 'A' ? 'B' : 'A'}${seal.at(-1)}`,
      truncate: `__Host-session=${seal.slice(0, 40)}`,
      unprefixed: `session=${seal}`,
      two: `${valid}; ${other}`,
      noise: `${Array.from({ length: 128 }, (_, index) => `n${index}=${'x'.repeat(60)}`).join('; ')}; __Host-session=${seal.slice(1)}`,
    }[kind]!;
    const response = await me(cookie);
    expect(response.status).toBe(401);
    expect((await me(valid)).status).toBe(200);
  });

  it('refuses a user name that is not a plain token with a 400', async () => {
    const response = await login('<script>alert(1)</script>');
    expect(response.status).toBe(400);
    expect(sessionCookie(response)).toBeUndefined();
  });
});
