/**
 * `--max-delete` in one walk: the removals the walk finds are held, with what follows them at
 * their path, counted after it, and made only when they all fit the budget; needs --allow-read
 * and --allow-write on the replica.
 *
 * @module
 */
import type { Action, EntryKind } from "./types.ts";
import type { ApplyContext, DirRef } from "./context.ts";
import { applyRemove, DeleteBudget } from "./remove.ts";
import { NO_DELETES } from "./plan.ts";
import { isTempName } from "./temp_shape.ts";
import { skip } from "./report.ts";

type Remove = Extract<Action, { op: "remove" }>;

/** A held removal and the actions planned after it at its path (a type change's replacement). */
interface Group {
  dir: DirRef;
  remove: Remove;
  actions: Action[];
}

/** What the walk's run of some actions in a folder leaves: the copies still under way. */
export interface Ran {
  /** The copies (and settle waits) still under way. */
  tasks: Promise<void>[];
  /** Whether an action may have changed the folder. */
  changed: boolean;
}

/** Runs actions in `dir` as the walk would. */
export type RunHeld = (dir: DirRef, actions: Action[]) => Promise<Ran>;

/**
 * The removals one walk holds back under `--max-delete`. The walk hands
 * each `remove` action over (and every later action at the same path, so a
 * type change's replacement waits for its removal); once it has walked,
 * `release` counts them as a dry run of the removal would (a folder counts
 * its entries, less the excluded ones it keeps) and makes them all if the
 * total fits the budget, else none. A folder holding a removal sets its
 * mode and mtime only after the release (`after`).
 *
 * @example Usage
 * ```ts
 * import { HeldRemovals } from "./held.ts";
 * const held = new HeldRemovals();
 * // if (held.take(action, dir)) continue; ... after the walk:
 * // await held.release(ctx, run, (removals) => console.log(`${removals}: none made`));
 * ```
 */
export class HeldRemovals {
  readonly #groups: Group[] = [];
  readonly #byPath = new Map<string, Group>();
  readonly #dirs = new Map<DirRef, PromiseWithResolvers<boolean>>();
  #released = false;

  /**
   * Takes an action from the walk: a removal, or a later action at the path
   * of one taken. Once released, takes nothing (the release's own removals are made).
   *
   * @param action The action the walk is at.
   * @param dir The replica directory it happens in.
   * @returns True when held: the walk moves on.
   */
  take(action: Action, dir: DirRef): boolean {
    if (this.#released) return false;
    const group = this.#byPath.get(action.path);
    if (group !== undefined) {
      group.actions.push(action);
      return true;
    }
    if (action.op !== "remove") return false;
    const held: Group = { dir, remove: action, actions: [action] };
    this.#groups.push(held);
    this.#byPath.set(action.path, held);
    if (!this.#dirs.has(dir)) this.#dirs.set(dir, Promise.withResolvers());
    return true;
  }

  /**
   * Makes a folder's mode and mtime wait for the release, when something of it is held.
   *
   * @param dir A replica directory the walk has planned.
   * @param tasks What its mode and mtime wait for: a task is added that settles after the release.
   * @param ran Called first when something of it was run.
   */
  after(dir: DirRef, tasks: Promise<void>[], ran: () => void): void {
    const held = this.#dirs.get(dir)?.promise;
    if (held) tasks.push(held.then((acted) => acted ? ran() : undefined));
  }

  /**
   * After the walk: counts the held removals and runs every group, in the
   * order the walk met them, when the total fits `ctx.budget`. Over it, none
   * is made, a type change is skipped as with removals off, and only stale
   * temporary files of ours still go (as when removals are off). A stopped
   * cycle runs nothing.
   *
   * @param ctx The cycle.
   * @param run Runs a group's actions as the walk would.
   * @param refused Told the removals counted when they are over the budget (none made).
   */
  async release(
    ctx: ApplyContext,
    run: RunHeld,
    refused?: (removals: number) => void,
  ): Promise<void> {
    this.#released = true;
    const ran = new Map<DirRef, Promise<void>[]>();
    try {
      if (this.#groups.length === 0 || ctx.signal?.aborted) return;
      let total = 0;
      for (const group of this.#groups) total += await count(ctx, group);
      const fits = ctx.budget.fits(total);
      if (!fits) refused?.(total);
      for (const group of this.#groups) {
        if (ctx.signal?.aborted) break;
        if (fits || ours(group.remove)) {
          const { tasks } = await run(group.dir, group.actions);
          ran.set(group.dir, [...(ran.get(group.dir) ?? []), ...tasks]);
        } else if (group.remove.reason === "type") {
          skip(ctx, group.remove.path, replacementKind(group), NO_DELETES);
        }
      }
    } finally {
      for (const [dir, wait] of this.#dirs) {
        const done = ran.get(dir);
        if (done === undefined) wait.resolve(false);
        else wait.resolve(Promise.all(done).then(() => true)); // A failed copy fails as in the walk.
      }
    }
  }
}

/** The entries a removal would take, as a dry run of it reports them (`--backup_dir` moves too). */
async function count(ctx: ApplyContext, group: Group): Promise<number> {
  const { remove, dir } = group;
  let n = 0;
  const counting: ApplyContext = {
    ...ctx,
    dryRun: true,
    budget: new DeleteBudget(),
    warned: new Set(),
    emit: (event) => {
      if (event.action === "remove") n++;
      else if (event.action === "backup") n += event.count ?? 0;
    },
  };
  const type = remove.reason === "type";
  await applyRemove(counting, remove.path, remove.dst, type, dir, false, !type);
  return n;
}

/** A stale temporary file of ours: removed even when removals are off (see `planDir`). */
function ours(remove: Remove): boolean {
  const name = remove.path.slice(remove.path.lastIndexOf("/") + 1);
  return remove.reason === "extra" && remove.dst.kind === "file" && isTempName(name);
}

/** What a type change would have put in place: the kind its skip line names. */
function replacementKind(group: Group): EntryKind {
  for (const action of group.actions) {
    if ("src" in action && action.src !== undefined) return action.src.kind;
  }
  return group.remove.dst.kind;
}
