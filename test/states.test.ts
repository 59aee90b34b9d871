// The container's lifecycle as its one owner (src/container/lifecycle.ts) keeps it: moves the
// table does not allow are refused, an end is recorded once whoever sees it, and every ending
// (the CLI's, the Bun init's, the native watcher's) takes away what the one teardown plan says.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { box, boxOk, containerState, eventually, expectRefused, runDetached, storePerTest } from "./helpers/box.ts";

const t = storePerTest();
const ok = (args: string[]) => boxOk(t.s, args);
const status = async (id: string) => (await ok(["ps", "-a", "--filter", `id=${id}`, "--format", "{{.Status}}"])).trim();

/** The records of which store made which cgroups (src/cgroup/owners.ts) that name container `id`. */
function ownerRecords(id: string): string[] {
  const dir = "/run/box-cgroups";
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => {
    try {
      return JSON.parse(readFileSync(join(dir, f), "utf8")).id === id;
    } catch {
      return false;
    }
  });
}

/** The container's die events in the store's journal. */
async function dies(id: string): Promise<string[]> {
  // --until now, to the millisecond (a duration is whole seconds: "0s" would leave out this one).
  return (await ok(["events", "--since", "0", "--until", (Date.now() / 1000).toFixed(3), "--filter", `container=${id}`, "--filter", "event=die", "--format", "{{.Actor.Attributes.exitCode}}"])).split("\n").filter(Boolean);
}

describe("the lifecycle's moves", () => {
  test("a restarting container cannot be paused (restarting → paused is no move), and restarts on", async () => {
    // Docker's delays double from 100 ms: after the 4th run it waits 1.6 s, restarting.
    const id = await runDetached(t.s, ["--network", "none", "--restart", "always"], "exit 3");
    const restarts = () => (containerState(t.s, id) as { restartCount?: number }).restartCount ?? 0;
    await eventually(async () => restarts() >= 4 && containerState(t.s, id).status === "restarting", 8000);
    expectRefused(await box(t.s, ["pause", id]), /is restarting: it cannot be paused/);
    expect(containerState(t.s, id).status).toBe("restarting");
    await eventually(() => restarts() >= 5, 8000);
    expect(containerState(t.s, id).status).not.toBe("paused");
    await ok(["rm", "-f", id]);
  }, 20000);

  test("an exited container cannot be paused or unpaused; a paused one is killed to exited", async () => {
    const id = await runDetached(t.s, ["--network", "none"], "sleep 100");
    await ok(["pause", id]);
    expect(await status(id)).toMatch(/\(Paused\)$/);
    await ok(["kill", id]);
    expect(await status(id)).toMatch(/^Exited \(137\)/);
    expectRefused(await box(t.s, ["pause", id]), /is not running/);
    expectRefused(await box(t.s, ["unpause", id]), /is not running/);
    await ok(["rm", id]);
  });
});

describe("an end is recorded once", () => {
  test("the init killed: two box wait at once both say 137, and the journal has one die", async () => {
    const id = await runDetached(t.s, ["--network", "none"], "sleep 100");
    process.kill(containerState(t.s, id).pid, "SIGKILL");
    const waits = await Promise.all([box(t.s, ["wait", id]), box(t.s, ["wait", id]), box(t.s, ["stop", id])]);
    expect(waits.slice(0, 2).map((w) => w.stdout.trim())).toEqual(["137", "137"]);
    expect(await dies(id)).toEqual(["137"]);
    expect(JSON.parse(readFileSync(join(t.s.root, "containers", id, "last-state.json"), "utf8"))).toMatchObject({ status: "exited", exitCode: 137 });
    await ok(["rm", id]);
  });

  test("the native watcher records the payload's end: its code, in the run dir and the store, one die", async () => {
    const id = await runDetached(t.s, ["--network", "none"], "sleep 0.2; exit 7");
    await eventually(() => containerState(t.s, id).status === "exited", 5000);
    expect(containerState(t.s, id)).toMatchObject({ status: "exited", exitCode: 7, oomKilled: false });
    expect(JSON.parse(readFileSync(join(t.s.root, "containers", id, "last-state.json"), "utf8"))).toMatchObject({ status: "exited", exitCode: 7 });
    // A later settle (box wait, box stop) changes nothing.
    expect((await ok(["wait", id])).trim()).toBe("7");
    await ok(["stop", id]);
    expect(await dies(id)).toEqual(["7"]);
    await ok(["rm", id]);
  });
});

describe("one teardown plan", () => {
  test("box wait of an --rm container that removes itself: one die and one destroy in the journal", async () => {
    const id = await runDetached(t.s, ["--network", "none", "--rm"], "sleep 0.5; exit 3");
    const wait = await box(t.s, ["wait", id]);
    // Docker's wait would say 3; here the record is gone with the container (README says so).
    expect([0, 125]).toContain(wait.code);
    await eventually(() => !existsSync(join(t.s.root, "containers", id)), 5000);
    expect(await dies(id)).toEqual(["3"]);
    const destroys = (await ok(["events", "--since", "0", "--until", (Date.now() / 1000).toFixed(3), "--filter", `container=${id}`, "--filter", "event=destroy", "--format", "{{.Action}}"])).split("\n").filter(Boolean);
    expect(destroys).toEqual(["destroy"]);
  });

  test("--rm leaves no record of its cgroups, whoever ends it: the native watcher, the Bun init, box rm -f", async () => {
    const watched = await runDetached(t.s, ["--network", "none", "--rm"], "sleep 0.3");
    const kept = await runDetached(t.s, ["--network", "none", "--rm", "-t"], "sleep 0.3");
    const removed = await runDetached(t.s, ["--network", "none"], "sleep 100");
    for (const id of [watched, kept, removed]) expect(ownerRecords(id)).toHaveLength(1);
    await ok(["rm", "-f", removed]);
    await eventually(() => [watched, kept].every((id) => !existsSync(join(t.s.root, "containers", id))), 5000);
    for (const id of [watched, kept, removed]) expect(ownerRecords(id)).toEqual([]);
    for (const id of [watched, kept]) expect(await dies(id)).toEqual(["0"]);
  });
});
