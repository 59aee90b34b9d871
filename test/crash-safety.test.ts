// Nothing left behind, whatever is killed when: box processes SIGKILLed at random moments of
// run, run -d, start, rm, import, and inits killed under their containers, then the user's own
// cleanup (rm -f of everything ps -a lists, system prune -f) and the leak check; and a store
// deleted by hand, whose bridges and rules the next prune of another store takes back.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { box, boxArgs, containerState, copyRootfs, nftRules, removeStore, storePerTest, tempStore, type Store } from "./helpers/box.ts";

const t = storePerTest();

/** A small seeded generator: a failing run can be replayed with BOX_CHAOS_SEED. */
function random(seed: number): (below: number) => number {
  let x = seed >>> 0 || 1;
  return (below) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % below;
  };
}

/** `box ARGS`, SIGKILLed after `ms` (or left to finish, if it is quicker). */
async function killedAfter(s: Store, args: string[], ms: number): Promise<void> {
  const proc = Bun.spawn(boxArgs(s, args), { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  await Bun.sleep(ms);
  proc.kill("SIGKILL");
  await proc.exited;
}

/** The records of /run/box-cgroups that name the store as their cgroups' owner. */
function cgroupOwnerRecords(s: Store): string[] {
  const dir = "/run/box-cgroups";
  return entries(dir).filter((f) => {
    try {
      return JSON.parse(readFileSync(join(dir, f), "utf8")).root === s.root;
    } catch {
      return false;
    }
  });
}

function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Every claim file of the store's networks (leases, ports): none may be left. */
function claims(s: Store): string[] {
  const nets = join(s.root, "networks");
  return entries(nets).flatMap((n) => (n === "ports" ? entries(join(nets, n)) : entries(join(nets, n, "leases"))).map((f) => `${n}/${f}`));
}

test("SIGKILL at random moments of run, run -d, start, rm, import and of inits; then rm -f and system prune -f leave nothing", async () => {
  const seed = Number(process.env.BOX_CHAOS_SEED ?? Date.now() % 1_000_000);
  console.log(`chaos seed ${seed} (BOX_CHAOS_SEED=${seed} replays it)`);
  const rnd = random(seed);
  const rootfs = copyRootfs(t.s);
  const image = join(t.s.dir, "image.tar");
  Bun.spawnSync(["tar", "-C", rootfs, "-cf", image, "."]);
  // First, so that their temporaries are past prune's grace of 2 s by the end.
  for (let i = 0; i < 4; i++) await killedAfter(t.s, ["import", image, `img${i}`], rnd(300));
  for (let i = 0; i < 30; i++) await killedAfter(t.s, ["run", "--rm", "-p", `${20000 + i}:80`, "--rootfs", rootfs, "/bin/sleep", "5"], rnd(150));
  for (let i = 0; i < 15; i++) await killedAfter(t.s, ["run", "-d", "--name", `d${i}`, "-p", `${21000 + i}:80`, "--rootfs", rootfs, "/bin/sleep", "30"], rnd(150));
  for (let i = 0; i < 8; i++) {
    expect((await box(t.s, ["create", "--name", `s${i}`, "-p", `${22000 + i}:80`, "--rootfs", rootfs, "/bin/sleep", "30"])).code).toBe(0);
    await killedAfter(t.s, ["start", `s${i}`], rnd(150));
  }
  for (let i = 0; i < 8; i++) {
    const r = await box(t.s, ["run", "-d", "--name", `k${i}`, "-p", `${23000 + i}:80`, "--rootfs", rootfs, "/bin/sleep", "30"]);
    expect(r.code).toBe(0);
    // The init (and with it the pid namespace) killed under a running container.
    if (i % 2) process.kill(containerState(t.s, r.stdout.trim()).pid, "SIGKILL");
    else await killedAfter(t.s, ["rm", "-f", `k${i}`], rnd(100));
  }

  // The user's own cleanup.
  const ids = (await box(t.s, ["ps", "-aq", "--no-trunc"])).stdout.split("\n").filter(Boolean);
  if (ids.length) expect((await box(t.s, ["rm", "-f", ...ids])).code).toBe(0);
  const prune = await box(t.s, ["system", "prune", "-f"]);
  expect(prune.code).toBe(0);
  expect(entries(join(t.s.root, "containers"))).toEqual([]);
  expect(entries(join(t.s.runroot, "containers"))).toEqual([]);
  expect(entries(join(t.s.root, "names"))).toEqual([]);
  expect(claims(t.s)).toEqual([]);
  // Killed imports' temporaries: prune removed them (nothing holds their locks).
  expect([...entries(join(t.s.root, "layers")), ...entries(join(t.s.root, "blobs"))].filter((n) => n.startsWith(".tmp-"))).toEqual([]);
  expect(entries(join(t.s.root, "tmp"))).toEqual([]);
  // With no container left, prune removed the default network, its bridge and rules.
  expect(entries(join(t.s.root, "networks")).filter((n) => existsSync(join(t.s.root, "networks", n, "config.json")))).toEqual([]);
  // Nor a record of cgroups this store made (/run/box-cgroups: which store each container's are).
  expect(cgroupOwnerRecords(t.s)).toEqual([]);
  // (storePerTest's check follows: no process, mount, cgroup, link or rule of the store.)
}, 180_000);

test("a store deleted by hand: the next prune of another store removes its bridges, their rules and its containers' cgroups, and nothing of a living store", async () => {
  const rootfs = copyRootfs(t.s);
  const dead = tempStore();
  try {
    expect((await box(dead, ["network", "create", "n1"])).code).toBe(0);
    // Exited containers keep their address, ports and rules until rm.
    for (const net of ["n1", "bridge"]) expect((await box(dead, ["run", "--network", net, "-p", `${net === "n1" ? 24001 : 24002}:80`, "--rootfs", rootfs, "/bin/true"])).code).toBe(0);
    const bridges = entries(join(dead.root, "networks")).filter((n) => n !== "ports" && existsSync(join(dead.root, "networks", n, "config.json"))).map((n) => JSON.parse(readFileSync(join(dead.root, "networks", n, "config.json"), "utf8")).bridge as string);
    expect(bridges.length).toBe(2);
    const deadIds = entries(join(dead.root, "containers"));
    const cgroupsOf = (ids: string[]) => readdirSync("/sys/fs/cgroup").flatMap((h) => ids.flatMap((id) => [join("/sys/fs/cgroup", h, "box", id), join("/sys/fs/cgroup", "box", id)])).filter((d) => existsSync(d));
    // Exited containers keep their cgroups until rm.
    expect(cgroupsOf(deadIds).length).toBeGreaterThan(0);

    // A living store with a network and a running container publishing a port.
    const live = await box(t.s, ["run", "-d", "--name", "web", "-p", "24003:80", "--rootfs", rootfs, "/bin/sleep", "60"]);
    expect(live.code).toBe(0);
    const liveBridge = JSON.parse(readFileSync(join(t.s.root, "networks", "bridge", "config.json"), "utf8")).bridge as string;
    const liveRules = nftRules().filter((r) => r === `box network ${liveBridge}` || r.includes(live.stdout.trim()));
    expect(liveRules.length).toBeGreaterThan(0);

    rmSync(dead.dir, { recursive: true, force: true });
    expect(bridges.every((b) => existsSync(`/sys/class/net/${b}`))).toBe(true);
    // The living store's prune: it stops nothing that runs.
    expect((await box(t.s, ["system", "prune", "-f"])).code).toBe(0);
    for (const b of bridges) {
      expect(existsSync(`/sys/class/net/${b}`)).toBe(false);
      expect(nftRules().filter((r) => r === `box network ${b}` || r.split(" ")[4] === b)).toEqual([]);
    }
    expect(cgroupsOf(deadIds)).toEqual([]);
    expect(existsSync(`/sys/class/net/${liveBridge}`)).toBe(true);
    expect(nftRules().filter((r) => liveRules.includes(r)).sort()).toEqual(liveRules.sort());
    // The living store's running container keeps its cgroups.
    expect(cgroupsOf([live.stdout.trim()]).length).toBeGreaterThan(0);
    expect((await box(t.s, ["rm", "-f", "web"])).code).toBe(0);
  } finally {
    if (existsSync(dead.dir)) removeStore(dead);
  }
});
