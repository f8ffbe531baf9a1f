/**
 * The demo's store (demo/db.mjs): statuses posted in one event-loop turn are committed
 * together, each post answered only once its row is committed, and a failing row does
 * not take the others with it. Its cached reads follow what another process commits.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

interface Status {
  id: number;
  text: string;
  userId: number;
}
interface User {
  id: number;
  username: string;
}
interface Store {
  createUser(username: string, passwordHash: string): number | undefined;
  userById(id: number): User | undefined;
  sessionStore(): { revoke(id: string, until: number): void; isRevoked(id: string): boolean };
  addStatus(userId: number, text: string, attachment?: { id: string; type: string; name: string; size: number }): Promise<number>;
  feed(before: number, limit: number): Status[];
  close(): void;
}
const { openDatabase } = (await import(new URL('../../demo/db.mjs', import.meta.url).href)) as { openDatabase(path: string): Store };
/** better-sqlite3 (the demo's own dependency, without type declarations here): a second, plain connection. */
interface Connection {
  prepare(sql: string): { get(): unknown; run(...parameters: unknown[]): unknown };
  exec(sql: string): void;
  close(): void;
}
const sqlite = 'better-sqlite3';
const { default: Database } = (await import(/* @vite-ignore */ sqlite)) as { default: new (path: string, options?: { readonly: boolean }) => Connection };
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/**
 * A script for another process: holds the database's write lock (argv: path, milliseconds),
 * says so, and commits when that time is up or when told to (a line on stdin).
 */
const HOLD_LOCK = `
const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
const db = new Database(process.argv[1]);
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
const release = () => { if (!db.open) return; db.exec('COMMIT'); db.close(); process.exit(0); };
setTimeout(release, Number(process.argv[2]));
process.stdin.on('data', release);
`;

/** Another process holding the write lock of `path` for at most `ms`; `release()` commits it sooner. */
async function holdLock(path: string, ms: number): Promise<{ release(): Promise<void> }> {
  const holder = spawn(process.execPath, ['-e', HOLD_LOCK, path, String(ms)], { stdio: ['pipe', 'pipe', 'inherit'] });
  holder.stdin!.on('error', () => {}); // it may have committed and gone already
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  await new Promise((resolve) => holder.stdout!.once('data', resolve));
  return {
    async release() {
      holder.stdin!.end('release\n');
      await exited;
    },
  };
}

const directory = mkdtempSync(join(tmpdir(), 'rampart-demo-db-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let databases = 0;
const open = (): { store: Store; path: string } => {
  const path = join(directory, `feed-${databases++}.db`);
  return { store: openDatabase(path), path };
};

describe('group commit of statuses', () => {
  it('commits the posts of one turn together, each with its own id, in order', async () => {
    const { store } = open();
    const alice = store.createUser('alice', 'hash')!;
    const ids = await Promise.all(Array.from({ length: 50 }, (_, index) => store.addStatus(alice, `post ${index}`)));
    expect(new Set(ids).size).toBe(50);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(store.feed(Number.MAX_SAFE_INTEGER, 100).map((status) => status.text)).toEqual(Array.from({ length: 50 }, (_, index) => `post ${49 - index}`));
    store.close();
  });

  it('refuses only the row that fails; the others of its turn are stored', async () => {
    const { store } = open();
    const alice = store.createUser('alice', 'hash')!;
    const results = await Promise.allSettled([store.addStatus(alice, 'kept 1'), store.addStatus(9999, 'no such user'), store.addStatus(alice, 'kept 2')]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    expect(store.feed(Number.MAX_SAFE_INTEGER, 10).map((status) => status.text)).toEqual(['kept 2', 'kept 1']);
    store.close();
  });

  it('answers a post only after its commit: another connection sees the row then, not before', async () => {
    const { store, path } = open();
    const alice = store.createUser('alice', 'hash')!;
    const other = new Database(path, { readonly: true });
    const count = (): number => (other.prepare('SELECT count(*) AS n FROM statuses').get() as { n: number }).n;
    const pending = store.addStatus(alice, 'durable');
    expect(count()).toBe(0);
    await pending;
    expect(count()).toBe(1);
    other.close();
    store.close();
  });

  it("does not stall the event loop on another process's write lock: the posts try again each turn, and commit once it is released", async () => {
    const { store, path } = open();
    const alice = store.createUser('alice', 'hash')!;
    const lock = await holdLock(path, 5000);
    let stored: number | undefined;
    const pending = store.addStatus(alice, 'after the lock').then((id) => (stored = id));
    // SQLite's busy handler would sleep in this thread (1 ms, 2 ms, ... up to busy_timeout):
    // timers and turns go on instead.
    const started = performance.now();
    for (let turn = 0; turn < 5; turn++) await nextTurn();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(performance.now() - started).toBeLessThan(90);
    expect(stored).toBeUndefined();
    await lock.release();
    await pending;
    expect(stored).toBeGreaterThan(0);
    expect(store.feed(Number.MAX_SAFE_INTEGER, 10).map((status) => status.text)).toEqual(['after the lock']);
    store.close();
  });

  it('waits for the lock, rather than trying again, once its posts have waited 100 ms', async () => {
    const { store, path } = open();
    const alice = store.createUser('alice', 'hash')!;
    // Another process holds the write lock for 700 ms. A ticker every 10 ms shows when the
    // event loop stops: trying again leaves it free, waiting for the lock holds it until
    // the lock is released.
    const lock = await holdLock(path, 700);
    let last = performance.now();
    let longestPause = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestPause = Math.max(longestPause, now - last);
      last = now;
    }, 10);
    const id = await store.addStatus(alice, 'waited');
    await new Promise((resolve) => setTimeout(resolve, 20));
    clearInterval(ticker);
    expect(id).toBeGreaterThan(0);
    expect(longestPause).toBeGreaterThan(300);
    await lock.release();
    store.close();
  });

  it('commits what is still waiting when it closes', async () => {
    const { store, path } = open();
    const alice = store.createUser('alice', 'hash')!;
    const pending = store.addStatus(alice, 'at shutdown');
    store.close();
    await expect(pending).resolves.toBeGreaterThan(0);
    const reopened = openDatabase(path);
    expect(reopened.feed(Number.MAX_SAFE_INTEGER, 10).map((status) => status.text)).toEqual(['at shutdown']);
    reopened.close();
  });
});

describe('cached reads and other processes', () => {
  it("keeps users cached across another process's status posts, and drops them when it writes users or revocations", async () => {
    const { store, path } = open();
    const alice = store.createUser('alice', 'hash')!;
    const revocations = store.sessionStore();
    await nextTurn();
    expect(store.feed(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    const cached = store.userById(alice);
    expect(cached).toMatchObject({ id: alice, username: 'alice' });
    expect(revocations.isRevoked('session-1')).toBe(false);

    // Another process (a second cluster worker) posts a status: the feed shows it from the
    // next turn on, and the user is still the cached object (not read again).
    const other = new Database(path);
    other.prepare('INSERT INTO statuses (user_id, text, created_at) VALUES (?, ?, ?)').run(alice, 'from elsewhere', Date.now());
    await nextTurn();
    expect(store.feed(Number.MAX_SAFE_INTEGER, 10).map((status) => status.text)).toEqual(['from elsewhere']);
    expect(store.userById(alice)).toBe(cached);

    // It renames the user and revokes a session: both are seen from the next turn on.
    other.prepare('UPDATE users SET username = ? WHERE id = ?').run('alicia', alice);
    other.prepare('INSERT INTO revoked_sessions (id, until) VALUES (?, ?)').run('session-1', Date.now() + 60_000);
    expect(store.userById(alice)).toBe(cached);
    await nextTurn();
    expect(store.userById(alice)).toMatchObject({ username: 'alicia' });
    expect(revocations.isRevoked('session-1')).toBe(true);

    // A revocation removed elsewhere (its sweep) is seen too.
    const renamed = store.userById(alice);
    other.prepare('DELETE FROM revoked_sessions').run();
    await nextTurn();
    expect(revocations.isRevoked('session-1')).toBe(false);
    expect(store.userById(alice)).toBe(renamed);
    other.close();
    store.close();
  });
});
