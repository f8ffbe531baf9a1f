/**
 * Compile-time checks of the public types: each `@ts-expect-error` line must fail
 * to type-check (tsc runs over test/ in `npm run typecheck`), so a mistake the
 * types promise to catch is caught before anything runs.
 */

import { describe, expect, expectTypeOf, it } from 'vitest';
import { CSP, NONCE, rampart, type HeadersOptions, type RequestContext } from 'rampart';
import type { CspDirectives } from 'rampart/headers';
import { rampartFetch } from 'rampart/adapters/fetch';
import { sendHtml, type SendHtmlInit } from 'rampart/adapters/node';
import { sendHtml as sendExpressHtml } from 'rampart/adapters/express';
import { flattenHtml, html, type SafeHtml } from 'rampart/html';
import { memoryStorage, uploads, type UploadSource } from 'rampart/uploads';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request as ExpressRequest } from 'express';
import type { FastifyRequest } from 'fastify';

const key = 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s';
const quiet = { warn: () => {} };

describe('public types', () => {
  it('refuse retired and unsafe header values at compile time', () => {
    // @ts-expect-error X-XSS-Protection: 1 turns on the removed XSS auditor
    const xss: HeadersOptions = { xXssProtection: '1' };
    // @ts-expect-error ALLOW-FROM is not a value of X-Frame-Options any more
    const frame: HeadersOptions = { xFrameOptions: 'ALLOW-FROM https://a.example' };
    // @ts-expect-error there is no Public-Key-Pins option
    const pins: HeadersOptions = { publicKeyPins: {} };
    // @ts-expect-error unknown Permissions-Policy feature
    const feature: HeadersOptions = { permissionsPolicy: { 'interest-cohort': [] } };
    // @ts-expect-error directives are written by their wire name
    const camel: CspDirectives = { scriptSrc: [CSP.self] };
    // @ts-expect-error unknown sandbox token
    const sandbox: CspDirectives = { sandbox: ['allow-everything'] };
    // @ts-expect-error trustProxy: true would trust any client
    const trust = () => rampart({ trustProxy: true });
    // The same mistakes are refused at runtime too, for JavaScript users.
    for (const headers of [xss, frame, pins, feature]) expect(() => rampart({ keys: key, logger: quiet, headers })).toThrow(/^rampart: /);
    expect(() => rampart({ keys: key, logger: quiet, headers: { contentSecurityPolicy: { directives: camel } } })).toThrow(/^rampart: /);
    expect(() => rampart({ keys: key, logger: quiet, headers: { contentSecurityPolicy: { directives: sandbox } } })).toThrow(/^rampart: /);
    expect(trust).toThrow(/^rampart: /);
  });

  it('type session data', async () => {
    const security = rampart({ keys: key, logger: quiet });
    const handler = rampartFetch(security, async (_request, context) => {
      const session = await context.session<{ user: string; visits: number }>();
      session.set('user', 'alice');
      expectTypeOf(session.get('visits')).toEqualTypeOf<number | undefined>();
      // @ts-expect-error a key the data does not have
      expect(() => session.set('admin', true)).not.toThrow();
      // @ts-expect-error a value of the wrong type
      session.set('visits', 'many');
      const untyped = await context.session();
      // @ts-expect-error a Date is not JSON data (and throws at runtime, for JavaScript users)
      expect(() => untyped.set('when', new Date())).toThrow('is a Date');
      return new Response('ok');
    });
    expect((await handler(new Request('https://a.example/'))).status).toBe(200);
  });

  it('type the context and the constants', () => {
    const security = rampart({ keys: key, logger: quiet });
    expectTypeOf(security.headerPolicy({ xFrameOptions: false })).toEqualTypeOf<ReturnType<typeof security.headerPolicy>>();
    expectTypeOf<RequestContext['nonce']>().toEqualTypeOf<string>();
    expectTypeOf(NONCE).toEqualTypeOf<"'nonce'">();
    expectTypeOf(CSP.self).toEqualTypeOf<"'self'">();
  });
  it('send only pages made with html', () => {
    expectTypeOf(sendHtml).parameters.toEqualTypeOf<[ServerResponse, SafeHtml, (SendHtmlInit | undefined)?]>();
    expectTypeOf(sendExpressHtml).toEqualTypeOf(sendHtml);
    expectTypeOf(flattenHtml(html`<li>x</li>`)).toEqualTypeOf<SafeHtml>();
    const send = (res: ServerResponse) => {
      // @ts-expect-error a string is not a page: HTML comes from the engine
      sendHtml(res, '<p>x</p>');
      // @ts-expect-error headers are an object, not a list
      sendHtml(res, html`<p>x</p>`, { headers: ['x-a', 'b'] });
    };
    // @ts-expect-error flattenHtml takes a fragment made with html
    const flatten = () => flattenHtml('<li>x</li>');
    expect(flatten).toThrow(/^rampart: flattenHtml\(\) takes a fragment/);
    expect(typeof send).toBe('function');
  });

  it('take every framework request as an upload source, and only allowlisted types', () => {
    expectTypeOf<Request>().toMatchTypeOf<UploadSource>();
    expectTypeOf<IncomingMessage>().toMatchTypeOf<UploadSource>();
    expectTypeOf<ExpressRequest>().toMatchTypeOf<UploadSource>();
    expectTypeOf<FastifyRequest['raw']>().toMatchTypeOf<UploadSource>();
    // @ts-expect-error SVG is not an upload type: it can carry script
    const svg = () => uploads({ storage: memoryStorage(), allowedTypes: ['image/svg+xml'] });
    expect(svg).toThrow(/^rampart: /);
  });
});
