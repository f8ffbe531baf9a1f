import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveInside, safeJoin, type PathRejection } from './join.ts';

const ROOT = '/srv/static';
const INSIDE = `${ROOT}/`;

/**
 * Every way a later layer might read a joined path again: percent-decoded again
 * (leniently, with IIS `%u` escapes and overlong UTF-8 accepted), NFKC-normalised,
 * with backslashes as separators and Windows' trailing dots and spaces stripped.
 */
function laterReadings(relative: string): string[] {
  const readings = new Set<string>();
  let current = relative;
  for (let round = 0; round < 3; round++) {
    for (const reading of [current, current.normalize('NFKC')]) {
      readings.add(reading);
      readings.add(reading.replace(/\\/g, '/'));
    }
    current = lenientDecode(current);
  }
  return [...readings];
}

/** A careless decoder: `%uXXXX`, and UTF-8 byte runs decoded without refusing overlong forms. */
function lenientDecode(text: string): string {
  const unicode = text.replace(/%u([0-9a-f]{4})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return unicode.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    const bytes = run.slice(1).split('%').map((hex) => parseInt(hex, 16));
    let out = '';
    for (let index = 0; index < bytes.length; ) {
      const lead = bytes[index]!;
      const width = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
      let code = width === 1 ? lead : lead & (0xff >> (width + 1));
      for (let next = 1; next < width; next++) code = (code << 6) | ((bytes[index + next] ?? 0) & 0x3f);
      out += String.fromCodePoint(Math.min(code, 0x10ffff));
      index += width;
    }
    return out;
  });
}

/** True when some later reading of `path` (a result of safeJoin) leaves `root`. */
function escapes(path: string, root = ROOT): boolean {
  if (!path.startsWith(`${root}/`)) return true;
  const relative = path.slice(root.length + 1);
  if (relative === '') return true;
  for (const reading of laterReadings(relative)) {
    if (reading.startsWith('/') || /^[a-z]:/i.test(reading)) return true;
    for (const segment of reading.split('/')) {
      const windowsName = segment.replace(/[. ]+$/, '');
      if (segment === '' || segment === '.' || segment === '..' || (segment.startsWith('.') && windowsName === '')) return true;
    }
  }
  return false;
}

function code(untrusted: string, options?: { dotfiles?: 'ignore' | 'allow' }): PathRejection | 'ok' {
  const resolved = resolveInside(ROOT, untrusted, options);
  return 'path' in resolved ? 'ok' : resolved.rejected;
}

describe('safeJoin: names that are served', () => {
  it.each([
    ['a.txt', 'a.txt'],
    ['dir/file.min.js', 'dir/file.min.js'],
    ['ünïcode/名前.txt', 'ünïcode/名前.txt'],
    ['%C3%BCn%C3%AFcode/%E5%90%8D%E5%89%8D.txt', 'ünïcode/名前.txt'],
    ['100 percent.txt', '100 percent.txt'],
    ['100%20percent.txt', '100 percent.txt'],
    ['a%2Fb.txt', 'a/b.txt'],
    ['a..b', 'a..b'],
    ['v1.2.3/app.js', 'v1.2.3/app.js'],
    ['CONSOLE.txt', 'CONSOLE.txt'],
    ['com10', 'com10'],
    ['lpt', 'lpt'],
    ['nul-not.txt', 'nul-not.txt'],
    ['aux_files/x', 'aux_files/x'],
    ['0x2e0x2e', '0x2e0x2e'],
    ['a;b=c', 'a;b=c'],
    ['emoji-😀.png', 'emoji-😀.png'],
    ['100%.txt'.replace('%', '%25'), '100%.txt'],
    ['Ω.txt', 'Ω.txt'],
  ])('%j → root/%s', (untrusted, relative) => {
    expect(safeJoin(ROOT, untrusted)).toBe(`${ROOT}/${relative}`);
  });

  it('serves dotfiles only with dotfiles: allow', () => {
    expect(safeJoin(ROOT, '.env')).toBeNull();
    expect(code('.env')).toBe('file_not_found');
    expect(code('.git/config')).toBe('file_not_found');
    expect(code('.GIT/config')).toBe('file_not_found');
    expect(code('a/.htaccess')).toBe('file_not_found');
    expect(safeJoin(ROOT, '.env', { dotfiles: 'allow' })).toBe(`${ROOT}/.env`);
    expect(safeJoin(ROOT, '.well-known/security.txt', { dotfiles: 'allow' })).toBe(`${ROOT}/.well-known/security.txt`);
    expect(safeJoin(ROOT, '%2egit/config', { dotfiles: 'allow' })).toBe(`${ROOT}/.git/config`);
    // Allowing dotfiles never allows `.` and `..`.
    expect(code('..', { dotfiles: 'allow' })).toBe('path_traversal');
    expect(code('./a', { dotfiles: 'allow' })).toBe('path_traversal');
    expect(code('...', { dotfiles: 'allow' })).toBe('path_traversal');
    expect(code('..;/a', { dotfiles: 'allow' })).toBe('path_traversal');
  });
});

describe('resolveInside: hostile paths (research §3.2, §1.9)', () => {
  it.each<[string, PathRejection]>([
    // Empty, root, directories
    ['', 'file_not_found'],
    ['dir/', 'file_not_found'],
    ['/', 'path_traversal'],
    ['.', 'path_traversal'],
    ['./', 'path_traversal'],
    // Absolute paths: path.resolve(base, '/etc/passwd') is /etc/passwd
    ['/etc/passwd', 'path_traversal'],
    ['//etc/passwd', 'path_traversal'],
    ['%2fetc%2fpasswd', 'path_traversal'],
    ['%2Fetc/passwd', 'path_traversal'],
    // Dot segments in every spelling
    ['..', 'path_traversal'],
    ['../etc/passwd', 'path_traversal'],
    ['a/../../etc/passwd', 'path_traversal'],
    ['a/./b', 'path_traversal'],
    ['a/..', 'path_traversal'],
    ['%2e%2e/etc/passwd', 'path_traversal'],
    ['%2E%2E/etc/passwd', 'path_traversal'],
    ['.%2e/etc/passwd', 'path_traversal'],
    ['%2e./etc/passwd', 'path_traversal'],
    ['..%2fetc%2fpasswd', 'path_traversal'],
    ['a/..%2fb', 'path_traversal'], // survives WHATWG URL parsing, decoded afterwards
    ['..%5cetc', 'path_traversal'],
    ['...', 'path_traversal'],
    ['..../x', 'path_traversal'],
    ['..;/x', 'path_traversal'],
    ['.. /x', 'path_traversal'],
    // The sibling-prefix root (send CVE-2014-6394, formidable #1061)
    ['../static-evil/secret', 'path_traversal'],
    ['..%2fstatic-evil%2fsecret', 'path_traversal'],
    // Empty segments
    ['a//b', 'path_traversal'],
    ['a/%2f/b', 'path_traversal'],
    // Double encoding: decoded exactly once, a remaining escape is refused
    ['%252e%252e/etc/passwd', 'path_malformed'],
    ['%252e%252e%252f', 'path_malformed'],
    ['a%2541.txt', 'path_malformed'],
    ['%25uff0e%25uff0e', 'path_malformed'],
    ['%%32%65%%32%65/x', 'path_malformed'],
    // Malformed escapes, invalid and overlong UTF-8
    ['%', 'path_malformed'],
    ['%zz', 'path_malformed'],
    ['a%2', 'path_malformed'],
    ['100%.txt', 'path_malformed'],
    ['%c0%ae%c0%ae/etc/passwd', 'path_malformed'],
    ['%c0%af', 'path_malformed'],
    ['%c1%9c', 'path_malformed'],
    ['%e0%80%ae%e0%80%ae/x', 'path_malformed'],
    ['%f0%80%80%ae', 'path_malformed'],
    ['%ed%a0%80', 'path_malformed'],
    ['%ff', 'path_malformed'],
    ['%uff0e%uff0e/x', 'path_malformed'],
    ['%u2215', 'path_malformed'],
    ['a\uD800b', 'path_malformed'],
    ['a\uDC00b', 'path_malformed'],
    // NUL and controls
    ['a\0b', 'path_malformed'],
    ['a%00', 'path_malformed'],
    ['..%00', 'path_malformed'],
    ['index.html%00.txt', 'path_malformed'],
    ['..%01', 'path_malformed'],
    ['a%0a', 'path_malformed'],
    ['a\tb', 'path_malformed'],
    ['a%7f', 'path_malformed'],
    ['a%c2%85', 'path_malformed'],
    ['a\u009fb', 'path_malformed'],
    // Backslashes: literal on POSIX, a separator on Windows
    ['..\\etc\\passwd', 'path_traversal'],
    ['a\\b', 'path_traversal'],
    ['a%5cb', 'path_traversal'],
    ['\\\\evil\\share\\x', 'path_traversal'],
    // Drive letters, NTFS streams, UNC (Node CVE-2025-23084)
    ['C:', 'path_traversal'],
    ['C:foo', 'path_traversal'],
    ['c:/windows/win.ini', 'path_traversal'],
    ['C%3a%5cwindows', 'path_traversal'],
    ['file.txt::$DATA', 'path_traversal'],
    ['a:stream', 'path_traversal'],
    // Windows reserved characters
    ['a<b', 'path_traversal'],
    ['a>b', 'path_traversal'],
    ['a"b', 'path_traversal'],
    ['a|b', 'path_traversal'],
    ['a?b', 'path_traversal'],
    ['a*b', 'path_traversal'],
    ['.?', 'path_traversal'],
    ['a%3fb', 'path_traversal'],
    // Windows device names, with extensions, spaces, dots, any case (CVE-2025-27210)
    ['CON', 'path_traversal'],
    ['con', 'path_traversal'],
    ['con.txt', 'path_traversal'],
    ['NUL.tar.gz', 'path_traversal'],
    ['CON .txt', 'path_traversal'],
    ['nul ', 'path_traversal'],
    ['NUL.', 'path_traversal'],
    ['aux', 'path_traversal'],
    ['Prn.log', 'path_traversal'],
    ['dir/com1', 'path_traversal'],
    ['COM0.x', 'path_traversal'],
    ['lpt9.txt', 'path_traversal'],
    ['COM\u00B9', 'path_traversal'],
    ['LPT\u00B2.txt', 'path_traversal'],
    ['lpt\u00B3', 'path_traversal'],
    ['CONIN$', 'path_traversal'],
    ['conout$.txt', 'path_traversal'],
    ['\uFF23\uFF2F\uFF2E', 'path_traversal'], // fullwidth CON
    // Trailing dots and spaces (stripped by Win32: `a.txt.` is `a.txt`)
    ['a.txt.', 'path_traversal'],
    ['a.txt ', 'path_traversal'],
    ['dir./x', 'path_traversal'],
    // Unicode that NFKC turns into dots, slashes, colons, percent (GHSA-wpmx-564x-h2mh)
    ['\uFF0E\uFF0E/etc/passwd', 'path_traversal'],
    ['\uFF0E\uFF0E\uFF0Fetc', 'path_traversal'],
    ['%EF%BC%8E%EF%BC%8E%EF%BC%8F', 'path_traversal'],
    ['\u2024\u2024/x', 'path_traversal'],
    ['\u2025/x', 'path_traversal'],
    ['\u2026', 'path_traversal'],
    ['\uFE52\uFE52/x', 'path_traversal'],
    ['a\uFF0Etxt', 'path_traversal'],
    ['\uFF0Eenv', 'path_traversal'],
    ['file\u2488', 'path_traversal'],
    ['a\uFF0Fb', 'path_traversal'],
    ['a\uFF3Cb', 'path_traversal'],
    ['a\uFE68b', 'path_traversal'],
    ['a\uFF1Ab', 'path_traversal'],
    ['\uFF05\uFF12\uFF45', 'path_traversal'],
    ['a\uFE6A2e', 'path_traversal'],
    ['\u2100', 'path_traversal'],
    ['a\uFF1Cb', 'path_traversal'],
    // Slash look-alikes that NFKC keeps but best-fit conversion does not
    ['..\u2215etc', 'path_traversal'],
    ['a\u2215b', 'path_traversal'],
    ['a\u2216b', 'path_traversal'],
    ['a\u2044b', 'path_traversal'],
    ['a\u29F8b', 'path_traversal'],
    ['..\u00A5x', 'path_traversal'],
    ['a\u20A9b', 'path_traversal'],
  ])('%j → %s', (untrusted, expected) => {
    expect(code(untrusted)).toBe(expected);
    expect(safeJoin(ROOT, untrusted)).toBeNull();
  });

  it.each<[string, string, PathRejection | 'ok']>([
    ['a name of 255 bytes', 'x'.repeat(255), 'ok'],
    ['a name of 256 bytes', 'x'.repeat(256), 'path_malformed'],
    ['a name of 128 two-byte characters', '\u00E9'.repeat(128), 'path_malformed'],
    ['a name of 63 four-byte characters', '\u{1F600}'.repeat(63), 'ok'],
    ['a name of 64 four-byte characters', '\u{1F600}'.repeat(64), 'path_malformed'],
    ['a path of 4096 bytes with the root', `${'x/'.repeat(2041)}xx`, 'ok'],
    ['a path of 4097 bytes with the root', `${'x/'.repeat(2041)}xxx`, 'path_malformed'],
    ['4097 escaped bytes', '%41'.repeat(4097), 'path_malformed'],
    ['20 000 characters', 'a'.repeat(20_000), 'path_malformed'],
  ])('%s', (_label, untrusted, expected) => {
    expect(code(untrusted)).toBe(expected);
  });

  it('refuses traversal before deciding a dotfile is merely hidden', () => {
    expect(code('.git/../../etc/passwd')).toBe('path_traversal');
    expect(code('.env/%00')).toBe('path_malformed');
  });
});

describe('the root', () => {
  it.each([['/srv/static/'], ['/srv/static//'], ['/srv/static']])('%j is normalised', (root) => {
    expect(safeJoin(root, 'a.txt')).toBe('/srv/static/a.txt');
  });

  it('can be /', () => {
    expect(safeJoin('/', 'a.txt')).toBe('/a.txt');
    expect(safeJoin('/', '../a.txt')).toBeNull();
  });

  it('never counts a sibling with the same prefix as inside', () => {
    for (const untrusted of ['../static-evil/secret', '..%2fstatic-evil%2fsecret', '%2e%2e/static-evil/secret']) {
      expect(safeJoin('/srv/static', untrusted)).toBeNull();
    }
  });

  it.each([['static'], ['./static'], ['C:\\srv'], [''], ['~/static'], [undefined], [42]])('%j is a TypeError that names the root', (root) => {
    expect(() => safeJoin(root as string, 'a.txt')).toThrow(TypeError);
    expect(() => safeJoin(root as string, 'a.txt')).toThrow(/root must be an absolute POSIX path/);
  });

  it.each([['/srv/../etc'], ['/srv/./static'], ['/srv//static'], ['/srv/\0static']])('%j (not normalised) is a TypeError', (root) => {
    expect(() => safeJoin(root, 'a.txt')).toThrow(/normalised absolute path.*path\.resolve/);
  });

  it('echoes the bad root in the message', () => {
    expect(() => safeJoin('static', 'a')).toThrow('got "static"');
  });

  it('refuses an untrusted path that is not a string, and unknown options', () => {
    expect(() => safeJoin(ROOT, undefined as unknown as string)).toThrow(/must be a string, got undefined/);
    expect(() => safeJoin(ROOT, 'a', { dotfile: 'allow' } as never)).toThrow(/unknown option "dotfile". Did you mean "dotfiles"/);
    expect(() => safeJoin(ROOT, 'a', { dotfiles: 'deny' } as never)).toThrow(/'ignore' or 'allow', got "deny"/);
  });
});

/** The dot, slash and target forms of dotdotpwn-style generated traversal lists. */
const DOTS = [
  '..',
  '.%2e',
  '%2e.',
  '%2e%2e',
  '%2E%2E',
  '%252e%252e',
  '%c0%ae%c0%ae',
  '%e0%80%ae%e0%80%ae',
  '%f0%80%80%ae%f0%80%80%ae',
  '%uff0e%uff0e',
  '\uFF0E\uFF0E',
  '%ef%bc%8e%ef%bc%8e',
  '\u2025',
  '\u2024\u2024',
  '\uFE52\uFE52',
  '..%00',
  '..%01',
  '.?',
  '...',
  '....',
  '..;',
  '.. ',
  '%%32%65%%32%65',
  '0x2e0x2e',
];
const SLASHES = [
  '/',
  '\\',
  '%2f',
  '%2F',
  '%5c',
  '%5C',
  '%252f',
  '%255c',
  '%c0%af',
  '%c1%9c',
  '%c0%2f',
  '%e0%80%af',
  '%u2215',
  '%uff0f',
  '\uFF0F',
  '\uFF3C',
  '\u2215',
  '%e2%88%95',
  '//',
  '/./',
  '\\/',
  '/%2e/',
];
const TARGETS = ['etc/passwd', 'windows/win.ini', '../static-evil/secret', '.env', '.git/config'];
const SUFFIXES = ['', '%00', '%00index.html', ';index.html'];
const PREFIXES = ['', 'assets/', '/'];

function corpus(): string[] {
  const strings: string[] = [];
  for (const dot of DOTS) {
    for (const slash of SLASHES) {
      for (let depth = 1; depth <= 8; depth++) {
        const climb = (dot + slash).repeat(depth);
        for (const target of TARGETS) {
          for (const suffix of SUFFIXES) {
            for (const prefix of PREFIXES) strings.push(prefix + climb + target + suffix);
          }
        }
      }
    }
  }
  // Special shapes of the same lists.
  for (const special of ['..//', '..\\/', './../', '...//', '.../', '..%2f%2f', '%2e%2e//', '..%255c']) {
    for (let depth = 1; depth <= 8; depth++) {
      for (const target of TARGETS) strings.push(special.repeat(depth) + target);
    }
  }
  return strings;
}

describe('a generated traversal corpus', () => {
  const strings = corpus();

  it('is large', () => {
    expect(strings.length).toBeGreaterThan(5000);
  });

  it('never yields a path outside the root, however it is read afterwards', () => {
    const outside: string[] = [];
    let served = 0;
    for (const untrusted of strings) {
      const path = safeJoin(ROOT, untrusted, { dotfiles: 'allow' });
      if (path === null) continue;
      served++;
      const relative = path.slice(INSIDE.length);
      if (!path.startsWith(INSIDE) || relative.split('/').some((segment) => segment === '..' || segment === '.') || escapes(path)) outside.push(untrusted);
    }
    expect(outside).toEqual([]);
    // Only the literal `0x2e0x2e` form survives, as the ordinary file name it is.
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(strings.length / 20);
  });

  it('serves nothing of the corpus but the literal name 0x2e0x2e, and no dotfile', () => {
    for (const untrusted of strings) {
      const path = safeJoin(ROOT, untrusted);
      if (path === null) continue;
      expect(untrusted, untrusted).toMatch(/^(?:assets\/)?0x2e0x2e/);
      expect(path.slice(INSIDE.length).split('/').some((segment) => segment.startsWith('.')), path).toBe(false);
    }
  });
});

describe('properties', () => {
  const PIECES = [...DOTS, ...SLASHES, '.', '%', '%2', '%25', '2e', 'c0', 'ae', 'a', 'etc', 'passwd', ' ', ';', '\0', 'con', '\u0301', 'e\u0301', 'ß', '名', '\uD83D', '\uDE00', '😀', ':', '~', '$'];
  const pieced = fc.array(fc.constantFrom(...PIECES), { maxLength: 24 }).map((parts) => parts.join(''));
  const anything = fc.oneof(fc.string({ unit: 'binary', maxLength: 64 }), fc.string({ unit: 'grapheme', maxLength: 32 }), pieced);

  function isInside(path: string | null): boolean {
    if (path === null) return true;
    const relative = path.slice(INSIDE.length);
    return path.startsWith(INSIDE) && relative !== '' && relative.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..') && !escapes(path);
  }

  it('any string is refused or lands strictly inside the root', () => {
    fc.assert(
      fc.property(anything, fc.constantFrom<'ignore' | 'allow'>('ignore', 'allow'), (untrusted, dotfiles) => {
        const path = safeJoin(ROOT, untrusted, { dotfiles });
        expect(isInside(path)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('a percent-encoded string is refused or lands strictly inside the root', () => {
    fc.assert(
      fc.property(anything, (value) => {
        let encoded: string;
        try {
          encoded = encodeURIComponent(value);
        } catch {
          return;
        }
        expect(isInside(safeJoin(ROOT, encoded, { dotfiles: 'allow' }))).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });

  it('an ordinary name is served, encoded or not, at the same path', () => {
    const letter = fc.constantFrom(...'abcxyzABCXYZ0189_-éüßΩжק名前😀'.match(/./gu)!);
    const word = fc.array(letter, { minLength: 1, maxLength: 12 }).map((parts) => parts.join(''));
    const name = fc
      .tuple(word, fc.option(fc.constantFrom('txt', 'min.js', 'tar.gz', 'png'), { nil: undefined }))
      .map(([base, extension]) => (extension === undefined ? base : `${base}.${extension}`))
      .filter((segment) => !/^(?:con|prn|aux|nul|com\d|lpt\d)$/i.test(segment.split('.')[0]!));
    const relative = fc.array(name, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(relative, (path) => {
        expect(safeJoin(ROOT, path)).toBe(`${ROOT}/${path}`);
        expect(safeJoin(ROOT, path.split('/').map(encodeURIComponent).join('/'))).toBe(`${ROOT}/${path}`);
      }),
      { numRuns: 2_000 },
    );
  });
});
