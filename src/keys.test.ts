import { describe, expect, it } from 'vitest';
import { generateKey, parseKeyring } from './keys.ts';

const key = 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s';
const older = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8';

describe('keyring', () => {
  it('takes one key or a list, current first', () => {
    expect(parseKeyring(key, true, () => {}).keys).toHaveLength(1);
    const ring = parseKeyring([key, older], true, () => {});
    expect(ring.keys).toHaveLength(2);
    expect(ring.ephemeral).toBe(false);
  });

  it('generates keys that it accepts', () => {
    const generated = generateKey();
    expect(generated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateKey()).not.toBe(generated);
    expect(parseKeyring(generated, true, () => {}).keys[0]).toHaveLength(32);
  });

  it('refuses production without keys', () => {
    expect(() => parseKeyring(undefined, true, () => {})).toThrow(/production mode needs at least one secret key.*randomBytes\(32\)/);
  });

  it('generates an ephemeral key in development, with a warning', () => {
    const warnings: string[] = [];
    const ring = parseKeyring(undefined, false, (message) => warnings.push(message));
    expect(ring.ephemeral).toBe(true);
    expect(warnings).toEqual([expect.stringContaining('will not survive a restart')]);
  });

  it.each([
    ['too short', 'c2hvcnQ', /has 5 bytes; at least 32/],
    ['not base64', 'not base64 at all!!', /not base64url/],
    ['low entropy', 'A'.repeat(43), /too few distinct bytes/],
    ['a number', 42, /expected base64url text/],
    ['empty list', [], /keyring is empty/],
    ['duplicate', [key, key], /keys\[1\]: the same key is listed twice/],
    ['bad second key', [key, 'short'], /keys\[1\]/],
  ])('refuses %s', (_name, option, message) => {
    expect(() => parseKeyring(option, true, () => {})).toThrow(message);
  });

  it('never echoes key material in an error', () => {
    const secret = 'c2VjcmV0LXZhbHVl';
    expect(() => parseKeyring(secret, true, () => {})).toThrow(expect.objectContaining({ message: expect.not.stringContaining(secret) }));
  });
});
