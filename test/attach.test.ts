// box attach to detached containers, driven as a shell (or a person at a terminal) would: output
// from now on, stdin with -i, signals, detach keys with -t, and the container's exit code.
import { describe, expect, test } from "bun:test";
import { box, boxArgs, containerState, copyRootfs, readUntil, runDetached, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

/** `box attach FLAGS NAME` running, with its streams piped. */
function attach(name: string, flags: string[] = []) {
  const proc = Bun.spawn(boxArgs(t.s, ["attach", ...flags, name]), { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const out = proc.stdout.getReader();
  return { proc, out, stderr: () => new Response(proc.stderr).text() };
}

async function rest(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }, sofar: string): Promise<string> {
  let text = sofar;
  const decoder = new TextDecoder();
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  return text;
}

function id(name: string): string {
  return Bun.spawnSync(boxArgs(t.s, ["inspect", "-f", "{{.Id}}", name])).stdout.toString().trim();
}

const quote = (args: string[]) => args.map((a) => `'${a}'`).join(" ");

describe("box attach", () => {
  test("streams stdout and stderr from now on (not the past log) and exits with the container's code", async () => {
    await runDetached(t.s, ["--name", "ticker"], "echo before; while [ ! -e /tmp/stop ]; do echo tick; sleep 0.1; done; echo bye >&2; exit 3");
    const a = attach("ticker");
    const seen = await readUntil(a.out, "tick\n");
    expect((await box(t.s, ["exec", "ticker", "touch", "/tmp/stop"])).code).toBe(0);
    expect(await a.proc.exited).toBe(3);
    const stdout = await rest(a.out, seen);
    expect(stdout).toMatch(/^(tick\n)+$/);
    expect(await a.stderr()).toBe("bye\n");
    // Docker's family name works too; a stopped container cannot be attached to.
    const stopped = await box(t.s, ["container", "attach", "ticker"]);
    expect(stopped.code).toBe(125);
    expect(stopped.stderr).toBe("box: You cannot attach to a stopped container, start it first\n");
    expect((await box(t.s, ["rm", "ticker"])).code).toBe(0);
  });

  test("-i: attach's stdin reaches the container; its end leaves the container's stdin open; --no-stdin sends nothing", async () => {
    await runDetached(t.s, ["-i", "--name", "reader"], 'while read line; do echo "got $line"; [ "$line" = quit ] && exit 7; done');
    const first = attach("reader");
    first.proc.stdin.write("hello\n");
    await first.proc.stdin.end();
    let seen = await readUntil(first.out, "got hello\n");
    // Its input ended, its container reads on: a second attacher's line reaches the same shell.
    await Bun.sleep(300);
    expect(containerState(t.s, id("reader")).status).toBe("running");
    const quiet = attach("reader", ["--no-stdin"]);
    quiet.proc.stdin.write("quit\n");
    await quiet.proc.stdin.end();
    await Bun.sleep(300);
    expect(containerState(t.s, id("reader")).status).toBe("running");
    const second = attach("reader");
    second.proc.stdin.write("quit\n");
    await second.proc.stdin.end();
    // Every attacher sees what came after it attached, and ends with the container's code.
    expect(await second.proc.exited).toBe(7);
    expect(await first.proc.exited).toBe(7);
    expect(await quiet.proc.exited).toBe(7);
    seen = await rest(first.out, seen);
    expect(seen).toBe("got hello\ngot quit\n");
    expect(await rest(second.out, "")).toBe("got quit\n");
    expect(await rest(quiet.out, "")).toBe("got quit\n");
    expect((await box(t.s, ["rm", "reader"])).code).toBe(0);
  });

  test("signals go to the container unless --sig-proxy=false", async () => {
    await runDetached(t.s, ["--name", "trapper"], "trap 'echo got-term; exit 9' TERM; while :; do echo tick; sleep 0.1; done");
    // Not proxied: the signal ends box attach, and the container runs on.
    const loose = attach("trapper", ["--sig-proxy=false"]);
    await readUntil(loose.out, "tick\n");
    loose.proc.kill("SIGTERM");
    await loose.proc.exited;
    expect(loose.proc.signalCode).toBe("SIGTERM");
    expect((await box(t.s, ["ps", "-q", "--filter", "name=trapper"])).stdout).not.toBe("");
    // Proxied: the container's trap runs, and box attach ends with its code.
    const a = attach("trapper");
    const seen = await readUntil(a.out, "tick\n");
    a.proc.kill("SIGTERM");
    expect(await a.proc.exited).toBe(9);
    expect(await rest(a.out, seen)).toMatch(/^(tick\n)+got-term\n$/);
    expect((await box(t.s, ["rm", "trapper"])).code).toBe(0);
  });

  test("-t: keys reach the terminal as typed, the detach keys leave it running, exit ends attach with its code", async () => {
    // A terminal for box run -dit and for box attach: script(1), as a person's.
    const run = Bun.spawnSync(["script", "-qec", quote(boxArgs(t.s, ["run", "-dit", "--name", "term", "--rootfs", copyRootfs(t.s), "/bin/sh"])), "/dev/null"]);
    expect(run.exitCode).toBe(0);
    const session = (flags: string[]) => {
      const proc = Bun.spawn(["script", "-qfec", quote(boxArgs(t.s, ["attach", ...flags, "term"])), "/dev/null"], { stdin: "pipe", stdout: "pipe" });
      return { proc, out: proc.stdout.getReader() };
    };
    const first = session([]);
    await Bun.sleep(500);
    // No newline yet: the echo of what is typed shows at once.
    first.proc.stdin.write("echo $((6*7))");
    await readUntil(first.out, "echo $((6*7))");
    first.proc.stdin.write("\r");
    await readUntil(first.out, "42");
    first.proc.stdin.write("\x10\x11");
    await readUntil(first.out, "read escape sequence");
    expect(await first.proc.exited).toBe(1);
    expect((await box(t.s, ["ps", "-q", "--filter", "name=term"])).stdout).not.toBe("");

    // Other detach keys, as given.
    const custom = session(["--detach-keys", "ctrl-x,x"]);
    await Bun.sleep(500);
    custom.proc.stdin.write("\x18x");
    await readUntil(custom.out, "read escape sequence");
    expect(await custom.proc.exited).toBe(1);

    // A -t container's input needs a terminal, as Docker's.
    const piped = await box(t.s, ["attach", "term"], { stdin: "" });
    expect(piped.code).toBe(125);
    expect(piped.stderr).toBe("box: the input device is not a TTY\n");

    const last = session([]);
    await Bun.sleep(500);
    last.proc.stdin.write("exit 5\r");
    expect(await last.proc.exited).toBe(5);
    expect(containerState(t.s, id("term")).exitCode).toBe(5);
    expect((await box(t.s, ["rm", "term"])).code).toBe(0);
  });

  test("refused: bad detach keys, a paused container, a log driver box cannot follow", async () => {
    await runDetached(t.s, ["--name", "silent", "--log-driver", "none"], "exec sleep 30");
    const none = await box(t.s, ["attach", "silent"]);
    expect(none.code).toBe(125);
    expect(none.stderr).toBe("box: configured logging driver does not support reading: box attach follows the log, and silent has --log-driver none\n");
    const keys = await box(t.s, ["attach", "--detach-keys", "ctrl-", "silent"]);
    expect(keys.code).toBe(125);
    expect(keys.stderr).toContain("--detach-keys");
    await runDetached(t.s, ["--name", "frozen"], "exec sleep 30");
    expect((await box(t.s, ["pause", "frozen"])).code).toBe(0);
    const paused = await box(t.s, ["attach", "frozen"]);
    expect(paused.stderr).toBe("box: You cannot attach to a paused container, unpause it first\n");
    expect((await box(t.s, ["rm", "-f", "silent", "frozen"])).code).toBe(0);
  });
});
