/**
 * One process per replica: an exclusive lock on the replica directory, held for the life of the
 * process. Needs `--allow-read` on the replica.
 *
 * @module
 */
import { resolve } from "node:path";

/** Another process holds the replica's lock. The message says who, as far as can be known. */
export class ReplicaBusyError extends Error {
  /** @param message One line naming the replica and the holder. */
  constructor(message: string) {
    super(message);
    this.name = "ReplicaBusyError";
  }
}

/** A held lock (or none, see {@linkcode lockReplica}); released on dispose. */
export interface ReplicaLock extends Disposable {
  /** Whether a lock is held: false when the replica did not exist yet or could not be opened. */
  readonly locked: boolean;
  /** Whether the locked directory is still the one at the replica path (not replaced since). */
  current(): boolean;
}

/** What the holder records beside its log file, so a second process can name it. */
interface HolderRecord {
  pid: number;
  replica: string;
  since: string;
  source?: string;
}

const NO_LOCK: ReplicaLock = { locked: false, current: () => false, [Symbol.dispose]() {} };

/** The holder record's path for a log file. */
export function holderRecordPath(logFile: string): string {
  return `${logFile}.pid`;
}

/**
 * Takes an exclusive `flock` on the replica directory itself (opened
 * read-only, so a read grant on the replica is all it needs, and nothing is
 * written into the mirror), without waiting. A second process, or a second
 * lock in this one, gets a {@linkcode ReplicaBusyError} until it is released.
 *
 * Who holds it: when `logFile` is given and its folder may be written, the
 * holder writes `<logFile>.pid` (its pid, the replica, its source, since
 * when) and removes it on release; a process locked out reads the record
 * beside its own log file when it is about the same replica. Otherwise the
 * message names `fuser -v`.
 *
 * A replica that does not exist yet is not locked here (the cycle locks it
 * once it has created it); nor is one that cannot be opened (the cycle
 * reports why).
 *
 * @example Usage
 * ```ts
 * import { lockReplica, ReplicaBusyError } from "./lock.ts";
 * const replica = Deno.makeTempDirSync();
 * try {
 *   using lock = lockReplica(replica);
 *   lock.locked; // true: sync here
 * } catch (error) {
 *   if (!(error instanceof ReplicaBusyError)) throw error;
 *   console.error(error.message);
 * }
 * ```
 *
 * @param replica The replica directory.
 * @param logFile The run's log file, beside which the holder record goes.
 * @param source The run's source, named to a process locked out.
 * @returns The lock, released on dispose.
 * @throws {ReplicaBusyError} When another process (or lock) holds it.
 */
export function lockReplica(replica: string, logFile?: string, source?: string): ReplicaLock {
  let dir: Deno.FsFile;
  try {
    // Not a folder (a FIFO would block the open, and signals with it): the cycle's checks say so.
    if (!Deno.statSync(replica).isDirectory) return NO_LOCK;
    dir = Deno.openSync(replica, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      return NO_LOCK;
    }
    throw error;
  }
  const where = realPath(replica);
  const record = logFile === undefined ? undefined : holderRecordPath(logFile);
  if (!dir.tryLockSync(true)) {
    const holder = describeHolder(record, where);
    dir.close();
    throw new ReplicaBusyError(
      `replica '${replica}' is in use by another foldersync process${holder}; ` +
        "only one may sync it at a time: stop that one first",
    );
  }
  const writable = record !== undefined &&
    Deno.permissions.querySync({ name: "write", path: record }).state === "granted";
  if (writable) {
    const holder: HolderRecord = {
      pid: Deno.pid,
      replica: where,
      since: new Date().toISOString(),
      source,
    };
    try {
      Deno.writeTextFileSync(record, JSON.stringify(holder) + "\n");
    } catch {
      // Best effort: the record only names the holder in a second process's message.
    }
  }
  const locked = dir.statSync();
  return {
    locked: true,
    current() {
      try {
        const now = Deno.statSync(replica);
        return now.dev === locked.dev && now.ino === locked.ino;
      } catch {
        return false;
      }
    },
    [Symbol.dispose]() {
      if (writable) {
        try {
          Deno.removeSync(record);
        } catch {
          // Already gone.
        }
      }
      dir.close(); // Closing the last descriptor releases the flock.
    },
  };
}

function realPath(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return resolve(path);
  }
}

/** " (pid N, since T, mirroring 'S')" as far as it can be known, else a hint. */
function describeHolder(record: string | undefined, replica: string): string {
  // Deno grants /proc (where /proc/locks names every flock holder) only with --allow-all.
  const hint = ` (\`fuser -v ${replica}\` shows which)`;
  if (record === undefined) return hint;
  let holder: Partial<HolderRecord>;
  try {
    holder = JSON.parse(Deno.readTextFileSync(record));
  } catch {
    return hint; // No record (the holder logs elsewhere, or may not write beside its log).
  }
  if (holder.replica !== replica || typeof holder.pid !== "number" || holder.pid === Deno.pid) {
    return hint;
  }
  const source = holder.source ? `, mirroring '${holder.source}'` : "";
  return ` (pid ${holder.pid}, since ${holder.since}${source}, per '${record}')`;
}
