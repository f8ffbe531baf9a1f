/**
 * A path from a URL, joined under a root directory only when no reading of it can
 * name anything outside that root: not on this machine, not after another layer
 * decodes it again, not after Unicode normalisation, not if the files are later
 * copied to Windows.
 *
 * The rule is an allowlist of shapes rather than a normalisation: `..`, `.`, empty
 * segments, backslashes, colons and look-alikes are refused, never "cleaned up",
 * because every cleanup a server does differently from the layer after it is a
 * traversal (send's partial-prefix root check, CVE-2014-6394; Node's own
 * `path.join` with Windows drive and device names, CVE-2025-23084 and
 * CVE-2025-27210; NFKC applied after the `..` check, GHSA-wpmx-564x-h2mh).
 */

import type { RampartErrorCode } from '../errors.ts';
import { describe, rejectUnknownKeys } from '../_internal/describe.ts';

/** Why a path was refused: the error code a server answers with. */
export type PathRejection = Extract<RampartErrorCode, 'path_malformed' | 'path_traversal' | 'file_not_found'>;

/** The outcome of `resolveInside`: the joined path, or why it was refused. */
export type ResolvedPath = { readonly path: string } | { readonly rejected: PathRejection };

/** Options of `safeJoin` and `resolveInside`. */
export interface SafeJoinOptions {
  /**
   * `'ignore'` (the default) refuses every segment that starts with `.` (`.env`,
   * `.git/config`) as if it did not exist; `'allow'` serves them.
   */
  readonly dotfiles?: 'ignore' | 'allow';
}

const OPTION_NAMES = ['dotfiles'] as const;

/** NAME_MAX of Linux and most file systems, in UTF-8 bytes. */
const MAX_SEGMENT_BYTES = 255;
/** PATH_MAX of Linux, in UTF-8 bytes, for the whole joined path. */
const MAX_PATH_BYTES = 4096;

/** A UTF-16 code unit that is half of a surrogate pair with no other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What makes a decoded path malformed: C0 and C1 controls and DEL (NUL truncates
 * paths in C code and poisons logs), and a percent-escape still present after the
 * one decoding (`%252e` → `%2e`: whatever decodes it a second time sees `.`),
 * including IIS's `%uFF0E` form.
 */
const MALFORMED = /\p{Cc}|%(?:[0-9A-Fa-f]{2}|[Uu][0-9A-Fa-f]{4})/u;

/**
 * Characters refused anywhere in a decoded path:
 * - `\`: a separator on Windows, so `..\..\x` escapes once the files move there;
 * - `:`: drive letters (`C:x` is drive-relative), NTFS alternate streams
 *   (`file:stream:$DATA`), and Windows' reserved `< > " | ? *`;
 * - look-alikes of `/` and `\` that NFKC leaves alone but decoders and Windows'
 *   "best-fit" code-page conversion turn into the real separator: DIVISION SLASH
 *   U+2215, SET MINUS U+2216, FRACTION SLASH U+2044, BIG SOLIDUS U+29F8/U+29F9,
 *   and YEN U+00A5 / WON U+20A9, which are `\` in the Japanese and Korean code pages.
 */
const FORBIDDEN = /[\\:<>"|?*\u2215\u2216\u2044\u29F8\u29F9\u00A5\u20A9]/;

/**
 * Windows device names, which name a device in every directory and with any
 * extension (`con.txt`, `NUL.tar.gz`): the part before the first dot, spaces trimmed,
 * compared without case. Superscript digits and `CONIN$`/`CONOUT$` are devices too.
 */
const DEVICE_NAME = /^(?:CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|(?:COM|LPT)[0-9\u00B9\u00B2\u00B3])$/i;

const NON_ASCII = /[^\p{ASCII}]/u;

/**
 * Joins an untrusted URL path under `root`, or returns `null` when the path is not a
 * plain relative path of ordinary names. See `resolveInside` for what is refused;
 * this is the same check without the reason.
 *
 * @example
 * ```ts
 * safeJoin('/srv/static', 'css/site.css')      // '/srv/static/css/site.css'
 * safeJoin('/srv/static', '..%2fetc%2fpasswd') // null
 * safeJoin('/srv/static', '.env')              // null (dotfiles: 'allow' to serve it)
 * ```
 */
export function safeJoin(root: string, untrusted: string, options?: SafeJoinOptions): string | null {
  const resolved = resolveInside(root, untrusted, options);
  return 'path' in resolved ? resolved.path : null;
}

/**
 * Joins an untrusted URL path under `root` (an absolute POSIX path), with the reason
 * when it refuses. `untrusted` is the part of the URL path after the route's prefix,
 * percent-encoded or already decoded: it is decoded exactly once, and refused when:
 *
 * - `path_malformed`: a bad percent-escape, invalid or overlong UTF-8 (`%c0%ae`), a
 *   lone surrogate, a control character (NUL, C0, DEL, C1), a percent-escape left
 *   after decoding (double encoding), a name over 255 bytes or a path over 4096;
 * - `path_traversal`: an absolute path, an empty, `.` or `..` segment (or one starting
 *   with `..`), `\`, `:`, `< > " | ? *`, a slash look-alike, a name whose NFKC form
 *   adds `.`, `/`, `\`, `:` or `%` (`．．／`, U+2024, U+2025), a Windows device name
 *   (`CON`, `nul.txt`, `COM¹`), a name ending in a dot or space;
 * - `file_not_found`: a dotfile (unless `dotfiles: 'allow'`), the root itself (`''`),
 *   or a path ending in `/` (a directory).
 *
 * The result is `root + '/' + path`, and is checked to start with `root + '/'`
 * (never a bare prefix: `/srv/uploads-evil` is not inside `/srv/uploads`).
 *
 * It is a string check only: it cannot see symlinks or hardlinks. To open the file,
 * use `staticFiles` from `rampart/paths/static`, which also resolves symlinks and
 * refuses those that leave the root.
 *
 * @example
 * ```ts
 * const resolved = resolveInside('/srv/static', request.params.path)
 * if ('rejected' in resolved) throw new RampartError(resolved.rejected)
 * const file = await open(resolved.path, constants.O_RDONLY | constants.O_NOFOLLOW)
 * ```
 */
export function resolveInside(root: string, untrusted: string, options?: SafeJoinOptions): ResolvedPath {
  const prefix = rootPrefix(root);
  const dotfiles = dotfilesOption(options);
  if (typeof untrusted !== 'string') {
    throw new TypeError(`rampart: the untrusted path must be a string, got ${describe(untrusted)}. Pass the part of the URL path after the route's prefix.`);
  }
  // Each byte of the decoded path costs at most three characters here, so a longer
  // input can only decode to more than PATH_MAX: refused before any work.
  if (untrusted.length > 3 * MAX_PATH_BYTES) return { rejected: 'path_malformed' };
  const decoded = decodeOnce(untrusted);
  if (decoded === null || MALFORMED.test(decoded)) return { rejected: 'path_malformed' };
  if (utf8Length(prefix) + utf8Length(decoded) > MAX_PATH_BYTES) return { rejected: 'path_malformed' };
  if (decoded === '') return { rejected: 'file_not_found' };
  if (decoded.charCodeAt(0) === 0x2f || FORBIDDEN.test(decoded)) return { rejected: 'path_traversal' };
  // A trailing slash names a directory, and directories are never files to serve.
  const directory = decoded.charCodeAt(decoded.length - 1) === 0x2f;
  const segments = (directory ? decoded.slice(0, -1) : decoded).split('/');
  let hidden = false;
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) return { rejected: problem };
    // (A name whose NFKC form starts with a dot it did not have was refused above.)
    if (segment.charCodeAt(0) === 0x2e) hidden = true;
  }
  if (hidden && dotfiles === 'ignore') return { rejected: 'file_not_found' };
  if (directory) return { rejected: 'file_not_found' };
  const path = prefix + decoded;
  // The segments were checked one by one; this is the invariant they guarantee,
  // asserted on the result itself (never a bare prefix: `/srv/uploads-evil`).
  if (!path.startsWith(prefix) || path.length === prefix.length) return { rejected: 'path_traversal' };
  return { path };
}

/** `root` with one trailing slash, after checking it is an absolute, normalised POSIX path. */
function rootPrefix(root: string): string {
  if (typeof root !== 'string' || root.charCodeAt(0) !== 0x2f) {
    throw new TypeError(`rampart: the root must be an absolute POSIX path, got ${describe(root)}. Pass a path starting with "/", e.g. path.resolve('static').`);
  }
  const trimmed = root.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  if (/\p{Cc}/u.test(trimmed) || trimmed.slice(1).split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new TypeError(`rampart: the root must be a normalised absolute path (no control characters, no ".", ".." or empty segments), got ${describe(root)}. Pass it through path.resolve() first.`);
  }
  return `${trimmed}/`;
}

function dotfilesOption(options: SafeJoinOptions | undefined): 'ignore' | 'allow' {
  if (options === undefined) return 'ignore';
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`rampart: the options of safeJoin/resolveInside must be an object, got ${describe(options)}.`);
  }
  rejectUnknownKeys(options, OPTION_NAMES, '');
  const dotfiles = options.dotfiles ?? 'ignore';
  if (dotfiles !== 'ignore' && dotfiles !== 'allow') {
    throw new TypeError(`rampart: option "dotfiles" must be 'ignore' or 'allow', got ${describe(dotfiles)}.`);
  }
  return dotfiles;
}

/**
 * Percent-decodes exactly once, or `null` for a bad escape, invalid UTF-8 (overlong
 * forms like `%c0%ae` and encoded surrogates included: `decodeURIComponent` refuses
 * them, where `TextDecoder` would turn them into U+FFFD) or a lone surrogate.
 */
function decodeOnce(text: string): string | null {
  if (LONE_SURROGATE.test(text)) return null;
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** What is wrong with one segment of a decoded path, if anything (dotfiles aside). */
function segmentProblem(segment: string): PathRejection | undefined {
  if (utf8Length(segment) > MAX_SEGMENT_BYTES) return 'path_malformed';
  if (segment === '' || segment === '.') return 'path_traversal';
  // `..` itself, and `..;`, `.. ` or `..%00` that another layer (Tomcat's `;`
  // parameters, Windows' trimming, C's NUL) would read as `..`.
  if (segment.startsWith('..')) return 'path_traversal';
  if (windowsHazard(segment)) return 'path_traversal';
  if (!NON_ASCII.test(segment)) return undefined;
  const normalized = segment.normalize('NFKC');
  if (normalized === segment) return undefined;
  // Checked as the name it becomes once something normalises it (a later layer, a
  // macOS or Windows file system, "best-fit" conversion): `．．／` must not turn into `../`.
  if (/[/\\:]/.test(normalized) || count(normalized, '.') > count(segment, '.') || count(normalized, '%') > count(segment, '%')) {
    return 'path_traversal';
  }
  if (normalized === '.' || normalized.startsWith('..') || FORBIDDEN.test(normalized) || MALFORMED.test(normalized) || windowsHazard(normalized)) {
    return 'path_traversal';
  }
  return undefined;
}

/**
 * A name Windows would not store as written: a device name, with or without an
 * extension, or a name ending in a dot or space (which Win32 silently strips, so
 * `a.txt.` and `a.txt` are the same file there).
 */
function windowsHazard(segment: string): boolean {
  const last = segment.charCodeAt(segment.length - 1);
  if (last === 0x2e || last === 0x20) return true;
  const dot = segment.indexOf('.');
  const base = (dot === -1 ? segment : segment.slice(0, dot)).trim();
  return DEVICE_NAME.test(base);
}

function count(text: string, character: string): number {
  let found = 0;
  for (let index = text.indexOf(character); index !== -1; index = text.indexOf(character, index + 1)) found++;
  return found;
}

/** The UTF-8 length of a well-formed string, without encoding it. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // A surrogate pair is 4 bytes: 2 for each half.
    bytes += code < 0x80 ? 1 : code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 2 : 3;
  }
  return bytes;
}
