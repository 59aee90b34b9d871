// Health checks as an operator sees them: ps's status, inspect's State.Health, ps's health
// filter, box healthcheck run, --health-on-failure, an image's HEALTHCHECK, and the refusals.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { box, boxOk, containerState, expectRefused, copyRootfs, eventually, importBusybox, runDetached, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

/** The health timers (src/sys/health-timer.c) of container `id`: processes of the host. */
function timersOf(id: string): number[] {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      return argv[0] === "box-health-timer" && argv.includes(id) ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}
const ok = (args: string[]) => boxOk(t.s, args);
const status = async (id: string) => (await ok(["ps", "-a", "--filter", `id=${id}`, "--format", "{{.Status}}"])).trim();
const health = async (id: string) => JSON.parse(await ok(["inspect", "-f", "{{json .State.Health}}", id]));

/** Healthy while /tmp/ok exists: the payload decides, the test watches. */
const PROBE = ["--health-cmd", "test -f /tmp/ok && echo fine || { echo bad; exit 1; }", "--health-interval", "200ms", "--health-retries", "2"];

describe("health checks", () => {
  test("starting, healthy, unhealthy as the probe says: ps, inspect's State.Health with its log, the health filter", async () => {
    const id = await runDetached(t.s, ["--network", "none", ...PROBE], "sleep 100");
    expect(await status(id)).toMatch(/^Up .* \(health: starting\)$/);
    expect(await ok(["ps", "-q", "--filter", "health=starting"])).toBe(`${id.slice(0, 12)}\n`);
    await eventually(async () => (await status(id)).endsWith("(unhealthy)"), 5000);
    const sick = await health(id);
    expect(sick.Status).toBe("unhealthy");
    expect(sick.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(sick.Log.at(-1)).toMatchObject({ ExitCode: 1, Output: "bad\n" });
    expect(sick.Log.length).toBeLessThanOrEqual(5);
    await ok(["exec", id, "touch", "/tmp/ok"]);
    await eventually(async () => (await status(id)).endsWith("(healthy)"), 5000);
    expect(await health(id)).toMatchObject({ Status: "healthy", FailingStreak: 0 });
    expect(await ok(["ps", "-q", "--filter", "health=healthy"])).toBe(`${id.slice(0, 12)}\n`);
    expect(await ok(["ps", "-q", "--filter", "health=unhealthy"])).toBe("");
    const config = JSON.parse(await ok(["inspect", "-f", "{{json .Config.Healthcheck}}", id]));
    expect(config).toEqual({ Test: ["CMD-SHELL", PROBE[1]], Interval: 200e6, Timeout: 30e9, StartPeriod: 0, StartInterval: 5e9, Retries: 2 });
    await ok(["rm", "-f", id]);
  });

  test("box healthcheck run: records a probe now; exit 1 and the status unless healthy; a probe past its timeout fails", async () => {
    const id = await runDetached(t.s, ["--network", "none", "--health-cmd", "cat /tmp/state 2>/dev/null | grep -q up", "--health-interval", "1h", "--health-retries", "1", "--health-timeout", "1s"], "sleep 100");
    const first = await box(t.s, ["healthcheck", "run", id]);
    expect([first.code, first.stdout]).toEqual([1, "unhealthy\n"]);
    await ok(["exec", id, "sh", "-c", "echo up > /tmp/state"]);
    expect(await box(t.s, ["healthcheck", "run", id])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect((await health(id)).Status).toBe("healthy");
    expectRefused(await box(t.s, ["healthcheck", "run", "nosuch"]), /no such container: nosuch/);
    const plain = await runDetached(t.s, ["--network", "none"], "sleep 100");
    expectRefused(await box(t.s, ["healthcheck", "run", plain]), /has no defined healthcheck/);
    const slow = await runDetached(t.s, ["--network", "none", "--health-cmd", "sleep 10", "--health-interval", "1h", "--health-timeout", "300ms"], "sleep 100");
    const started = Date.now();
    expect((await box(t.s, ["healthcheck", "run", slow])).code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await health(slow)).Log.at(-1)).toMatchObject({ ExitCode: -1, Output: "Health check exceeded timeout (0.3s)" });
    await ok(["rm", "-f", id, plain, slow]);
  });

  test("--health-on-failure: restart starts the payload again, kill ends it, stop ends it for good", async () => {
    const restart = await runDetached(t.s, ["--network", "none", ...PROBE, "--health-on-failure", "restart"], "echo run >> /runs; sleep 100");
    // (An exec at the moment of a restart dies with the payload's run: tried again.)
    const runs = async () => (await box(t.s, ["exec", restart, "cat", "/runs"])).stdout.split("\n").filter(Boolean).length;
    await eventually(async () => (await runs()) >= 2, 8000);
    expect(await status(restart)).toMatch(/^Up /);
    const killed = await runDetached(t.s, ["--network", "none", ...PROBE, "--health-on-failure", "kill"], "sleep 100");
    await eventually(async () => (await status(killed)).startsWith("Exited (137)"), 8000);
    const stopped = await runDetached(t.s, ["--network", "none", ...PROBE, "--health-on-failure", "stop", "--restart", "always"], "trap 'exit 0' TERM; while :; do sleep 0.1; done");
    await eventually(async () => (await status(stopped)).startsWith("Exited (0)"), 8000);
    await Bun.sleep(500);
    expect(await status(stopped)).toMatch(/^Exited \(0\)/);
    await ok(["rm", "-f", restart, killed, stopped]);
  }, 30000);

  test("a detached container's probes come from the host's health timer: its init stays the native watcher; stop ends the timer, start brings it back", async () => {
    const id = await runDetached(t.s, ["--network", "none", ...PROBE], "touch /tmp/ok; sleep 100");
    const init = containerState(t.s, id).pid;
    // (The init hands over once it has reported the start.)
    await eventually(() => readlinkSync(`/proc/${init}/exe`).startsWith("/memfd:box-watch"), 3000);
    await eventually(async () => (await status(id)).endsWith("(healthy)"), 5000);
    expect(timersOf(id)).toHaveLength(1);
    // Its own session, box's store in its environment, and nothing of the caller's open.
    const timer = timersOf(id)[0]!;
    expect(readFileSync(`/proc/${timer}/environ`, "utf8").split("\0")).toContain(`BOX_ROOT=${t.s.root}`);
    const fds = Object.fromEntries(readdirSync(`/proc/${timer}/fd`).map((fd) => [fd, readlinkSync(`/proc/${timer}/fd/${fd}`)]));
    expect(Object.keys(fds).sort()).toEqual(["0", "1", "2", "3", "4"]);
    expect([fds["0"], fds["1"], fds["2"], fds["3"]]).toEqual(["/dev/null", "/dev/null", "/dev/null", "anon_inode:[pidfd]"]);
    await ok(["stop", "-t", "0", id]);
    await eventually(() => timersOf(id).length === 0, 3000);
    await ok(["start", id]);
    expect(await status(id)).toMatch(/\(health: starting\)$/);
    await eventually(async () => (await status(id)).endsWith("(healthy)"), 5000);
    expect(timersOf(id)).toHaveLength(1);
    await ok(["rm", "-f", id]);
  });

  test("--rm with --health-on-failure restart: its Bun init runs the payload again in place (a stop and start would remove it)", async () => {
    const id = await runDetached(t.s, ["--network", "none", "--rm", ...PROBE, "--health-on-failure", "restart"], "echo run >> /runs; sleep 100");
    const init = containerState(t.s, id).pid;
    await eventually(async () => (await box(t.s, ["exec", id, "cat", "/runs"])).stdout.split("\n").filter(Boolean).length >= 2, 8000);
    expect(containerState(t.s, id).pid).toBe(init);
    expect(readlinkSync(`/proc/${init}/exe`)).not.toStartWith("/memfd:box-watch");
    expect(timersOf(id)).toEqual([]);
    await ok(["rm", "-f", id]);
  }, 20000);

  test("an image's HEALTHCHECK, and --no-healthcheck over it", async () => {
    expect((await importBusybox(t.s, "checked", ["-c", "HEALTHCHECK --interval=200ms --retries=1 CMD test -f /tmp/ok"])).code).toBe(0);
    const id = (await ok(["run", "-d", "--network", "none", "checked", "sleep", "100"])).trim();
    await eventually(async () => (await status(id)).endsWith("(unhealthy)"), 5000);
    const none = (await ok(["run", "-d", "--network", "none", "--no-healthcheck", "checked", "sleep", "100"])).trim();
    expect(await status(none)).toMatch(/^Up [^(]*$/);
    expect(JSON.parse(await ok(["inspect", none]))[0].State.Health).toBeUndefined();
    await ok(["rm", "-f", id, none]);
  });

  test("refusals: Docker's rules for the flags", async () => {
    const run = (flags: string[]) => box(t.s, ["run", "--rm", "--network", "none", ...flags, "--rootfs", copyRootfs(t.s), "true"]);
    expectRefused(await run(["--no-healthcheck", "--health-cmd", "true"]), /--no-healthcheck conflicts with --health-\* options/);
    expectRefused(await run(["--health-cmd", "true", "--health-interval", "soon"]), /invalid argument "soon" for "--health-interval" flag/);
    expectRefused(await run(["--health-cmd", "true", "--health-timeout", "1us"]), /--health-timeout cannot be less than 1ms/);
    expectRefused(await run(["--health-cmd", "true", "--health-retries", "-1"]), /--health-retries cannot be negative/);
    expectRefused(await run(["--health-cmd", "true", "--health-on-failure", "reboot"]), /invalid --health-on-failure "reboot"/);
    expectRefused(await run(["--health-interval", "1s"]), /need a health check/);
  });
});
