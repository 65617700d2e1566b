/**
 * A strict reader of Prometheus's text exposition format (version 0.0.4, what
 * node_exporter's textfile collector reads), for the tests of
 * `--metrics_file`: it throws on anything the format does not allow.
 *
 * @module
 */

/** One sample: its labels and value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** One metric family: its type, help and samples. */
export interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Parses the text; throws with the line number on the first thing out of format. */
export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the text must end with a newline");
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: string | undefined; // The family whose samples are being read.
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    const family = (name: string) => {
      if (!NAME.test(name)) fail("bad metric name");
      let f = families.get(name);
      if (f === undefined) {
        f = { type: "", help: "", samples: [] };
        families.set(name, f);
      } else if (f.samples.length > 0 && current !== name) {
        fail("a family's lines must be together");
      }
      current = name;
      return f;
    };
    if (line === "") return;
    const meta = line.match(/^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/);
    if (meta) {
      const f = family(meta[2]);
      if (f.samples.length > 0) fail(`${meta[1]} after the family's samples`);
      if (meta[1] === "HELP") {
        if (f.help !== "") fail("a second HELP");
        f.help = meta[3] ?? "";
      } else {
        if (f.type !== "") fail("a second TYPE");
        if (!TYPES.has(meta[3] ?? "")) fail("unknown type");
        f.type = meta[3]!;
      }
      return;
    }
    if (line.startsWith("#")) return; // A comment.
    const sample = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?$/);
    if (!sample) fail("not a sample");
    const [, name, braces, valueText] = sample!;
    const labels: Record<string, string> = {};
    if (braces !== undefined) {
      let rest = braces.slice(1, -1);
      while (rest !== "") {
        const m = rest.match(/^([^=\s]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/);
        if (!m) fail("bad labels");
        if (!LABEL.test(m![1]) || m![1] in labels) fail(`bad or repeated label '${m![1]}'`);
        labels[m![1]] = m![2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
        rest = rest.slice(m![0].length);
      }
    }
    const value = /^[+-]?Inf$/.test(valueText)
      ? Number(valueText.replace("Inf", "Infinity"))
      : valueText === "NaN"
      ? NaN
      : Number(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") fail("bad value");
    const f = family(name);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (series.has(key)) fail("the same series twice");
    series.add(key);
    f.samples.push({ labels, value });
  });
  for (const [name, f] of families) {
    if (f.samples.length === 0) throw new Error(`family ${name} has no samples`);
  }
  return families;
}

/** The value of `name`'s sample with exactly these labels; throws when there is none. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string>,
): number {
  const want = JSON.stringify(Object.entries(labels).sort());
  const found = families.get(name)?.samples.find((s) =>
    JSON.stringify(Object.entries(s.labels).sort()) === want
  );
  if (found === undefined) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
  return found.value;
}
