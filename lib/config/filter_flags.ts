/**
 * The filter flags (--exclude, --include, --exclude-from, --include-from) as rsync's rules, in
 * the order given. Needs `--allow-read` on the rule files.
 *
 * @module
 */
import { checkRule, GlobError, ruleFromFlag, rulesFromFile } from "../engine/exclude.ts";
import { UsageError } from "./usage_error.ts";

/**
 * The filter rules in the order the flags were given (node:util's parseArgs
 * keeps each flag's values apart, losing how --include and --exclude
 * interleave; its tokens keep the order). Files are read here, once.
 *
 * @example Usage
 * ```ts
 * import { filterRules } from "./filter_flags.ts";
 * filterRules([{ kind: "option", name: "exclude", rawName: "--exclude", value: "*.tmp" }]);
 * // ["- *.tmp"]
 * ```
 *
 * @param tokens The tokens of node:util's parseArgs.
 * @returns The rules, `+ pattern` or `- pattern`, or `!`.
 * @throws {UsageError} For a pattern that can never match or a rule file that cannot be read.
 */
export function filterRules(
  tokens: readonly { kind: string; name?: string; rawName?: string; value?: string }[],
): string[] {
  const rules: string[] = [];
  for (const token of tokens) {
    if (token.kind !== "option" || token.value === undefined) continue;
    const flag = token.name!.replaceAll("-", "_");
    const typed = token.rawName!; // Messages name the flag as typed.
    if (flag === "exclude" || flag === "include") {
      const rule = ruleFromFlag(token.value, flag === "include");
      if (rule === undefined) continue;
      try {
        checkRule(rule);
      } catch (error) {
        if (!(error instanceof GlobError)) throw error;
        throw new UsageError(`${typed} '${token.value}' is not a valid pattern: ${error.reason}`);
      }
      rules.push(rule);
    } else if (flag === "exclude_from" || flag === "include_from") {
      const file = token.value;
      let text: string;
      try {
        text = file === "-" ? readStdin() : Deno.readTextFileSync(file);
      } catch (error) {
        // "No such file or directory (os error 2): readfile '…'" -> "no such file or directory"
        const message = error instanceof Error ? error.message : String(error);
        const why = message.replace(/\s*\(os error \d+\).*$/s, "");
        throw new UsageError(
          `${typed} '${file}' cannot be read: ${why.charAt(0).toLowerCase()}${why.slice(1)}`,
        );
      }
      for (const { line, rule } of rulesFromFile(text, flag === "include_from")) {
        try {
          checkRule(rule);
        } catch (error) {
          if (!(error instanceof GlobError)) throw error;
          throw new UsageError(
            `${typed} '${file}' line ${line}: '${rule.slice(2)}' is not a valid pattern: ` +
              error.reason,
          );
        }
        rules.push(rule);
      }
    }
  }
  return rules;
}

/** All of standard input, as text (`--exclude-from -`, as rsync reads it). */
function readStdin(): string {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  while (true) {
    const n = Deno.stdin.readSync(buffer);
    if (n === null || n === 0) break;
    chunks.push(buffer.slice(0, n));
  }
  const all = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(all);
}
