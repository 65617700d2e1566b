/**
 * `--hard-links`: the hard-link groups one cycle has met, and the linking of
 * their members. A group is a source file's `dev:ino` with more than one
 * link; its first member met stands for it (the planner decides which), and
 * the others are linked to the replica file that member's action copied or
 * found. Only groups are remembered, one entry each, for one cycle: memory
 * grows with linked files, not with the tree.
 *
 * @module
 */
import type { Action } from "./types.ts";
import type { LinkAnchor } from "./plan.ts";
import type { ApplyContext, DirRef } from "./context.ts";
import { applyCopy, type CopyExtra, overwritten } from "./copy.ts";
import { loosenDir } from "./loosen.ts";
import { coded, fail } from "./report.ts";
import type { Made } from "./copy_file_atomic.ts";
import { AnchorChangedError } from "./link_atomic.ts";
import { explain } from "./errors.ts";

/** A group met this cycle. */
interface Group extends LinkAnchor {
  /** Settles once the anchor's copy has ended (at once when it was found current). */
  ready: Promise<void>;
  /** The anchor's replica file: found, or made by its copy (undefined until then, or if it failed). */
  file?: Made;
  /** The replica folder it is in. */
  dir: DirRef;
}

/** What the walk does with the copy (or compare) that makes a group's file. */
export interface AnchorCopy {
  /** To pass to `applyAction`: learns the file the copy made. */
  extra: CopyExtra;
  /** To call once, with the copy's completion (undefined: it is over already). */
  ends(task?: Promise<unknown>): void;
}

/**
 * The hard-link groups of one cycle.
 *
 * @example Usage
 * ```ts
 * import { HardLinks } from "./hard_links.ts";
 * const links = new HardLinks();
 * links.anchors.size; // 0
 * // planDir(rel, src, dst, { ...options, links: links.anchors });
 * // const anchor = links.begin(action, dir); ... tasks.push(links.link(ctx, linkAction, dir));
 * ```
 */
export class HardLinks {
  readonly #groups = new Map<string, Group>();

  /** The groups met so far, by the source's `dev:ino`, for the planner (`PlanOptions.links`). */
  get anchors(): ReadonlyMap<string, LinkAnchor> {
    return this.#groups;
  }

  /**
   * Registers the group whose file an action stands for, as the walk meets
   * it: an `anchor` action (found current) at once; a copy or compare that
   * carries a group as under way, until the walk calls `ends`.
   *
   * @param action Any action of a plan.
   * @param dir The replica folder it happens in.
   * @returns For a copy or compare that carries a group, what the walk must do with it.
   */
  begin(action: Action, dir: DirRef): AnchorCopy | undefined {
    if (action.op === "anchor") {
      const { dev, ino } = action.dst;
      this.#groups.set(action.group, {
        path: action.path,
        found: { dev, ino },
        file: { kind: "file", dev, ino },
        ready: Promise.resolve(),
        dir,
      });
      return undefined;
    }
    if ((action.op !== "copy" && action.op !== "compare") || action.group === undefined) {
      return undefined;
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    const group: Group = { path: action.path, ready: promise, dir };
    this.#groups.set(action.group, group);
    return {
      extra: { made: (file) => (group.file = file) },
      ends: (task) => task ? task.then(() => resolve(), () => resolve()) : resolve(),
    };
  }

  /**
   * Links a member into place (see `linkAtomic`) once its group's file is
   * there. When that file could not be made, changed meanwhile, or cannot be
   * linked to (another filesystem, too many links), the member is copied as a
   * separate file instead, its line saying why; the next cycle links it again.
   *
   * @param ctx The cycle.
   * @param action The link action.
   * @param dir The replica directory it goes in.
   */
  async link(
    ctx: ApplyContext,
    action: Extract<Action, { op: "link" }>,
    dir: DirRef,
  ): Promise<void> {
    const { path, dst, reason } = action;
    // rsync: `hf+++++++++` for a new name, spaces when a file was there.
    const changes = action.changes === "+" ? "+" : "";
    const linked = () =>
      ctx.emit(coded(
        ctx,
        {
          action: reason === "new" ? "create" : "update",
          path,
          kind: "file",
          detail: `hard link to ${action.anchor}`,
        },
        "h",
        changes,
      ));
    const backup = overwritten(ctx, path, dst);
    if (ctx.dryRun) {
      backup?.done();
      return linked();
    }
    const group = this.#groups.get(action.group);
    await group?.ready; // Its copy may still be under way, or set aside until it settles.
    if (ctx.signal?.aborted) return;
    const file = group?.file;
    if (group === undefined || file === undefined) {
      return await separate(ctx, action, dir, "it was not copied");
    }
    if (dst?.kind === "file" && dst.dev === file.dev && dst.ino === file.ino) return; // Kept by --checksum.
    if (!loosenDir(ctx, dir)) return;
    try {
      const name = path.slice(path.lastIndexOf("/") + 1);
      const anchor = { dir: group.dir, name: group.path.slice(group.path.lastIndexOf("/") + 1) };
      ctx.fs.link({ ...anchor, seen: file }, { dir, name, seen: dst }, backup?.target);
    } catch (error) {
      if ((error as Error).name === "ChangedError") {
        return fail(ctx, path, "file", "cannot link", error);
      }
      const why = error instanceof AnchorChangedError ? error.what : explain(error).reason;
      return await separate(ctx, action, dir, why);
    }
    backup?.done();
    linked();
  }
}

/** Copies a member that could not be linked as a separate file, saying why. */
async function separate(
  ctx: ApplyContext,
  action: Extract<Action, { op: "link" }>,
  dir: DirRef,
  why: string,
): Promise<void> {
  const { path, src, dst, reason } = action;
  const detail = `not hard-linked to ${action.anchor}: ${why}`;
  const task = await applyCopy(ctx, path, src, dst, reason, dir, {
    detail,
    changes: action.changes,
  });
  await task?.done;
}
