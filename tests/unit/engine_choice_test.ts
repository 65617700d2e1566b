import assert from "node:assert/strict";
import { chooseEngine, type EngineFacts, type EngineWanted } from "../../lib/config/engine.ts";
import { parseCommandLine, UsageError } from "../../lib/config/cli.ts";

const linux: EngineFacts = { os: "linux", arch: "x86_64", ffi: true };

/** [wanted, facts, the engine chosen or the start of the refusal]. */
const TABLE: [EngineWanted, EngineFacts, string][] = [
  ["auto", linux, "native"],
  ["auto", { ...linux, arch: "aarch64" }, "native"],
  ["auto", { ...linux, ffi: false }, "portable"],
  ["auto", { ...linux, arch: "riscv64" }, "portable"],
  ["auto", { ...linux, os: "darwin", arch: "aarch64" }, "portable"],
  ["auto", { os: "windows", arch: "x86_64", ffi: false }, "portable"],
  ["portable", linux, "portable"],
  ["portable", { os: "darwin", arch: "x86_64", ffi: false }, "portable"],
  ["native", linux, "native"],
  ["native", { ...linux, arch: "aarch64" }, "native"],
  [
    "native",
    { ...linux, ffi: false },
    "refused: --engine native needs --allow-ffi (unscoped): add it to deno run (or deno compile), " +
    "or use --engine portable",
  ],
  [
    "native",
    { ...linux, arch: "riscv64" },
    "refused: --engine native runs on x86_64 and aarch64 only, not riscv64: use --engine portable",
  ],
  [
    "native",
    { os: "darwin", arch: "aarch64", ffi: true },
    "refused: --engine native runs on Linux only, not darwin: use --engine portable",
  ],
  // The platform is named first: granting FFI there would not help.
  [
    "native",
    { os: "windows", arch: "x86_64", ffi: false },
    "refused: --engine native runs on Linux only, not windows: use --engine portable",
  ],
];

for (const [wanted, facts, expected] of TABLE) {
  Deno.test(`engine choice: ${wanted} on ${facts.os} ${facts.arch}, ffi ${facts.ffi ? "granted" : "not granted"} -> ${expected.split(":")[0]}`, () => {
    let got: string;
    try {
      got = chooseEngine(wanted, facts);
    } catch (error) {
      assert.ok(error instanceof UsageError, String(error));
      got = `refused: ${error.message}`;
    }
    assert.equal(got, expected);
  });
}

const args = ["--source_path", "s", "--replica_path", "r"];

function parsed(extra: string[], facts: EngineFacts) {
  const command = parseCommandLine([...args, ...extra], facts);
  assert.equal(command.kind, "run");
  return (command as Extract<typeof command, { kind: "run" }>).config;
}

Deno.test("engine choice: --engine defaults to auto, and the config carries the engine chosen", () => {
  assert.equal(parsed([], linux).engine, "native");
  assert.equal(parsed([], { ...linux, ffi: false }).engine, "portable");
  assert.equal(parsed(["--engine", "portable"], linux).engine, "portable");
  assert.equal(parsed(["--engine=NATIVE"], linux).engine, "native");
});

Deno.test("engine choice: a value that is no engine, or native where it cannot run, is a usage error", () => {
  assert.throws(
    () => parsed(["--engine", "fast"], linux),
    new UsageError("--engine 'fast' is not one of auto, portable, native"),
  );
  assert.throws(
    () => parsed(["--engine", "native"], { ...linux, ffi: false }),
    /^UsageError: --engine native needs --allow-ffi \(unscoped\): /,
  );
});

Deno.test({
  name: "engine choice: without --allow-ffi, this process is portable by default",
  ignore: Deno.permissions.querySync({ name: "ffi" }).state === "granted",
  fn() {
    const command = parseCommandLine(args);
    assert.equal(command.kind === "run" && command.config.engine, "portable");
  },
});
