/**
 * lib/backup.ts: where a backup goes is made without following links, and
 * checked again right before the move.
 */
import assert from "node:assert/strict";
import { BackupChangedError, backupPath, checkBackupTarget, cycleBackup } from "../lib/backup.ts";
import { tempDirs } from "./helpers.ts";

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
