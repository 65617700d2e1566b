/**
 * The portable engine: the filesystem seam on Deno's path API, which works
 * under `--allow-read --allow-write` (the contract). Needs `--allow-read` on
 * both trees and `--allow-write` on the replica.
 *
 * Deno resolves every path before it acts, so a folder cannot be held: it is
 * re-checked (kind, dev, ino) right before each call, from inside itself
 * (see in_dir.ts), and every changed entry is re-checked by name first. What
 * a swap between that check and the call can still redirect is the README's
 * documented window; the native engine (native/) has none.
 *
 * @module
 */
import type { Entry } from "../types.ts";
import type {
  At,
  Attrs,
  CopyIn,
  DirListing,
  FileSystem,
  Folder,
  Handoff,
  Made,
  Seen,
} from "./types.ts";
import { fchmodSync, fchownSync, futimesSync } from "node:fs";
import { dirname } from "node:path";
import { handleTime, onHandle } from "../on_handle.ts";
import { listDir, toEntry } from "../list_dir.ts";
import { recheck } from "../recheck.ts";
import { inDir, onDir } from "../in_dir.ts";
import {
  copyFileAtomic,
  copyFileAtomicSync,
  sameContent,
  symlinkAtomic,
} from "../copy_file_atomic.ts";
import { copiesInline, copyJob } from "../copy_job.ts";
import type { CopyJob } from "../copy_file_atomic.ts";
import { linkAtomic } from "../link_atomic.ts";
import { type BackupTarget, checkBackupTarget, copyOne } from "../backup.ts";
import { ChangedError } from "../recheck.ts";

/**
 * Deno's path API behind the seam.
 *
 * @example Usage
 * ```ts
 * import { PortableFileSystem } from "./portable.ts";
 * import { toEntry } from "../list_dir.ts";
 * const fs = new PortableFileSystem();
 * const abs = Deno.realPathSync(".");
 * const dir = { side: "source" as const, rel: "", abs, seen: toEntry("", Deno.statSync(abs)), root: true };
 * fs.list(dir).entries.length > 0; // true
 * ```
 */
export class PortableFileSystem implements FileSystem {
  readonly name = "portable";

  list(dir: Folder): DirListing {
    // A replica folder is listed from inside it once checked by inode, by the real path
    // `getcwd` gives (relative names would cost a `getcwd` per entry).
    if (dir.side === "source") return listDir(dir.abs);
    return inDir(dir, () => listDir(Deno.cwd()));
  }

  lstat(dir: Folder, name: string): Entry | undefined {
    const look = (path: string) => {
      try {
        return toEntry(name, Deno.lstatSync(path));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
    };
    if (dir.side === "source") return look(dir.abs + "/" + name);
    return inDir(dir, () => {
      const entry = look(name);
      // Deno looks a relative name up by the folder's path: does that path still lead to it?
      recheck(dir.abs, dir.seen, dir.root);
      return entry;
    });
  }

  /** Deno has no call for extended attributes: `--xattrs` needs the native engine. */
  xattrs(): undefined {
    return undefined;
  }

  check(at: At): Entry | undefined {
    if (at.dir.side === "source") {
      return entryOf(at.name, recheck(at.dir.abs + "/" + at.name, at.seen));
    }
    if (at.name === ".") {
      return entryOf(
        at.dir.seen.name,
        onDir(at.dir, (path) => look(at.dir, path)),
      );
    }
    return inDir(at.dir, () => {
      const info = recheck(at.name, at.seen);
      // Deno looks a relative name up by the folder's path: does that path still lead to it?
      recheck(at.dir.abs, at.dir.seen, at.dir.root);
      return entryOf(at.name, info);
    });
  }

  mkdir(at: At): Entry {
    return inDir(at.dir, () => {
      recheck(at.name, undefined);
      Deno.mkdirSync(at.name, { mode: 0o700 });
      return toEntry(at.name, Deno.lstatSync(at.name));
    });
  }

  setAttrs(at: At, attrs: Attrs): void {
    // Through a handle checked to be the entry seen; by path (each call right after a
    // check) only when the entry may not be opened (no read permission for us).
    const { owner, mode, times } = attrs;
    const viaHandle = (path: string, seen: NonNullable<Seen>) =>
      (seen.kind === "file" || seen.kind === "dir") && onHandle(path, seen, (fd) => {
        if (owner) fchownSync(fd, owner.uid, owner.gid);
        if (mode !== undefined) fchmodSync(fd, mode);
        if (times) futimesSync(fd, handleTime(times.atimeMs), handleTime(times.mtimeMs));
      });
    const viaPath = (path: string, again: () => void) => {
      if (owner) {
        Deno.chownSync(path, owner.uid, owner.gid);
        again();
      }
      if (mode !== undefined) {
        Deno.chmodSync(path, mode);
        if (times) again();
      }
      if (times) Deno.utimeSync(path, times.atimeMs / 1000, times.mtimeMs / 1000);
    };
    if (at.name === ".") {
      onDir(at.dir, (path) => {
        if (!viaHandle(path, at.dir.seen)) viaPath(path, () => onDir(at.dir, () => {}));
      });
      return;
    }
    inDir(at.dir, () => {
      const seen = at.seen ?? missing(at);
      recheck(at.name, seen);
      if (!viaHandle(at.name, seen)) viaPath(at.name, () => recheck(at.name, seen));
    });
  }

  remove(at: At): void {
    inDir(at.dir, () => {
      recheck(at.name, at.seen);
      Deno.removeSync(at.name);
    });
  }

  discardTemp(replica: string, path: string): void {
    try {
      // A link in the folder's path leads elsewhere: then its real path differs. (Checked, then
      // removed by path: a swap in between is this engine's window, see the README.)
      const dir = dirname(path);
      if (!path.startsWith(replica + "/")) return;
      if (Deno.realPathSync(dir) !== Deno.realPathSync(replica) + dir.slice(replica.length)) return;
      Deno.removeSync(path);
    } catch {
      // Gone, renamed into place, or its folder is gone.
    }
  }

  touch(at: At, times: NonNullable<Attrs["times"]>): Entry {
    return inDir(at.dir, () => {
      using file = Deno.openSync(at.name, { createNew: true, write: true, mode: 0o600 });
      // Through the open file: never a path a link could redirect.
      file.utimeSync(times.atimeMs / 1000, times.mtimeMs / 1000);
      return toEntry(at.name, file.statSync());
    });
  }

  symlink(at: At, target: string, backup?: BackupTarget): void {
    const { dir, name, seen } = at;
    symlinkAtomic(target, dir.abs + "/" + name, seen, dir.abs, dir.seen, dir.root, backup);
  }

  link(anchor: At, at: At, backup?: BackupTarget): void {
    if (anchor.seen === undefined) {
      throw new ChangedError(anchor.dir.abs + "/" + anchor.name, "gone");
    }
    linkAtomic(anchor.dir.abs + "/" + anchor.name, anchor.seen, at.dir, at.name, at.seen, backup);
  }

  copy(job: CopyIn): Promise<Made> {
    const copy = copyJob(job);
    if (!copiesInline(job.from.entry)) return copyFileAtomic(copy, job.owners, job.inflight);
    // Small files with sync calls: an async op costs several times the same sync call.
    try {
      return Promise.resolve(copyFileAtomicSync(copy, job.owners));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  handOff(job: CopyIn): Handoff<CopyJob> {
    return { job: copyJob(job), release() {} };
  }

  sameContent(a: At, b: At): Promise<boolean> {
    const srcPath = a.dir.abs + "/" + a.name;
    const dstPath = b.dir.abs + "/" + b.name;
    const info = Deno.lstatSync(srcPath);
    if (!info.isFile || info.ino !== a.seen?.ino) {
      throw new ChangedError(srcPath, "source replaced");
    }
    recheck(dstPath, b.seen);
    return sameContent(srcPath, dstPath);
  }

  moveOut(at: At, to: BackupTarget): void {
    // Deno makes the name absolute again: a folder swapped for a link between the check and
    // the rename redirects it (README, threat model).
    inDir(at.dir, () => {
      recheck(at.name, at.seen);
      checkBackupTarget(to);
      Deno.renameSync(at.name, to.path);
    });
  }

  copyOut(at: At, to: string): void {
    inDir(at.dir, () => {
      recheck(at.name, at.seen);
      copyOne(at.name, to);
    });
  }

  close(): void {}
}

function missing(at: At): never {
  throw new ChangedError(at.dir.abs + "/" + at.name, "nothing was seen there");
}

function entryOf(name: string, info: Deno.FileInfo | undefined): Entry | undefined {
  return info === undefined ? undefined : toEntry(name, info);
}

/** A folder itself: the root by `stat` (the user may give it as a link), any other by `lstat`. */
function look(dir: Folder, path: string): Deno.FileInfo {
  return dir.root ? Deno.statSync(path) : Deno.lstatSync(path);
}
