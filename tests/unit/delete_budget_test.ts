/**
 * The delete budget (`--max-delete`, lib/engine/remove.ts) as a table of named cases: a limit,
 * the removals asked for in order (a folder's whole count at once, or one at a time), and which
 * were granted. Over the limit nothing is taken, so a smaller request after it may still fit.
 */
import assert from "node:assert/strict";
import { DeleteBudget } from "../../lib/engine/remove.ts";

interface Row {
  name: string;
  /** `--max-delete`; undefined for no flag. */
  limit?: number;
  /** Each request's count, in order. */
  asks: number[];
  /** Whether each was granted. */
  want: boolean[];
}

const rows: Row[] = [
  { name: "no flag: any number, any size", asks: [1, 1000, 1e9], want: [true, true, true] },
  { name: "--max-delete 0: the first removal is refused", limit: 0, asks: [1], want: [false] },
  { name: "--max-delete 0: a request of zero fits", limit: 0, asks: [0], want: [true] },
  {
    name: "one at a time: the one past the limit is refused, and every one after it",
    limit: 2,
    asks: [1, 1, 1, 1],
    want: [true, true, false, false],
  },
  { name: "a folder of exactly the limit fits", limit: 3, asks: [3], want: [true] },
  { name: "a folder one over the limit is refused whole", limit: 3, asks: [4], want: [false] },
  {
    name: "a refused folder takes nothing: single removals after it still fit",
    limit: 3,
    asks: [5, 1, 1, 1, 1],
    want: [false, true, true, true, false],
  },
  {
    name: "a folder after single removals gets only what is left",
    limit: 5,
    asks: [2, 4, 3, 1],
    want: [true, false, true, false],
  },
];

for (const row of rows) {
  Deno.test(`DeleteBudget: ${row.name}`, () => {
    const budget = new DeleteBudget(row.limit);
    assert.deepEqual(row.asks.map((n) => budget.take(n)), row.want);
    assert.equal(budget.limit, row.limit, "the limit kept for the error line");
  });
}

Deno.test("DeleteBudget: take() with no count is one removal", () => {
  const budget = new DeleteBudget(1);
  assert.equal(budget.take(), true);
  assert.equal(budget.take(), false);
  assert.equal(new DeleteBudget(0).take(), false);
});
