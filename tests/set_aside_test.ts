/** SetAside: work held back until its time, on one timer, without holding up the caller. */
import assert from "node:assert/strict";
import { SetAside } from "../lib/speed/set_aside.ts";

Deno.test("set aside: each goes once its own time has passed, the earliest first", async () => {
  const aside = new SetAside();
  const start = Date.now();
  const went: string[] = [];
  const late = aside.until(start + 120).then(() => went.push(`late ${Date.now() - start}`));
  const soon = aside.until(start + 30).then(() => went.push(`soon ${Date.now() - start}`));
  const past = aside.until(start - 1000).then(() => went.push("past"));
  await Promise.all([late, soon, past]);
  assert.deepEqual(went.map((w) => w.split(" ")[0]), ["past", "soon", "late"]);
  for (const w of went.slice(1)) {
    const [name, ms] = w.split(" ");
    assert.ok(Number(ms) >= (name === "soon" ? 30 : 120), `${name} went early: ${ms} ms`);
  }
});

Deno.test("set aside: flush releases what waits, and what comes later, at once", async () => {
  const aside = new SetAside();
  let released = 0;
  const waiting = aside.until(Date.now() + 3_600_000).then(() => released++);
  aside.flush();
  await waiting;
  await aside.until(Date.now() + 3_600_000);
  assert.equal(released, 1);
});
