// box completion: the scripts complete commands, flags, and the store's containers and images,
// driven as each shell drives them.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, box, importBusybox, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

/** The store with an image bb and containers web and worker; `box`: an executable that runs box
 * (the word the scripts run for names), and the global flags that name the store. */
async function setup(): Promise<{ exe: string; store: string[] }> {
  expect((await importBusybox(t.s, "bb")).code).toBe(0);
  for (const name of ["web", "worker"]) expect((await box(t.s, ["create", "--name", name, "bb", "true"])).code).toBe(0);
  const exe = join(t.s.dir, "box");
  writeFileSync(exe, `#!/bin/sh\nexec ${BOX.map((a) => `'${a}'`).join(" ")} "$@"\n`, { mode: 0o755 });
  return { exe, store: ["--root", t.s.root, "--runroot", t.s.runroot] };
}

async function cleanup(): Promise<void> {
  expect((await box(t.s, ["rm", "web", "worker"])).code).toBe(0);
}

async function script(shell: string): Promise<string> {
  const r = await box(t.s, ["completion", shell]);
  expect([r.code, r.stderr]).toEqual([0, ""]);
  const file = join(t.s.dir, `box.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

function shell(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  expect({ argv, stderr: r.stderr.toString(), code: r.exitCode }).toEqual({ argv, stderr: "", code: 0 });
  return r.stdout.toString();
}

const quote = (words: string[]) => words.map((w) => `'${w}'`).join(" ");

test("bash: commands, subcommands, long flags, containers and images; nothing for the payload", async () => {
  const { exe, store } = await setup();
  const file = await script("bash");
  /** What _box offers for the words typed (the last one being completed), sorted as bash shows it. */
  const offered = (words: string[]) =>
    shell(["bash", "-c", `source '${file}'; COMP_WORDS=('${exe}' ${quote(words)}); COMP_CWORD=${words.length}; _box; printf '%s\\n' "\${COMPREPLY[@]}"`])
      .split("\n")
      .filter(Boolean)
      .sort();
  expect(shell(["bash", "-c", `source '${file}'; complete -p box`])).toBe("complete -F _box box\n");
  expect(offered(["ru"])).toEqual(["run"]);
  expect(offered(["run", "--netw"])).toEqual(["--network"]);
  expect(offered(["run", "-d", "--rm", "--"])).toContain("--hostname");
  expect(offered(["container", ""])).toEqual(expect.arrayContaining(["ls", "list", "inspect", "rm", "diff", "prune", "exec"]));
  expect(offered(["image", "l"])).toEqual(["list", "load", "ls"]);
  expect(offered([...store, "rm", "-f", "w"])).toEqual(["web", "worker"]);
  expect(offered([...store, "container", "inspect", "we"])).toEqual(["web"]);
  expect(offered([...store, "run", "-e", "A=1", "b"])).toEqual(["bb:latest"]);
  // After the image come the payload's words: not box's flags.
  expect(offered([...store, "run", "bb", "--"])).toEqual([]);
  await cleanup();
});

const fish = Bun.which("fish");
if (!fish) console.warn("fish is not installed: the fish completion script is not checked (build/setup.sh installs it)");
test.skipIf(!fish)("fish: the script parses, and completes as bash's does", async () => {
  const { exe, store } = await setup();
  const file = await script("fish");
  shell(["fish", "-n", file]);
  // fish completes the command line given to `complete -C`, with box named by a function.
  const offered = (words: string[]) =>
    shell(["fish", "-c", `source '${file}'; function box; '${exe}' $argv; end; complete -C ${quote([["box", ...words].join(" ")])}`])
      .split("\n")
      .filter(Boolean);
  expect(offered(["ru"])).toEqual(["run"]);
  expect(offered(["run", "--netw"])).toEqual(["--network"]);
  expect(offered(["container", "insp"])).toEqual(["inspect"]);
  expect(offered([...store, "rm", "w"])).toEqual(["web", "worker"]);
  await cleanup();
});

const zsh = Bun.which("zsh");
if (!zsh) console.warn("zsh is not installed: the zsh completion script is not checked (build/setup.sh installs it)");
test.skipIf(!zsh)("zsh: the script parses, and offers the words bash's does", async () => {
  const { exe, store } = await setup();
  const file = await script("zsh");
  shell(["zsh", "-n", file]);
  // Outside a completion widget: compadd and _files stand in for zsh's, printing what they get
  // (zsh itself then keeps the words the typed prefix starts).
  const offered = (words: string[]) =>
    shell(["zsh", "-c", `compdef() {}; source '${file}'; compadd() { shift; print -l -- "$@" }; _files() { print FILES }; words=('${exe}' ${quote(words)}); CURRENT=${words.length + 1}; _box`])
      .split("\n")
      .filter(Boolean);
  expect(offered(["container", ""])).toEqual(expect.arrayContaining(["ls", "inspect", "diff", "prune"]));
  expect(offered(["run", "--netw"])).toContain("--network");
  expect(offered([...store, "rm", ""])).toEqual(expect.arrayContaining(["web", "worker"]));
  expect(offered(["run", "bb", ""])).toEqual(["FILES"]);
  await cleanup();
});

test("bad input: one line, 125", async () => {
  for (const [args, stderr] of [
    [["completion"], `box: "box completion" requires exactly 1 argument: bash, zsh or fish\n`],
    [["completion", "tcsh"], `box: unsupported shell "tcsh": bash, zsh or fish\n`],
  ] as const) expect(await box(t.s, [...args])).toEqual({ code: 125, stdout: "", stderr });
});
