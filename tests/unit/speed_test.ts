/** A run's worker threads (lib/speed/speed.ts): switched by its mechanisms, stopped by its close. */
import assert from "node:assert/strict";
import { Speed } from "../../lib/speed/speed.ts";
import { tempDirs, writeTree } from "../helpers.ts";

Deno.test("Speed: the copier only with copy workers on, started once, gone after close", () => {
  const on = new Speed({ prefetch: false, copyWorkers: true });
  const copier = on.copier();
  assert.ok(copier, "workers start with read access to lib/");
  assert.equal(on.copier(), copier, "one copier for the run's cycles");
  on.close();
  assert.equal(on.copier(), undefined, "none is started again once closed");
  using off = new Speed({ prefetch: true, copyWorkers: false });
  assert.equal(off.copier(), undefined);
});

Deno.test("Speed: a lister only with prefetch on, serving each cycle; none once closed", async () => {
  using t = tempDirs();
  writeTree(t.src, { a: { x: "1" }, f: "2" });
  const names = async (speed: Speed) => {
    const lister = speed.lister(t.src, [["", undefined]], []);
    if (lister === undefined) return undefined;
    try {
      return [
        (await lister.list(""))!.entries.map((e) => e.name).sort(),
        (await lister.list("a"))!.entries.map((e) => e.name),
      ];
    } finally {
      lister.close();
    }
  };
  const want = [["a", "f"], ["x"]];
  using on = new Speed({ prefetch: true, copyWorkers: false });
  assert.deepEqual(await names(on), want);
  assert.deepEqual(await names(on), want, "the worker serves a second cycle");
  on.close();
  assert.equal(await names(on), undefined, "none once closed: the engine lists");
  using off = new Speed({ prefetch: false, copyWorkers: false });
  assert.equal(await names(off), undefined);
});
