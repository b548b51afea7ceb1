import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import type { Logger } from '../logger.js';
import type { Db } from './open.js';

/** SQLite's own automatic checkpoint threshold (pages), restored when the checkpointer stops. */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
/**
 * While the checkpointer runs, the app's connection still checkpoints by itself once the WAL
 * reaches this many pages (~40 MB at 4 KiB pages): a backstop that keeps the WAL bounded if the
 * worker falls behind or stops.
 */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 10_000;
/**
 * Past this many WAL pages, a pass of the worker that copied the whole WAL is followed at once by
 * a PASSIVE checkpoint on the app's connection, so the next write restarts the WAL from its start.
 * Under a steady stream of writes the worker alone never gets the WAL restarted: SQLite restarts it
 * only when a write transaction begins on a WAL that is entirely copied, and a commit always lands
 * while a pass runs (~5 ms, two fsyncs). The WAL then grew to the backstop, whose checkpoint on the
 * app's connection copied the ~50 ms of writes since the last pass and synced both files on the
 * event loop: a 10–15 ms stall every 40 MB of WAL, the slowest answers of the authorization
 * benchmark. Right after a pass there is almost nothing left to copy.
 */
export const RESTART_AT_PAGES = 8_000;
export const CHECKPOINT_INTERVAL_MS = 50;

/** What one `PRAGMA wal_checkpoint(PASSIVE)` reported: WAL frames in the log and how many of them are in the database file. */
export interface CheckpointPass {
  busy: number;
  log: number;
  checkpointed: number;
}

export interface WalCheckpointer {
  /** Runs one checkpoint pass now (in the worker) and answers what it reported. */
  checkpointNow(): Promise<CheckpointPass>;
  /** Stops the worker and gives the app's connection its automatic checkpoints back. */
  stop(): Promise<void>;
}

// The worker: its own connection to the file, PASSIVE checkpoints in a loop (never waiting for a
// lock, never blocking the app's writer). CommonJS source run with `eval: true`, so it needs no
// loader; better-sqlite3 is resolved by the parent and handed over.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
// A checkpoint syncs the WAL before copying it and the database file after, as the app's own
// connection does (synchronous = NORMAL); never less.
db.pragma('synchronous = NORMAL');
const pass = () => {
  const [row] = db.pragma('wal_checkpoint(PASSIVE)');
  return { busy: row.busy, log: row.log, checkpointed: row.checkpointed };
};
let timer;
const loop = () => {
  const done = pass();
  // Only a WAL past the restart size is the app's business (see RESTART_AT_PAGES).
  if (done.log >= workerData.restartAtPages) parentPort.postMessage({ type: 'looped', pass: done });
  timer = setTimeout(loop, workerData.intervalMs);
};
parentPort.on('message', (msg) => {
  if (msg.type === 'now') parentPort.postMessage({ type: 'pass', id: msg.id, pass: pass() });
  if (msg.type === 'stop') {
    clearTimeout(timer);
    db.close();
    parentPort.close();
  }
});
loop();
`;

/**
 * Takes SQLite's WAL checkpoints off the event loop. better-sqlite3 is synchronous, so the
 * automatic checkpoint that a COMMIT triggers every 1,000 WAL pages (copy the WAL into the
 * database file, fsync both) ran on the event loop and stalled every request in flight: on the
 * authorization benchmark, 1–2 % of commits took 6–50 ms, which was the p99. Here a worker thread
 * with its own connection runs PASSIVE checkpoints every `intervalMs`, the app's connection follows
 * a pass with a nearly empty checkpoint of its own past RESTART_AT_PAGES (so the WAL restarts), and
 * checkpoints by itself only past BACKSTOP_AUTOCHECKPOINT_PAGES.
 *
 * Durability is unchanged: a transaction is durable when its COMMIT has appended it to the WAL
 * (journal_mode WAL, synchronous NORMAL: it survives a crash of the process, not of the machine),
 * whoever copies it into the database file later; a crash at any point leaves the WAL, which the
 * next open replays. Only for a file database with one card402 process (see instance-lock.ts).
 */
export async function startWalCheckpointer(
  db: Db,
  file: string,
  opts: { intervalMs?: number; restartAtPages?: number; logger?: Logger } = {},
): Promise<WalCheckpointer> {
  const restartAtPages = opts.restartAtPages ?? RESTART_AT_PAGES;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs: opts.intervalMs ?? CHECKPOINT_INTERVAL_MS, restartAtPages } });
  worker.unref();
  const waiting = new Map<number, { resolve(pass: CheckpointPass): void; reject(err: unknown): void }>();
  let nextId = 0;
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  const restore = () => sql`pragma wal_autocheckpoint = ${sql.raw(String(DEFAULT_AUTOCHECKPOINT_PAGES))}`.execute(db);
  let restarting = false;
  /** For a worker pass past restartAtPages (the worker reports no other). */
  const restartSoon = (pass: CheckpointPass) => {
    const caughtUp = pass.busy === 0 && pass.checkpointed === pass.log;
    if (stopping || restarting || !caughtUp) return;
    restarting = true;
    // Queued behind the transaction in progress (kysely's one connection), never inside one.
    sql`pragma wal_checkpoint(PASSIVE)`
      .execute(db)
      .catch((err: unknown) => opts.logger?.warn('WAL checkpoint for a restart failed', { err }))
      .finally(() => (restarting = false));
  };
  worker.on('message', (msg: { type: string; id: number; pass: CheckpointPass }) => {
    if (msg.type === 'looped') return restartSoon(msg.pass);
    if (msg.type === 'pass') waiting.get(msg.id)?.resolve(msg.pass);
    waiting.delete(msg.id);
  });
  worker.on('error', (err) => opts.logger?.error('WAL checkpoint worker failed', { err }));
  worker.once('exit', () => {
    for (const w of waiting.values()) w.reject(new Error('the WAL checkpoint worker stopped'));
    waiting.clear();
    if (stopping) return;
    // Unexpected: checkpoints go back to the app's connection, as without the worker.
    opts.logger?.warn('WAL checkpoint worker stopped; checkpoints run on the main thread again');
    void restore().catch(() => undefined);
  });

  await sql`pragma wal_autocheckpoint = ${sql.raw(String(BACKSTOP_AUTOCHECKPOINT_PAGES))}`.execute(db);
  return {
    checkpointNow() {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        worker.postMessage({ type: 'now', id });
      });
    },
    async stop() {
      if (stopping) return exited;
      stopping = true;
      // Held while it finishes: an unref'd worker does not keep the process alive, and the rest of
      // the shutdown (database closed, instance lock released) waits on this.
      worker.ref();
      worker.postMessage({ type: 'stop' });
      await exited;
      await restore();
    },
  };
}
