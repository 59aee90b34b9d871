// Where a detached container's output goes and how it is read back: `box logs --until`, and the
// syslog and journald log drivers, driven as a shell script would.
import { describe, expect, test } from "bun:test";
import { box, eventually, runDetached, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

function logsOf(name: string, flags: string[] = []) {
  return box(t.s, ["logs", ...flags, name]);
}

describe("logs --until", () => {
  test("a time, a Unix time or a duration ago; with -f it stops following then", async () => {
    // "late" comes once the test says so (a file): the time between is the test's to choose.
    await runDetached(t.s, ["--name", "talk"], "echo early; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo late; exec sleep 60");
    await eventually(async () => (await logsOf("talk")).stdout === "early\n");
    await Bun.sleep(20);
    const between = new Date();
    await Bun.sleep(20);
    expect((await box(t.s, ["exec", "talk", "touch", "/tmp/go"])).code).toBe(0);
    await eventually(async () => (await logsOf("talk")).stdout === "early\nlate\n");

    expect((await logsOf("talk", ["--until", between.toISOString()])).stdout).toBe("early\n");
    expect((await logsOf("talk", ["--until", String(between.getTime() / 1000)])).stdout).toBe("early\n");
    expect((await logsOf("talk", ["--since", between.toISOString(), "--until", new Date(Date.now() + 60_000).toISOString()])).stdout).toBe("late\n");
    // A duration is before now: nothing was written 10 minutes ago, or 1h30m ago.
    expect((await logsOf("talk", ["--until", "10m"])).stdout).toBe("");
    expect((await logsOf("talk", ["--until", "1h30m"])).stdout).toBe("");
    const bad = await logsOf("talk", ["--until", "tomorrow"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("--until");

    // The container runs on (sleep 60): -f returns at the time given, with what came before it.
    const started = Date.now();
    const follow = await logsOf("talk", ["-f", "--until", new Date(Date.now() + 1500).toISOString()]);
    expect(follow.code).toBe(0);
    expect(follow.stdout).toBe("early\nlate\n");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await box(t.s, ["rm", "-f", "talk"])).code).toBe(0);
  });
});
