/** The start-up check: configurations that can never work, after resolving symlinks. */
import assert from "node:assert/strict";
import { checkConfig, ConfigError } from "../../lib/config/check_config.ts";
import { tempDirs, writeTree } from "../helpers.ts";

function refusal(config: Parameters<typeof checkConfig>[0]): string {
  try {
    checkConfig(config);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `${error}`);
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(config)}`);
}

Deno.test("checkConfig: overlapping trees and own files inside them are refused, through symlinks too", () => {
  using t = tempDirs();
  writeTree(t.src, { inner: {} });
  Deno.mkdirSync(t.dst);
  Deno.symlinkSync(t.src, `${t.dir}/src-link`);
  Deno.symlinkSync(t.dst, `${t.dir}/dst-link`);
  const src = t.src, dst = t.dst;
  assert.match(refusal({ source: src, replica: `${t.dir}/src-link` }), /same directory/);
  assert.match(
    refusal({ source: src, replica: `${src}/inner/new` }),
    /replica .* is inside the source/,
  );
  assert.match(
    refusal({ source: `${t.dir}/src-link/inner`, replica: src }),
    /the source is inside the replica/,
  );
  assert.equal(
    refusal({ source: src, replica: dst, logFile: `${t.dir}/src-link/logs/f.log` }),
    `--log_file '${t.dir}/src-link/logs/f.log' is inside the source, which foldersync never ` +
      `writes to: move it elsewhere`,
  );
  assert.match(
    refusal({ source: src, replica: dst, healthFile: `${t.dir}/dst-link/h.json` }),
    /^--health_file '.*' is inside the replica, where the mirror would delete it/,
  );
  assert.match(
    refusal({ source: src, replica: dst, logFile: src }),
    /--log_file .* inside the source/,
  );
  assert.match(
    refusal({ source: src, replica: dst, logFile: `${t.dir}/x`, healthFile: `${t.dir}/x` }),
    /--health_file and --log_file are the same file/,
  );
  // What can heal is not refused here: a source not there yet (an unmounted volume).
  checkConfig({ source: `${t.dir}/not-mounted`, replica: dst, logFile: `${t.dir}/logs/f.log` });
  checkConfig({ source: src, replica: `${t.dir}/new-replica`, healthFile: `${t.dir}/h.json` });
});
