/**
 * Writes a record file of ours (the health record, the metrics) so that a reader never sees it
 * half-written. Needs `--allow-write` on the file, and on its folder for the rename.
 *
 * @module
 */
import { logMessage } from "../report/logging.ts";

/**
 * Writes `text` beside `path` and renames it over `path`; in place when the grants cover only
 * the file itself. The folder is made when missing. Never throws: a failed write is one warning
 * naming the file, and the loop goes on.
 *
 * @example Usage
 * ```ts
 * import { writeRecord } from "./write_record.ts";
 * writeRecord("/tmp/foldersync-example.json", "{}\n", "health file");
 * ```
 *
 * @param path The file.
 * @param text Its new content.
 * @param what What the file is, for the warning ("health file").
 */
export function writeRecord(path: string, text: string, what: string): void {
  // Not *.prom nor *.json: a collector never reads the temporary file.
  const tmp = `${path}.tmp-${Deno.pid}`;
  const write = () => {
    try {
      Deno.writeTextFileSync(tmp, text);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotCapable)) throw error;
      Deno.writeTextFileSync(path, text);
      return;
    }
    Deno.renameSync(tmp, path);
  };
  try {
    try {
      write();
    } catch (error) {
      const slash = path.lastIndexOf("/");
      if (!(error instanceof Deno.errors.NotFound) || slash <= 0) throw error;
      Deno.mkdirSync(path.slice(0, slash), { recursive: true });
      write();
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    logMessage("warning", `cannot write ${what} '${path}': ${reason}`);
  }
}
