/**
 * Permissions-Policy (W3C Permissions Policy, structured-field dictionary syntax).
 *
 * Only features a current browser recognizes are accepted: Chromium logs a console
 * warning for every unknown name, and a typo silently leaves the feature allowed.
 */

import { closest, describe, isPlainObject } from '../_internal/describe.ts';

const FEATURES = [
  'accelerometer',
  'autoplay',
  'bluetooth',
  'browsing-topics',
  'camera',
  'captured-surface-control',
  'compute-pressure',
  'cross-origin-isolated',
  'deferred-fetch',
  'display-capture',
  'encrypted-media',
  'fullscreen',
  'gamepad',
  'geolocation',
  'gyroscope',
  'hid',
  'identity-credentials-get',
  'idle-detection',
  'keyboard-map',
  'local-fonts',
  'magnetometer',
  'microphone',
  'midi',
  'otp-credentials',
  'payment',
  'picture-in-picture',
  'publickey-credentials-create',
  'publickey-credentials-get',
  'screen-wake-lock',
  'serial',
  'storage-access',
  'sync-xhr',
  'usb',
  'web-share',
  'window-management',
  'xr-spatial-tracking',
] as const;

/** A feature a current browser recognizes in Permissions-Policy. */
export type PermissionsPolicyFeature = (typeof FEATURES)[number];

/**
 * Who may use a feature: `[]` nobody, `['self']` this origin, `['*']` everyone, or
 * `'self'` and origins like `'https://maps.example'`.
 */
export type PermissionsAllowlist = readonly ('self' | '*' | (string & {}))[];

/** Feature name to allowlist. */
export type PermissionsPolicy = { readonly [Feature in PermissionsPolicyFeature]?: PermissionsAllowlist };

/**
 * The default: deny every powerful feature a typical web app does not use. Apps
 * that need one allow it by name, e.g. `{ camera: ['self'] }`. Only features every
 * Chromium build recognizes are listed (`bluetooth` and `web-share` exist only on some
 * platforms and make the others log a warning on every page).
 */
export const DEFAULT_PERMISSIONS_POLICY: PermissionsPolicy = {
  accelerometer: [],
  autoplay: [],
  'browsing-topics': [],
  camera: [],
  'display-capture': [],
  'encrypted-media': [],
  geolocation: [],
  gyroscope: [],
  hid: [],
  'idle-detection': [],
  'local-fonts': [],
  magnetometer: [],
  microphone: [],
  midi: [],
  payment: [],
  'publickey-credentials-get': [],
  'screen-wake-lock': [],
  serial: [],
  usb: [],
  'window-management': [],
  'xr-spatial-tracking': [],
};

const ORIGIN = /^https?:\/\/[a-zA-Z0-9.-]+(?::\d{1,5})?$/;

/** Validates a policy and serializes it: `camera=(), fullscreen=(self "https://a.example")`. */
export function serializePermissionsPolicy(policy: unknown, where: string): string {
  if (!isPlainObject(policy)) throw new TypeError(`rampart: ${where}: expected an object of feature allowlists, got ${describe(policy)}.`);
  const entries: string[] = [];
  for (const [feature, allowlist] of Object.entries(policy)) {
    if (allowlist === undefined) continue;
    if (!(FEATURES as readonly string[]).includes(feature)) {
      const guess = closest(feature, FEATURES);
      throw new TypeError(
        `rampart: ${where}: unknown feature "${feature}".${guess ? ` Did you mean "${guess}"?` : ''} Browsers ignore unknown features, leaving them allowed.`,
      );
    }
    if (!Array.isArray(allowlist)) {
      throw new TypeError(`rampart: ${where}["${feature}"]: expected an array such as [] or ['self'], got ${describe(allowlist)}.`);
    }
    const items = (allowlist as unknown[]).map((item) => {
      if (item === 'self' || item === '*') return item;
      if (item === "'self'" || item === 'none' || item === "'none'") {
        throw new TypeError(`rampart: ${where}["${feature}"]: write ${item === "'self'" ? "'self' as \"self\"" : "nobody as an empty array []"}.`);
      }
      if (typeof item !== 'string' || !ORIGIN.test(item)) {
        throw new TypeError(`rampart: ${where}["${feature}"]: ${describe(item)} is not "self", "*" or an origin like "https://example.com".`);
      }
      return `"${item}"`;
    });
    if (items.includes('*') && items.length > 1) {
      throw new TypeError(`rampart: ${where}["${feature}"]: "*" allows every origin; it cannot be combined with others.`);
    }
    entries.push(items.length === 1 && items[0] === '*' ? `${feature}=*` : `${feature}=(${items.join(' ')})`);
  }
  return entries.join(', ');
}
