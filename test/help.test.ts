// Every command's --help as a terminal of 80 columns shows it, as Docker's: no line longer.
import { expect, test } from "bun:test";
import { box, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

/** The names in the COMMANDS section of a help text (the first of each row: "ls, list, ps"). */
function commandsOf(help: string): string[] {
  const section = /\nCOMMANDS\n([\s\S]*?)\n\n/.exec(help)?.[1] ?? "";
  return section.split("\n").flatMap((l) => (/^  (\S+?),? /.exec(l) ?? [])[1] ?? []);
}

async function help(words: string[]): Promise<string> {
  const r = await box(t.s, [...words, "--help"]);
  expect({ words, code: r.code, stderr: r.stderr }).toEqual({ words, code: 0, stderr: "" });
  return r.stdout;
}

test("no line of any command's --help is longer than 80 columns", async () => {
  const root = await help([]);
  const top = commandsOf(root);
  expect(top).toContain("container");
  const texts = new Map<string, string>([["box", root]]);
  for (const name of top) {
    const text = await help([name]);
    texts.set(name, text);
    // network and oci parse their own verbs; their help names them.
    const subs = name === "network" ? ["create", "ls", "inspect", "rm"] : name === "oci" ? [...text.matchAll(/^  ([a-z]+) /gm)].map((m) => m[1]!) : commandsOf(text);
    for (const sub of subs) texts.set(`${name} ${sub}`, await help([name, sub]));
  }
  expect(texts.size).toBeGreaterThan(80);
  const long = [...texts].flatMap(([name, text]) => text.split("\n").filter((l) => l.length > 80).map((l) => `${name}: ${l}`));
  expect(long).toEqual([]);
  expect(texts.get("run")).toMatch(/^ {6}--network, --net NETWORK +\S/m);
  expect(texts.get("run")).toMatch(/^ {2}-e, --env KEY=VALUE +Set an environment variable/m);
}, 120_000);

test("a family without a command shows its commands; an unknown one is one line and 125", async () => {
  const text = await help(["container"]);
  expect(text).toMatch(/^ {2}ls, list, ps +List containers$/m);
  const r = await box(t.s, ["container", "frobnicate"]);
  expect([r.code, r.stdout, r.stderr]).toEqual([125, "", `box: unknown command "frobnicate" for "box container"; see 'box container --help'\n`]);
});
