/**
 * The public surface: the names every subpath exports. A change here is a change
 * of the API, so it must be deliberate (update the lists in the same commit).
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  dependencies?: Record<string, string>;
};

const SURFACE: Record<string, string[]> = {
  '.': ['CSP', 'HeaderPolicy', 'NONCE', 'Rampart', 'RampartError', 'RequestContext', 'generateKey', 'rampart'],
  './errors': ['ERROR_CODES', 'RampartError', 'errorResponse', 'isRampartError'],
  './headers': ['CSP', 'DEFAULT_PERMISSIONS_POLICY', 'NONCE', 'buildContentSecurityPolicy'],
  './cookies': ['MAX_COOKIE_AGE_SECONDS', 'MAX_COOKIE_BYTES', 'deleteCookie', 'getCookie', 'parseCookieList', 'parseCookies', 'serializeCookie'],
  './session': ['MemorySessionStore', 'Session'],
  './csrf': ['readJson'],
  './html': ['SafeHtml', 'ScriptJson', 'TemplateError', 'csrfField', 'dangerouslyTrustHtml', 'flattenHtml', 'html', 'joinHtml', 'json'],
  './uploads': ['MultipartParser', 'UPLOAD_TYPES', 'Uploads', 'memoryStorage', 'uploads'],
  './uploads/disk': ['diskStorage'],
  './paths': ['resolveInside', 'safeJoin'],
  './paths/static': ['staticFiles'],
  './audit': [
    'CSP_RULES',
    'PASSIVE_RULES',
    'PROBE_RULES',
    'REPORT_FORMATS',
    'RULES',
    'analyzeCookies',
    'analyzeCsp',
    'analyzeDisclosure',
    'analyzeForms',
    'analyzeHeaders',
    'analyzeTransport',
    'audit',
    'gradeForScore',
    'observatory',
    'parseCsp',
    'renderReport',
  ],
  './adapters/fetch': ['rampartFetch'],
  './adapters/node': ['contextOf', 'rampartNode', 'sendHtml', 'sendResponse'],
  './adapters/express': ['rampartErrors', 'rampartExpress', 'sendHtml', 'sendResponse'],
  './adapters/fastify': ['rampartFastify'],
  './adapters/hono': ['rampartHono'],
  './adapters/hono-node': ['rampartHonoNode'],
};

const subpaths = Object.keys(manifest.exports).filter((subpath) => subpath !== './package.json');

describe('package surface', () => {
  it('has exactly the subpaths listed here', () => {
    expect(subpaths.sort()).toEqual(Object.keys(SURFACE).sort());
  });

  it.each(subpaths)('%s exports exactly its listed names', async (subpath) => {
    const name = subpath === '.' ? 'rampart' : `rampart/${subpath.slice(2)}`;
    const module = (await import(/* @vite-ignore */ name)) as Record<string, unknown>;
    expect(Object.keys(module).sort()).toEqual([...SURFACE[subpath]!].sort());
  });

  it('has no runtime dependencies', () => {
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it.each(subpaths)('%s points at built files that Node can import', (subpath) => {
    const target = manifest.exports[subpath] as { types: string; default: string };
    expect(existsSync(new URL(target.default, root)), `${target.default} (run npm run build)`).toBe(true);
    expect(existsSync(new URL(target.types, root)), target.types).toBe(true);
    const name = subpath === '.' ? 'rampart' : `rampart/${subpath.slice(2)}`;
    // A real Node process resolves the package by its name, as a user's app would.
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(name)}); console.log(Object.keys(m).sort().join(','))`], {
      cwd: new URL('.', root),
      encoding: 'utf8',
    });
    expect(printed.trim()).toBe([...SURFACE[subpath]!].sort().join(','));
  });
});
