/** SetAside: work held back until its time, on one timer, without holding up the caller. */
import assert from "node:assert/strict";
import { SetAside } from "../../lib/speed/set_aside.ts";
import { FakeClock } from "../fixtures.ts";

/** Lets the promises settled so far run their callbacks. */
const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => {});

Deno.test("set aside: each goes once its own time has passed, the earliest first, on one timer", async () => {
  const clock = new FakeClock(1_000_000);
  const aside = new SetAside(clock);
  const went: string[] = [];
  const start = clock.now();
  for (const [name, at] of [["late", start + 120], ["soon", start + 30], ["past", start - 1000]]) {
    aside.until(at as number).then(() => went.push(`${name} ${clock.now() - start}`));
  }
  assert.equal(clock.pending, 1, "one timer for all that wait");
  clock.advance(0);
  await settle();
  assert.deepEqual(went, ["past 0"]);
  clock.advance(29);
  await settle();
  assert.deepEqual(went, ["past 0"], "soon: not a millisecond early");
  clock.advance(1);
  await settle();
  assert.deepEqual(went, ["past 0", "soon 30"]);
  assert.equal(clock.pending, 1, "the timer is set again for the next one");
  clock.advance(89);
  await settle();
  assert.deepEqual(went, ["past 0", "soon 30"]);
  clock.advance(1);
  await settle();
  assert.deepEqual(went, ["past 0", "soon 30", "late 120"]);
  assert.equal(clock.pending, 0, "no timer left when nothing waits");
});

Deno.test("set aside: a later, earlier time moves the one timer forward", async () => {
  const clock = new FakeClock(0);
  const aside = new SetAside(clock);
  const went: number[] = [];
  aside.until(500).then(() => went.push(clock.now()));
  clock.advance(100);
  aside.until(200).then(() => went.push(clock.now()));
  aside.until(300).then(() => went.push(clock.now()));
  assert.equal(clock.pending, 1);
  clock.advance(100);
  await settle();
  assert.deepEqual(went, [200]);
  clock.advance(100);
  await settle();
  assert.deepEqual(went, [200, 300]);
  clock.advance(199);
  await settle();
  assert.deepEqual(went, [200, 300], "not a millisecond early");
  clock.advance(1);
  await settle();
  assert.deepEqual(went, [200, 300, 500]);
});

Deno.test("set aside: flush releases what waits, and what comes later, at once", async () => {
  const clock = new FakeClock(0);
  const aside = new SetAside(clock);
  let released = 0;
  const waiting = aside.until(3_600_000).then(() => released++);
  aside.flush();
  assert.equal(clock.pending, 0, "the timer is cleared");
  await waiting;
  await aside.until(3_600_000);
  assert.equal(released, 1);
});

Deno.test("set aside: on the real clock, a wait ends once its time has passed", async () => {
  const aside = new SetAside();
  const at = Date.now() + 30;
  await aside.until(at);
  assert.ok(Date.now() >= at, "went early");
});
