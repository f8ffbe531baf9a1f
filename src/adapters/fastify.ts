/**
 * The Fastify adapter: a plugin that puts the context in `request.rampart` and
 * secures every reply.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { rampart } from 'rampart'
 * import { rampartFastify } from 'rampart/adapters/fastify'
 *
 * const app = Fastify()
 * await app.register(rampartFastify(rampart({ origin: 'https://example.com' })))
 * app.get('/', (request, reply) => reply.type('text/html').send(`<script nonce="${request.rampart.nonce}">…</script>`))
 * ```
 *
 * @packageDocumentation
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyPluginCallback } from 'fastify';
import { isRampartError } from '../errors.ts';
import { RequestContext, type Rampart } from '../rampart.ts';
import { NodeIncoming } from './_node/incoming.ts';
import { protectResponse, protectUnhooked, sendResponse } from './_node/response.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The rampart context of this request. */
    rampart: RequestContext;
  }
}

/**
 * The rampart plugin for Fastify. It applies to the whole instance (not only the
 * plugin's encapsulation context), so register it first.
 */
export function rampartFastify(security: Rampart): FastifyPluginCallback {
  function rampartPlugin(app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
    if ((app.initialConfig as { http2?: boolean }).http2) {
      // Fail at startup rather than serve HTTP/2 responses without their security headers.
      done(new TypeError('rampart: Fastify with http2: true is not supported yet; serve HTTP/1.1 (an HTTP/2 proxy in front is fine).'));
      return;
    }
    app.decorateRequest('rampart', null as unknown as RequestContext);
    // Fastify answers a malformed URL (400) and an over-long parameter (414) itself,
    // before any hook runs: those answers get rampart's minimal headers. Every other
    // response is taken over by the onRequest hook below, whose headers win.
    const minimal = { plain: security.minimalHeaders(false), tls: security.minimalHeaders(true) };
    app.server.prependListener('request', function rampartBeforeRouting(request: IncomingMessage, response: ServerResponse) {
      protectUnhooked(response, (request.socket as { encrypted?: boolean }).encrypted === true ? minimal.tls : minimal.plain);
    });
    // Fastify answers 415 to a content type it has no parser for; multipart bodies are left
    // unread on \`request.raw\` for rampart/uploads (or a multipart plugin registered before this one).
    if (!app.hasContentTypeParser('multipart/form-data')) {
      app.addContentTypeParser('multipart/form-data', function leaveMultipartUnread(_request, _payload, done) {
        done(null, undefined);
      });
    }
    app.addHook('onRequest', (request, reply, next) => {
      const started = security.begin(new NodeIncoming(request.raw));
      const proceed = (settled: RequestContext | Response): void => {
        if (!(settled instanceof RequestContext)) {
          reply.hijack();
          sendResponse(reply.raw, settled, request.method).catch((error: unknown) => reply.raw.destroy(error instanceof Error ? error : undefined));
          return;
        }
        request.rampart = settled;
        protectResponse(reply.raw, settled);
        next();
      };
      if (started instanceof Promise) {
        // The CSRF token of a form is read from the body first; Fastify's parser reads it again.
        started.then(proceed, (error: unknown) => reply.raw.destroy(error instanceof Error ? error : undefined));
        return;
      }
      proceed(started);
    });
    // Fastify's default handler puts the error's message in 5xx replies, which can leak
    // secrets; those become a bare 500 (logged), and a rampart error gets its own response.
    // Fastify's own 4xx errors (bad content type, validation) describe the request: kept.
    const previous = app.errorHandler;
    app.setErrorHandler(async function rampartErrorHandler(error: FastifyError, request, reply) {
      const clientError = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500;
      if (clientError && !isRampartError(error)) return previous.call(this, error, request, reply);
      const response = security.failureResponse(error, request.headers.accept);
      // What the handler set before it threw (a cookie, a trace header) is not the error page's.
      for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
      reply.code(response.status);
      response.headers.forEach((value, name) => void reply.header(name, value));
      return reply.send(await response.text());
    });
    done();
  }
  // What fastify-plugin does, without the dependency: share the hook with the parent scope.
  Object.assign(rampartPlugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'rampart' });
  return rampartPlugin as FastifyPluginCallback;
}
