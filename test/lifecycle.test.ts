// The init's job and the CLI's contract: exit codes, zombies, signals, terminals, cleanup.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, boxArgs, containerState, copyRootfs, readUntil, ROOTFS, run, sh, storeProcesses, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

/** Starts `box run` in the background and resolves once the payload printed `ready`. */
async function startReady(script: string, flags: string[] = []) {
  const proc = Bun.spawn(boxArgs(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), ...flags, "/bin/sh", "-c", script]), {
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let out = "";
  while (!out.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`payload ended before ready: ${out}`);
    out += new TextDecoder().decode(value);
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return out;
      out += new TextDecoder().decode(value);
    }
  })();
  return { proc, output: () => rest };
}

describe("exit codes", () => {
  test("the payload's status comes back", async () => {
    expect((await sh(t.s, "exit 0")).code).toBe(0);
    expect((await sh(t.s, "exit 3")).code).toBe(3);
    expect((await sh(t.s, "exit 255")).code).toBe(255);
  });

  test("a payload killed by signal N gives 128+N", async () => {
    expect((await sh(t.s, "kill -KILL $$")).code).toBe(137);
    expect((await sh(t.s, "kill -SEGV $$")).code).toBe(139);
  });

  test("127: command not found, with Docker's message", async () => {
    const r = await run(t.s, [], ["no-such-command"]);
    expect(r.code).toBe(127);
    expect(r.stderr).toBe('box: exec: "no-such-command": executable file not found in $PATH\n');
    const abs = await run(t.s, [], ["/no/such/file"]);
    expect(abs.code).toBe(127);
  });

  test("126: not executable", async () => {
    const r = await run(t.s, [], ["/etc/passwd"]);
    expect(r.code).toBe(126);
    expect(r.stderr).toBe('box: exec: "/etc/passwd": permission denied\n');
    expect((await run(t.s, [], ["/etc"])).code).toBe(126);
  });

  test("125: box's own errors, one line each, nothing created", async () => {
    const cases: [string[], string][] = [
      [["run", "--bogus", "--rootfs", ROOTFS, "true"], "unknown flag: --bogus"],
      [["run", "--rm", "--rootfs", "/no/such/dir", "true"], "rootfs /no/such/dir is not a directory"],
      [["run", "--rm", "--rootfs", ROOTFS], "no command specified"],
      [["run", "--rm", "--rootfs", ROOTFS, "--hostname", "bad_host!", "true"], 'invalid hostname "bad_host!"'],
      [["run", "--rm", "--rootfs", ROOTFS, "--name", "a/b", "true"], 'invalid container name "a/b"'],
      [["run", "--rm", "--rootfs", ROOTFS, "--network", "bridge0", "true"], "network bridge0 not found"],
      [["run", "--rm", "--rootfs", ROOTFS, "--hostname", "x".repeat(100), "true"], "invalid hostname"],
      // --pull never: a missing image is otherwise pulled (this machine reaches no registry).
      [["run", "--rm", "--pull", "never", "nosuchimage", "true"], "image not found: nosuchimage:latest"],
      [["frobnicate"], 'unknown command "frobnicate"'],
      [["run", "--rm", "--rootfs", ROOTFS, "--env-file", "/no/such/env", "true"], "cannot read env file /no/such/env"],
    ];
    for (const [args, msg] of cases) {
      const r = await box(t.s, args);
      expect({ args, code: r.code }).toEqual({ args, code: 125 });
      expect(r.stderr).toContain(msg);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  test("a name in use is refused, and freed again by --rm", async () => {
    const first = await startReady("echo ready; sleep 30", ["--name", "web"]);
    const clash = await sh(t.s, "true", ["--name", "web"]);
    expect(clash.code).toBe(125);
    expect(clash.stderr).toMatch(/^box: the container name "web" is already in use by container [0-9a-f]{12}\n$/);
    first.proc.kill("SIGTERM");
    await first.proc.exited;
    expect((await sh(t.s, "true", ["--name", "web"])).code).toBe(0);
  });
});

describe("init", () => {
  test("reaps every orphan: 100 children left behind leave no zombie", async () => {
    const r = await sh(t.s, "for i in $(seq 100); do (sleep 0.2 &); done; sleep 1; ps -o stat,comm | grep -c '^Z' ; ps -o comm | grep -c sleep");
    expect(r.stdout.trim().split("\n")).toEqual(["0", "0"]);
  });

  test("SIGTERM to box run reaches the payload", async () => {
    const c = await startReady("trap 'echo got-TERM; exit 7' TERM; echo ready; while true; do sleep 0.05; done");
    c.proc.kill("SIGTERM");
    expect(await c.proc.exited).toBe(7);
    expect(await c.output()).toContain("got-TERM");
  });

  test("other catchable signals are forwarded too", async () => {
    const c = await startReady("trap 'echo got-USR1' USR1; trap 'echo got-HUP' HUP; trap 'echo got-INT; exit 9' INT; echo ready; while true; do sleep 0.05; done");
    c.proc.kill("SIGUSR1");
    await Bun.sleep(200);
    c.proc.kill("SIGHUP");
    await Bun.sleep(200);
    c.proc.kill("SIGINT");
    expect(await c.proc.exited).toBe(9);
    const out = await c.output();
    expect(out).toContain("got-USR1");
    expect(out).toContain("got-HUP");
    expect(out).toContain("got-INT");
  });

  test("the container never outlives its payload: background processes die with it", async () => {
    const r = await sh(t.s, "sleep 300 & sleep 300 & echo started");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("started\n");
    // expectNoLeaks (afterEach) finds no process of this store.
  });

  test("SIGKILL of box run --rm kills the container and leaves nothing behind", async () => {
    const c = await startReady("echo ready; sleep 300");
    expect(storeProcesses(t.s).length).toBeGreaterThan(0);
    c.proc.kill("SIGKILL");
    await c.proc.exited;
    // The init notices the CLI is gone, kills the payload and removes the container.
    for (let i = 0; i < 150 && storeProcesses(t.s).length; i++) await Bun.sleep(20);
    expect(storeProcesses(t.s)).toEqual([]);
  });
  test("SIGKILL of the init: the payload dies with it, the CLI cleans up and says 137", async () => {
    const c = await startReady("echo ready; sleep 300");
    const [init] = storeProcesses(t.s);
    process.kill(init!, "SIGKILL");
    expect(await c.proc.exited).toBe(137);
  });
});

describe("terminal", () => {
  test("-t gives the payload a pty from the container's devpts, with the terminal's size", async () => {
    const cmd = [...boxArgs(t.s, ["run", "--rm", "-t", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", "tty; stty size; test -c /dev/console && echo console; echo $TERM; exit 4"])];
    const quoted = cmd.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const r = Bun.spawnSync(["script", "-qec", `stty rows 33 cols 101; ${quoted}`, "/dev/null"], { stdout: "pipe" });
    const out = r.stdout.toString().replace(/\r/g, "");
    expect(out).toContain("/dev/pts/0\n33 101\nconsole\nxterm\n");
    expect(r.exitCode).toBe(4);
  });

  test("-it relays keystrokes; ^C reaches the payload through the pty", async () => {
    const cmd = [...boxArgs(t.s, ["run", "--rm", "-it", "--rootfs", copyRootfs(t.s), "/bin/sh"])];
    const quoted = cmd.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const proc = Bun.spawn(["script", "-qec", quoted, "/dev/null"], { stdin: "pipe", stdout: "pipe" });
    const type = async (text: string) => {
      proc.stdin.write(text);
      await proc.stdin.flush();
      await Bun.sleep(300);
    };
    // Type only once the shell is up (and box has put the terminal in raw mode).
    const reader = proc.stdout.getReader();
    let out = await readUntil(reader, "# ");
    await type("trap 'echo got-INT' INT; echo typed-$((40+2))\n");
    await type("\x03");
    await type("exit 5\n");
    proc.stdin.end();
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += new TextDecoder().decode(r.value);
    expect(out).toContain("typed-42");
    expect(out).toContain("got-INT");
    expect(await proc.exited).toBe(5);
  });
});

test("box --version and --help", async () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  expect((await box(t.s, ["--version"])).stdout).toBe(`box version ${pkg.version}\n`);
  const help = await box(t.s, ["run", "--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("--hostname");
  expect(help.stdout).toContain("EXAMPLES");
});

test("a resized terminal reaches the payload (SIGWINCH and the new size)", async () => {
  const cmd = boxArgs(t.s, ["run", "--rm", "-t", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c",
    "trap 'stty size; exit 3' WINCH; echo ready; while true; do sleep 0.05; done"]);
  const quoted = cmd.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const proc = Bun.spawn(["script", "-qec", `stty rows 20 cols 70; ${quoted}`, "/dev/null"], { stdin: "pipe", stdout: "pipe" });
  const reader = proc.stdout.getReader();
  let out = await readUntil(reader, "ready");
  // The terminal box's CLI runs on: resizing it signals its foreground process group.
  const [init] = storeProcesses(t.s);
  const cli = Number(readFileSync(`/proc/${init}/stat`, "utf8").split(" ")[3]); // the init's parent
  const tty = readlinkSync(`/proc/${cli}/fd/0`);
  expect(tty).toMatch(/^\/dev\/pts\/\d+$/);
  Bun.spawnSync(["stty", "-F", tty, "rows", "41", "cols", "123"]);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  expect(out.replace(/\r/g, "")).toContain("41 123\n");
  expect(await proc.exited).toBe(3);
});

test("rlimits are the caller's: no raise beyond its hard limits", async () => {
  const r = await sh(t.s, "ulimit -Hn; ulimit -n");
  const hard = Bun.spawnSync(["sh", "-c", "ulimit -Hn; ulimit -n"]).stdout.toString();
  expect(r.stdout).toBe(hard);
});

describe("failures leave the rootfs alone", () => {
  test("a --rm run that fails while mounting deletes nothing in the --rootfs directory", async () => {
    const rootfs = copyRootfs(t.s);
    const file = join(t.s.dir, "a-file");
    writeFileSync(file, "x");
    // A file cannot be mounted over the rootfs's /etc directory: setup fails before pivot_root.
    const r = await run(t.s, ["-v", `${file}:/etc`], ["/bin/true"], { rootfs });
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("box: cannot mount a file on /etc: it is a directory in the container\n");
    expect(readFileSync(join(rootfs, "etc/passwd"), "utf8")).toContain("alice");
    expect(readdirSync(join(rootfs, "bin")).length).toBeGreaterThan(100);
  });
});

describe("box rm", () => {
  test("a container run without --rm stays until box rm removes it", async () => {
    const rootfs = copyRootfs(t.s);
    const r = await box(t.s, ["run", "--name", "keep", "--rootfs", rootfs, "/bin/sh", "-c", "exit 3"]);
    expect(r.code).toBe(3);
    const [id] = readdirSync(join(t.s.root, "containers"));
    const state = containerState(t.s, id!);
    expect(state).toMatchObject({ status: "exited", exitCode: 3, startedAt: expect.any(String), finishedAt: expect.any(String) });
    expect((await box(t.s, ["run", "--name", "keep", "--rootfs", rootfs, "true"])).code).toBe(125);
    expect(await box(t.s, ["rm", "keep"])).toEqual({ code: 0, stdout: "keep\n", stderr: "" });
    expect((await box(t.s, ["rm", "keep"])).stderr).toBe("box: no such container: keep\n");
    // The name is free again (and this container goes by id prefix).
    expect((await box(t.s, ["run", "--name", "keep", "--rootfs", rootfs, "true"])).code).toBe(0);
    const [id2] = readdirSync(join(t.s.root, "containers"));
    expect((await box(t.s, ["rm", id2!.slice(0, 6)])).code).toBe(0);
  });

  test("a running container is removed only with -f, which kills it", async () => {
    const proc = Bun.spawn(boxArgs(t.s, ["run", "--name", "busy", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", "echo ready; sleep 300"]), { stdout: "pipe" });
    const reader = proc.stdout.getReader();
    await reader.read();
    const refused = await box(t.s, ["rm", "busy"]);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toBe("box: cannot remove container busy: it is running (stop it first, or use -f)\n");
    const removed = await box(t.s, ["rm", "-f", "busy"]);
    expect([removed.code, removed.stderr]).toEqual([0, ""]);
    expect(await proc.exited).toBe(137);
  });
});

test("every command has --help with examples", async () => {
  for (const cmd of ["run", "rm", "import", "images", "rmi", "pause", "unpause", "update", "info", "stats"]) {
    const r = await box(t.s, [cmd, "--help"]);
    expect({ cmd, code: r.code }).toEqual({ cmd, code: 0 });
    expect(r.stdout).toContain(`USAGE box ${cmd}`);
    expect(r.stdout).toContain("EXAMPLES");
    expect(r.stdout).not.toContain("\x1b[");
  }
});
