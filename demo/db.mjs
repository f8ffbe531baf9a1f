// The status feed's data: users, statuses and revoked sessions, in one SQLite file.
// Every query is a prepared statement with bound parameters; the schema is created
// and migrated at startup (PRAGMA user_version counts the migrations applied).
//
// Reads are cached in memory until the database changes: a write of this process
// clears, at once, what was cached from the table it wrote. A commit of any other
// process (node:cluster workers share the file) is noticed through SQLite's
// `PRAGMA data_version`, read at the first query of each event-loop turn: it clears the
// cached statuses, and the users or revocations only when their change counter moved
// (triggers count every write to those tables, whoever makes it). Under load another
// worker commits statuses every turn; clearing everything then cost ~5 µs a post in
// re-read users and revocations. A cached answer is never older than the last commit
// made before the turn began (a millisecond or so; a session revoked by another worker
// is refused from the next turn on).
import { performance } from 'node:perf_hooks';
import { setImmediate, setTimeout } from 'node:timers';
import Database from 'better-sqlite3';

const MIGRATIONS = [
  `CREATE TABLE users (
     id INTEGER PRIMARY KEY,
     username TEXT NOT NULL UNIQUE COLLATE NOCASE,
     password_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE statuses (
     id INTEGER PRIMARY KEY,
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     text TEXT NOT NULL,
     attachment_id TEXT,
     attachment_type TEXT,
     attachment_name TEXT,
     attachment_size INTEGER,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX statuses_by_user ON statuses (user_id, id);
   CREATE TABLE revoked_sessions (
     id TEXT PRIMARY KEY,
     until INTEGER NOT NULL
   );`,
  // How many writes each cached table has had, from any connection: see Store#checkVersion.
  `CREATE TABLE changes (
     name TEXT PRIMARY KEY,
     count INTEGER NOT NULL
   ) WITHOUT ROWID;
   INSERT INTO changes (name, count) VALUES ('users', 0), ('revoked_sessions', 0);
   ${['users', 'revoked_sessions']
     .flatMap((table) =>
       ['INSERT', 'UPDATE', 'DELETE'].map(
         (event) => `CREATE TRIGGER ${table}_${event.toLowerCase()}_counted AFTER ${event} ON ${table}
            BEGIN UPDATE changes SET count = count + 1 WHERE name = '${table}'; END;`,
       ),
     )
     .join('\n')}`,
];

/** How long (ms) a write waits for another process's write lock before it fails. */
const BUSY_TIMEOUT_MS = 5000;

/** WAL pages that trigger a checkpoint (see connect). */
const CHECKPOINT_PAGES = 10_000;

/** Opens (creating and migrating) the database at `path`. */
export function openDatabase(path) {
  const db = connect(path, BUSY_TIMEOUT_MS);
  const applied = db.pragma('user_version', { simple: true });
  for (let version = applied; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  // The group commit's own connection: it never waits for a lock (see #commitStatuses).
  // A second connection rather than the pragma switched around each commit: SQLite
  // compiles the pragma every time (a prepared one applies once, when compiled), ~10 µs.
  return new Store(db, connect(path, 0));
}

/** A connection to the database at `path` whose writes wait `busyTimeout` ms for another's lock. */
function connect(path, busyTimeout) {
  const db = new Database(path, { timeout: busyTimeout });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // A checkpoint copies every page written since the last one back into the database
  // file, each once however often it was written. At SQLite's default (1,000 pages, 4 MiB
  // of WAL) a stream of posts checkpointed several times a second, copying the same few
  // pages (the last leaf of each index) every time, in the request path; at 10,000 pages
  // (~40 MiB of WAL at most) posts cost ~3% less CPU (bench/demo.mjs, 2 workers).
  db.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
  return db;
}

const STATUS_COLUMNS = `s.id, s.text, s.created_at AS createdAt, s.attachment_id AS attachmentId, s.attachment_type AS attachmentType,
  s.attachment_name AS attachmentName, s.attachment_size AS attachmentSize, u.username, u.id AS userId`;

/**
 * How many answers each table's cache holds before it starts again: bounded, since
 * requests choose the keys (a session id, a user id or name, a page's cursor). Pages
 * of statuses are large: a few dozen of them, the first pages everyone reads.
 */
const MAX_CACHED = { users: 10_000, revoked_sessions: 10_000, statuses: 64 };

/**
 * How long (ms) a turn's statuses try again on the next turn while another process holds
 * the write lock, before their commit waits for it (busy_timeout). SQLite's busy handler
 * sleeps a millisecond or more at a time, and the whole event loop with it: with two
 * workers posting, each spent ~15% of its time asleep there.
 */
const MAX_RETRY_MS = 100;

function deepFreeze(value) {
  if (Array.isArray(value)) value.forEach(Object.freeze);
  return Object.freeze(value);
}

class Store {
  #db;
  #statements;
  /** Cached answers, one map per table they read: a write clears only its table's. */
  #caches = { users: new Map(), statuses: new Map(), revoked_sessions: new Map() };
  #version;
  /** The `changes` counts last seen, by table. */
  #counts = new Map();
  #checked = false;
  /**
   * Statuses waiting for the end of the turn, since when, and the transaction that
   * commits them: on the connection that never waits for a lock, or on the one that does.
   */
  #pendingStatuses = [];
  #pendingSince = 0;
  /** Whether the waiting statuses have already tried once and met another's lock. */
  #retried = false;
  #insertStatusesAtOnce;
  #insertStatusesWaiting;
  #writer;

  constructor(db, writer) {
    this.#db = db;
    this.#writer = writer;
    this.#insertStatusesAtOnce = insertStatuses(writer);
    this.#insertStatusesWaiting = insertStatuses(db);
    this.#statements = {
      insertUser: db.prepare('INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)'),
      userByName: db.prepare('SELECT id, username, password_hash AS passwordHash FROM users WHERE username = ?'),
      userById: db.prepare('SELECT id, username FROM users WHERE id = ?'),
      statusById: db.prepare(`SELECT ${STATUS_COLUMNS} FROM statuses s JOIN users u ON u.id = s.user_id WHERE s.id = ?`),
      deleteStatus: db.prepare('DELETE FROM statuses WHERE id = ? AND user_id = ?'),
      feed: db.prepare(`SELECT ${STATUS_COLUMNS} FROM statuses s JOIN users u ON u.id = s.user_id WHERE s.id < ? ORDER BY s.id DESC LIMIT ?`),
      userFeed: db.prepare(
        `SELECT ${STATUS_COLUMNS} FROM statuses s JOIN users u ON u.id = s.user_id WHERE s.user_id = ? AND s.id < ? ORDER BY s.id DESC LIMIT ?`,
      ),
      attachmentIds: db.prepare('SELECT attachment_id AS id FROM statuses WHERE attachment_id IS NOT NULL'),
      revoke: db.prepare('INSERT OR REPLACE INTO revoked_sessions (id, until) VALUES (?, ?)'),
      revokedUntil: db.prepare('SELECT until FROM revoked_sessions WHERE id = ?').pluck(),
      sweepRevoked: db.prepare('DELETE FROM revoked_sessions WHERE until <= ?'),
      // On the group commit's connection: its data_version moves with every commit but
      // its own, so this process's status posts do not count as another's.
      dataVersion: writer.prepare('PRAGMA data_version').pluck(),
      changes: writer.prepare('SELECT name, count FROM changes'),
    };
  }

  /** The cached answer for `key` from `table`, or `compute()`'s (frozen: requests share it). */
  #read(table, key, compute) {
    if (!this.#checked) this.#checkVersion();
    const cache = this.#caches[table];
    if (cache.has(key)) return cache.get(key);
    if (cache.size >= MAX_CACHED[table]) cache.clear();
    const value = deepFreeze(compute());
    cache.set(key, value);
    return value;
  }

  /**
   * When a connection other than the group commit's committed since the last check (once
   * a turn: the statement costs microseconds): drops the cached statuses, and each other
   * table's cache whose change count moved. Conservative: this process's own writes of
   * users and revocations count too, and clear its caches once more.
   */
  #checkVersion() {
    this.#checked = true;
    setImmediate(this.#nextTurn);
    try {
      const version = this.#statements.dataVersion.get();
      if (version === this.#version) return;
      this.#version = version;
      this.#caches.statuses.clear();
      for (const { name, count } of this.#statements.changes.all()) {
        if (this.#counts.get(name) === count) continue;
        this.#counts.set(name, count);
        this.#caches[name].clear();
      }
    } catch (error) {
      // That connection does not wait for locks: a read it cannot make now (a WAL being
      // recovered after a crash) drops every cache, and the next turn looks again.
      if (!isBusy(error)) throw error;
      this.#version = undefined;
      this.#counts.clear();
      for (const cache of Object.values(this.#caches)) cache.clear();
    }
  }

  #nextTurn = () => {
    this.#checked = false;
  };

  /** Runs a write to `tables`; what was cached from them may be stale after it. */
  #write(tables, run) {
    try {
      return run();
    } finally {
      for (const table of tables) this.#caches[table].clear();
    }
  }

  /** The new user's id, or `undefined` when the name is taken. */
  createUser(username, passwordHash) {
    try {
      return Number(this.#write(['users'], () => this.#statements.insertUser.run(username, passwordHash, Date.now())).lastInsertRowid);
    } catch (error) {
      if (error?.code === 'SQLITE_CONSTRAINT_UNIQUE') return undefined;
      throw error;
    }
  }

  userByName(username) {
    return this.#read('users', `name:${username}`, () => this.#statements.userByName.get(username));
  }

  userById(id) {
    return this.#read('users', `id:${id}`, () => this.#statements.userById.get(id));
  }

  /**
   * Records a status; resolves to its id once committed. The statuses posted in one
   * event-loop turn share a transaction (group commit): a commit is most of an insert's
   * cost (the WAL frame, its locks), and under load several posts arrive per turn.
   */
  addStatus(userId, text, attachment) {
    return new Promise((resolve, reject) => {
      const row = [userId, text, attachment?.id ?? null, attachment?.type ?? null, attachment?.name ?? null, attachment?.size ?? null, Date.now()];
      this.#pendingStatuses.push({ row, resolve, reject });
      if (this.#pendingStatuses.length === 1) {
        this.#pendingSince = performance.now();
        setImmediate(this.#commitStatuses);
      }
    });
  }

  /**
   * Commits the waiting statuses. While another process holds the write lock they stay
   * waiting and try again next turn, the event loop free meanwhile, until they have
   * waited MAX_RETRY_MS (or `patient`): the commit then waits for the lock.
   */
  #commitStatuses = (patient = false) => {
    const batch = this.#pendingStatuses;
    // A retry scheduled before close() committed the batch finds nothing left.
    if (batch.length === 0) return;
    this.#pendingStatuses = [];
    const wait = patient || performance.now() - this.#pendingSince >= MAX_RETRY_MS;
    const insert = wait ? this.#insertStatusesWaiting : this.#insertStatusesAtOnce;
    let outcomes;
    try {
      outcomes = this.#write(['statuses'], () => insert(batch.map(({ row }) => row)));
    } catch (error) {
      if (!wait && isBusy(error)) {
        // Nothing was stored (the transaction rolled back); nothing arrived meanwhile.
        // The first retry comes next turn (a lock is held for tens of microseconds), the
        // later ones a millisecond apart: an idle loop does not spin on a long-held lock.
        this.#pendingStatuses = batch;
        if (this.#retried) setTimeout(this.#commitStatuses, 1);
        else setImmediate(this.#commitStatuses);
        this.#retried = true;
        return;
      }
      this.#retried = false;
      // The commit itself failed: nothing of the batch is stored.
      for (const { reject } of batch) reject(error);
      return;
    }
    this.#retried = false;
    batch.forEach(({ resolve, reject }, index) => {
      const outcome = outcomes[index];
      if (outcome.error !== undefined) reject(outcome.error);
      else resolve(outcome.id);
    });
  };

  status(id) {
    return this.#statements.statusById.get(id);
  }

  /** Deletes a status of `userId`; returns it, or `undefined` when there is no such status of theirs. */
  deleteStatus(id, userId) {
    return this.#write(
      ['statuses'],
      this.#db.transaction(() => {
        const status = this.#statements.statusById.get(id);
        if (!status || status.userId !== userId) return undefined;
        this.#statements.deleteStatus.run(id, userId);
        return status;
      }),
    );
  }

  /** One page of the feed, newest first: statuses with an id below `before`. */
  feed(before, limit) {
    return this.#read('statuses', `feed:${before}:${limit}`, () => this.#statements.feed.all(before, limit));
  }

  userFeed(userId, before, limit) {
    return this.#read('statuses', `user:${userId}:${before}:${limit}`, () => this.#statements.userFeed.all(userId, before, limit));
  }

  /** Every attachment id a status refers to (for the orphan sweep at start). */
  attachmentIds() {
    return new Set(this.#statements.attachmentIds.all().map((row) => row.id));
  }

  /** rampart's session store interface, on this database: revocations survive restarts. */
  sessionStore() {
    const statements = this.#statements;
    return {
      revoke: (id, until) => {
        this.#write(['revoked_sessions'], () => statements.revoke.run(id, until));
      },
      isRevoked: (id) => this.#read('revoked_sessions', id, () => statements.revokedUntil.get(id) ?? 0) > Date.now(),
    };
  }

  sweep() {
    this.#write(['revoked_sessions'], () => this.#statements.sweepRevoked.run(Date.now()));
  }

  close() {
    // Statuses still waiting for their turn's commit are committed first.
    if (this.#pendingStatuses.length > 0) this.#commitStatuses(true);
    this.#writer.close();
    this.#db.close();
  }
}

/**
 * A transaction on `db` that stores a turn's statuses, each row's outcome its id or its
 * error: a failed insert undoes itself only (SQLite rolls back the statement), and the
 * others still commit. Another connection's write lock fails the whole batch (SQLITE_BUSY).
 */
function insertStatuses(db) {
  const insert = db.prepare(
    'INSERT INTO statuses (user_id, text, attachment_id, attachment_type, attachment_name, attachment_size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  return db.transaction((rows) =>
    rows.map((row) => {
      try {
        return { id: Number(insert.run(...row).lastInsertRowid) };
      } catch (error) {
        // A lock, or an error that ended the whole transaction (SQLITE_FULL, an I/O
        // error): the batch fails together; later rows must not commit one by one.
        if (isBusy(error) || !db.inTransaction) throw error;
        return { error };
      }
    }),
  );
}

/** SQLITE_BUSY and its extended codes: another connection holds a lock this one needs. */
function isBusy(error) {
  return typeof error?.code === 'string' && error.code.startsWith('SQLITE_BUSY');
}
