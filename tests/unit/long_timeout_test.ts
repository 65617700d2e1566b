/** Waits longer than setTimeout can hold (2^31-1 ms): chained, never overflowed. */
import assert from "node:assert/strict";
import { MAX_TIMEOUT_MS, setLongTimeout } from "../../lib/loop/long_timeout.ts";
import { sleep } from "../../lib/loop/run_loop.ts";
import { waitFor } from "../helpers.ts";

/** Long enough for an overflowed timer (which fires after 1 ms) to have fired. */
const OVERFLOW_WINDOW_MS = 200;

Deno.test("long timeout: a wait over the cap is chained and fires once, never early", async () => {
  const started = performance.now();
  let fired = 0;
  let firedAt = 0;
  setLongTimeout(
    () => {
      fired++;
      firedAt = performance.now();
    },
    120,
    25,
  ); // 120 ms as a chain of timers of at most 25 ms.
  await waitFor(() => fired > 0, 10_000, "the chained timer");
  assert.ok(firedAt - started >= 118, `fired after ${firedAt - started} ms`);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(fired, 1, "fired once");
});

Deno.test("long timeout: 30 days with the real cap does not fire now, and cancels", async () => {
  assert.equal(MAX_TIMEOUT_MS, 2 ** 31 - 1);
  let fired = false;
  const cancel = setLongTimeout(() => fired = true, 30 * 86_400_000);
  await new Promise((resolve) => setTimeout(resolve, OVERFLOW_WINDOW_MS));
  cancel();
  assert.equal(fired, false); // A plain setTimeout would have fired after 1 ms.
});

Deno.test("sleep: 30 days waits (no overflow) until the signal aborts", async () => {
  const stop = new AbortController();
  let done = false;
  const wait = sleep(30 * 86_400_000, stop.signal).then(() => done = true);
  await new Promise((resolve) => setTimeout(resolve, OVERFLOW_WINDOW_MS));
  assert.equal(done, false);
  stop.abort();
  await wait;
  assert.equal(done, true);
});
