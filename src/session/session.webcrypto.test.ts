/**
 * Sessions on a runtime without node:crypto (Workers, browsers): the primitive is
 * Web Crypto, nothing is synchronous, and the Fetch adapters wait for the seal.
 */
import { describe, expect, it, vi } from 'vitest';
import { FetchIncoming } from '../adapters/_fetch.ts';
import { generateKey } from '../keys.ts';
import { rampart, RequestContext, type Rampart } from '../rampart.ts';
import type * as CryptoModule from '../_internal/crypto.ts';

vi.mock('../_internal/crypto.ts', async (importOriginal) => {
  const original = await importOriginal<typeof CryptoModule>();
  return { ...original, cryptoPrimitive: original.webCryptoPrimitive, nodeCryptoPrimitive: undefined };
});

const keyA = generateKey();
const keyB = generateKey();

function begin(security: Rampart, cookie?: string): RequestContext {
  const started = security.begin(new FetchIncoming(new Request('https://localhost/', { headers: cookie === undefined ? {} : { cookie } }), '127.0.0.1', true));
  if (!(started instanceof RequestContext)) throw new Error('expected a context');
  return started;
}

async function end(security: Rampart, context: RequestContext): Promise<string[]> {
  const finished = security.finish(context, new Response('ok'));
  return (await finished).headers.getSetCookie().map((cookie) => cookie.split(';')[0]!);
}

describe('sessions on Web Crypto', () => {
  it('seal asynchronously, open, and re-seal under a rotated key', async () => {
    const security = rampart({ keys: keyA, logger: { warn: () => {} } });
    const context = begin(security);
    (await context.session()).set('user', 'alice');
    expect(security.finish(context, new Response('ok'))).toBeInstanceOf(Promise);
    const first = begin(security);
    (await first.session()).set('user', 'alice');
    const [cookie] = await end(security, first);
    expect((await begin(security, cookie).session()).get('user')).toBe('alice');

    const rotated = rampart({ keys: [keyB, keyA], logger: { warn: () => {} } });
    const next = begin(rotated, cookie);
    expect((await next.session()).get('user')).toBe('alice');
    const [resealed] = await end(rotated, next);
    const retired = rampart({ keys: keyB, logger: { warn: () => {} } });
    expect((await begin(retired, resealed).session()).get('user')).toBe('alice');
    expect((await begin(retired, cookie).session()).isNew).toBe(true);
  });

  it('refuses a tampered seal', async () => {
    const security = rampart({ keys: keyA, logger: { warn: () => {} } });
    const context = begin(security);
    (await context.session()).set('user', 'alice');
    const [cookie] = await end(security, context);
    const last = cookie!.at(-1) === 'A' ? 'B' : 'A';
    expect((await begin(security, `${cookie!.slice(0, -1)}${last}`).session()).isNew).toBe(true);
  });
});
