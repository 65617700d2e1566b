/**
 * lib/engine/backup.ts: where a backup goes is made without following links, and
 * checked again right before the move; lib/loop/volume.ts: where the replica's
 * filesystem is mounted.
 */
import assert from "node:assert/strict";
import {
  BackupChangedError,
  backupPath,
  checkBackupTarget,
  cycleBackup,
} from "../../lib/engine/backup.ts";
import { SafetyError } from "../../lib/engine/errors.ts";
import { checkReplicaMount, isMountPoint, mountOf } from "../../lib/loop/volume.ts";
import { tempDirs } from "../helpers.ts";

Deno.test("backupPath: a folder in the backup tree that is a link is refused, nothing made through it", () => {
  using t = tempDirs();
  const root = `${t.dir}/backups`;
  const elsewhere = `${t.dir}/elsewhere`;
  Deno.mkdirSync(elsewhere);
  const backup = cycleBackup(root, new Date("2026-12-02T08:30:00Z"));
  const target = backupPath(backup, "a/b.txt");
  assert.equal(target.path, `${root}/2026-12-02T083000Z/a/b.txt`);
  checkBackupTarget(target);
  Deno.removeSync(`${root}/2026-12-02T083000Z/a`);
  Deno.symlinkSync(elsewhere, `${root}/2026-12-02T083000Z/a`);
  assert.throws(() => backupPath(backup, "a/c/d.txt"), BackupChangedError);
  assert.deepEqual([...Deno.readDirSync(elsewhere)], []);
});

Deno.test("checkBackupTarget: a folder swapped for a link since, or the name taken, is refused", () => {
  using t = tempDirs();
  const root = `${t.dir}/backups`;
  const elsewhere = `${t.dir}/elsewhere`;
  Deno.mkdirSync(`${elsewhere}/a`, { recursive: true });
  const backup = cycleBackup(root, new Date("2026-12-02T08:30:00Z"));
  const target = backupPath(backup, "a/b.txt");
  Deno.writeTextFileSync(target.path, "planted");
  assert.throws(() => checkBackupTarget(target), /is taken/);
  Deno.removeSync(target.path);
  // The stamp folder, above the target's folder, swapped for a link to a look-alike tree.
  const stamp = `${root}/2026-12-02T083000Z`;
  Deno.renameSync(stamp, `${stamp}.old`);
  Deno.symlinkSync(elsewhere, stamp);
  assert.throws(() => checkBackupTarget(target), /was replaced/);
  Deno.removeSync(stamp);
  Deno.renameSync(`${stamp}.old`, stamp);
  checkBackupTarget(target);
});

Deno.test("volume: the replica's mount point is found up the path; found higher up later is refused", () => {
  using t = tempDirs();
  assert.equal(isMountPoint("/"), true);
  const mount = mountOf(`${t.dir}/replica/not/made/yet`);
  assert.ok(mount !== undefined && (mount === "/" || t.dir.startsWith(`${mount}/`)), mount);
  assert.equal(isMountPoint(mount), true);
  assert.equal(isMountPoint(t.dir), mount === t.dir);
  const replica = `${t.dir}/replica`;
  // The same place, or a filesystem mounted further down since: accepted.
  assert.equal(checkReplicaMount(replica, mount, "restart foldersync"), mount);
  assert.equal(checkReplicaMount(replica, undefined, "restart foldersync"), mount);
  assert.equal(checkReplicaMount(replica, mount === "/" ? undefined : "/", "x"), mount);
  // Remembered deeper than it is now: that volume is not mounted.
  assert.throws(
    () => checkReplicaMount(replica, `${t.dir}/disk`, "restart foldersync"),
    (error: unknown) =>
      error instanceof SafetyError &&
      error.message ===
        `replica '${replica}' was on the filesystem mounted at '${t.dir}/disk' and is now on the ` +
          `one at '${mount}' (is its volume mounted?): nothing written; if it moved on purpose, ` +
          `restart foldersync`,
  );
});
