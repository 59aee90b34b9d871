// Runs box as a user would, against a temporary store, and checks that nothing leaks.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, expect } from "bun:test";
import { busyboxRootfs } from "./rootfs.ts";
import { subdirs } from "./dirs.ts";
import { compileFreestanding } from "../../build/freestanding.ts";

const REPO = resolve(import.meta.dir, "../..");

/** The compiled executable when BOX_BIN is set (CI), else the source tree through Bun. */
export const BOX: string[] = process.env.BOX_BIN ? [resolve(REPO, process.env.BOX_BIN)] : [process.execPath, join(REPO, "src/main.ts")];

/** One busybox rootfs shared by every test file (read-only use). */
export const ROOTFS = busyboxRootfs(join(tmpdir(), `box-test-rootfs-${process.getuid!()}`));

export interface Store {
  root: string;
  runroot: string;
  dir: string;
}

export function tempStore(): Store {
  const dir = mkdtempSync(join(tmpdir(), "box-test-"));
  return { dir, root: join(dir, "root"), runroot: join(dir, "run") };
}

/**
 * Removes the store, first through box itself: after a failed test its containers and networks
 * may still be there, and deleting the directory alone would orphan their cgroups, links and rules.
 */
export function removeStore(s: Store): void {
  if (existsSync(s.root)) {
    const ids = Bun.spawnSync(boxArgs(s, ["ps", "-aq", "--no-trunc"]), { stderr: "ignore" }).stdout.toString().split("\n").filter(Boolean);
    if (ids.length) Bun.spawnSync(boxArgs(s, ["rm", "-f", ...ids]), { stdout: "ignore", stderr: "ignore" });
    Bun.spawnSync(boxArgs(s, ["system", "prune", "-f"]), { stdout: "ignore", stderr: "ignore" });
  }
  rmSync(s.dir, { recursive: true, force: true });
}

/** The store's own copy of the busybox rootfs: a --rootfs container may create files in it. */
export function copyRootfs(s: Store): string {
  const dir = join(s.dir, "rootfs");
  if (!existsSync(dir)) cpSync(ROOTFS, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function boxArgs(s: Store, args: string[]): string[] {
  return [...BOX, "--root", s.root, "--runroot", s.runroot, ...args];
}

/** Container ids seen in each store: the leak check looks only at cgroups of these. */
const seenIds = new Map<string, Set<string>>();

/** Bridges of each store's networks: the leak check looks only at links of this store's. */
const seenBridges = new Map<string, Set<string>>();

/** Notes the ids of the containers, and the bridges of the networks, the store holds now. */
function noteContainers(s: Store): void {
  const ids = seenIds.get(s.root) ?? new Set<string>();
  seenIds.set(s.root, ids);
  const dir = join(s.root, "containers");
  if (existsSync(dir)) for (const id of readdirSync(dir)) ids.add(id);
  const bridges = seenBridges.get(s.root) ?? new Set<string>();
  seenBridges.set(s.root, bridges);
  const nets = join(s.root, "networks");
  if (existsSync(nets)) {
    for (const n of readdirSync(nets)) {
      const config = join(nets, n, "config.json");
      if (existsSync(config)) bridges.add(JSON.parse(readFileSync(config, "utf8")).bridge);
    }
  }
}

/** Links of the store: its containers' veths (eth0's, and ethN's of box network connect) and its networks' bridges. */
function storeLinks(s: Store): (link: string) => boolean {
  const ids = [...(seenIds.get(s.root) ?? [])];
  const veths = new Set(ids.map((id) => `veth${id.slice(0, 11)}`));
  const connected = ids.map((id) => `veth${id.slice(0, 8)}-`);
  const bridges = seenBridges.get(s.root) ?? new Set<string>();
  return (link) => veths.has(link) || connected.some((prefix) => link.startsWith(prefix)) || bridges.has(link);
}

/** `as`: run box as this uid (and gid), a rootless box; else as root. `env`: added to box's. */
export async function box(s: Store, args: string[], opts: { stdin?: string; as?: number; env?: Record<string, string> } = {}): Promise<Result> {
  noteContainers(s);
  const proc = Bun.spawn(boxArgs(s, args), {
    ...(opts.as === undefined ? {} : { uid: opts.as, gid: opts.as }),
    ...(opts.env === undefined ? {} : { env: { ...process.env, ...opts.env } }),
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  noteContainers(s);
  return { code, stdout, stderr };
}

/** Box's refusal of bad input: one line on stderr matching `message`, exit 125. */
export function expectRefused(r: Result, message: RegExp): void {
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.code).toBe(125);
}

/** A page over HTTP from the host, trimmed; fails after 5 s. */
export async function httpGet(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return (await res.text()).trim();
}

/** `n` free host ports in a row (checked by bind, probabilistic as any such check). */
export function freePorts(n: number): number {
  for (;;) {
    const first = 20000 + Math.floor(Math.random() * 10000);
    const held: Array<{ stop(force?: boolean): void }> = [];
    try {
      for (let i = 0; i < n; i++) held.push(Bun.listen({ hostname: "0.0.0.0", port: first + i, socket: { data() {} } }));
      return first;
    } catch {
    } finally {
      for (const h of held) h.stop(true);
    }
  }
}

/** `box ARGS` that must succeed quietly: its stdout. */
export async function boxOk(s: Store, args: string[]): Promise<string> {
  const r = await box(s, args);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

/** The test rootfs as a tarball, for `box import`: made once beside it, and kept as it is. */
function busyboxTar(): string {
  const tar = `${ROOTFS}.tar`;
  if (!existsSync(tar)) {
    const temp = `${tar}.tmp-${process.pid}`;
    const r = Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", temp, "."], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`tar: ${r.stderr.toString()}`);
    renameSync(temp, tar);
  }
  return tar;
}

/** `box import [FLAGS] TAR NAME` of the test rootfs. */
export function importBusybox(s: Store, name: string, flags: string[] = []): Promise<Result> {
  return box(s, ["import", ...flags, busyboxTar(), name]);
}

/** `box run -d --rootfs ROOTFS ...flags /bin/sh -c script`, which must start: the container's id. */
export async function runDetached(s: Store, flags: string[], script: string): Promise<string> {
  const r = await box(s, ["run", "-d", "--rootfs", copyRootfs(s), ...flags, "/bin/sh", "-c", script]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

/** The container's state.json, as box wrote it. */
export function containerState(s: Store, id: string): { status: string; pid: number; exitCode?: number; oomKilled?: boolean } {
  return JSON.parse(readFileSync(join(s.runroot, "containers", id, "state.json"), "utf8"));
}

/**
 * A host directory holding `secret`, a file only host root may read ("host-secret\n"), to give a
 * container as /vol; VOLUME_PROBES try it from inside.
 */
export function secretVolume(s: Store): string {
  const vol = join(s.dir, "vol");
  mkdirSync(vol);
  writeFileSync(join(vol, "secret"), "host-secret\n", { mode: 0o600 });
  return vol;
}

/** Shell lines that try to read and write the secretVolume at /vol: "read-denied", "write-denied" when refused. */
export const VOLUME_PROBES = ["cat /vol/secret 2>/dev/null || echo read-denied", "echo x 2>/dev/null > /vol/new || echo write-denied"];

/** A file's sha256, to show it unchanged. */
export function sha256(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

/** `box run --rm --rootfs ROOTFS ...flags -- cmd...` */
export function run(s: Store, flags: string[], cmd: string[], opts: { stdin?: string; rootfs?: string } = {}): Promise<Result> {
  return box(s, ["run", "--rm", "--rootfs", opts.rootfs ?? copyRootfs(s), ...flags, ...cmd], opts);
}

export function sh(s: Store, script: string, flags: string[] = []): Promise<Result> {
  return run(s, flags, ["/bin/sh", "-c", script]);
}

/**
 * A small static program of test/helpers/NAME.c for use inside containers (busybox lacks the
 * tool), built once into dist/: freestanding, like box's watcher, so no libc headers are needed.
 */
export function staticHelper(name: string): string {
  const out = join(REPO, "dist", `test-${name}`);
  const source = join(REPO, `test/helpers/${name}.c`);
  // Built again when its source changed since.
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(join(REPO, "dist"), { recursive: true });
    compileFreestanding(source, out);
  }
  return out;
}

/**
 * Reads `reader` until what it gave contains `text`; fails at the stream's end (a loop that
 * ignored `done` would spin on resolved reads for ever, where bun's timeout cannot fire) or
 * after `ms`. What it read so far, for more reading by the caller.
 */
export async function readUntil(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }, text: string, ms = 20000, sofar = ""): Promise<string> {
  const decoder = new TextDecoder();
  const deadline = Bun.sleep(ms).then(() => "timeout" as const);
  let out = sofar;
  while (!out.includes(text)) {
    const r = await Promise.race([reader.read(), deadline]);
    if (r === "timeout") throw new Error(`"${text}" not read within ${ms} ms; read: ${JSON.stringify(out)}`);
    if (r.done) throw new Error(`the stream ended before "${text}"; read: ${JSON.stringify(out)}`);
    out += decoder.decode(r.value, { stream: true });
  }
  return out;
}

/** Until `check` holds (polling), or fail after `ms`. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await Bun.sleep(20);
  }
}

// ---- leak checks ----

export interface Snapshot {
  mounts: string[];
  cgroups: string[];
  links: string[];
  /** Comments of the rules in box's nftables table (each names its network or container). */
  rules: string[];
}

/** The rules of box's table, by comment (`nft` only inspects: box itself never runs it). */
export function nftRules(): string[] {
  const out = Bun.spawnSync(["nft", "list", "table", "ip", "box"], { stderr: "ignore" }).stdout.toString();
  return [...out.matchAll(/comment "([^"]*)"/g)].map((m) => m[1]!);
}

function cgroupDirs(): string[] {
  const parents = [...readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h, "box")), "/sys/fs/cgroup/box"];
  return parents.flatMap((p) => subdirs(p)).sort();
}

export function snapshot(): Snapshot {
  return {
    mounts: readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ").slice(3, 5).join(" ")).sort(),
    cgroups: cgroupDirs(),
    links: readdirSync("/sys/class/net").sort(),
    rules: nftRules(),
  };
}

/** The store's bridge networks (its default one, made on first use), removed as a user would. */
export async function removeNetworks(s: Store): Promise<void> {
  const dir = join(s.root, "networks");
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).filter((n) => existsSync(join(dir, n, "config.json")))) {
    const r = await box(s, ["network", "rm", name]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  }
}

/** Processes whose environment names this store: every init of its containers carries it. */
export function storeProcesses(s: Store): number[] {
  const pids: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/environ`, "utf8").includes(s.root)) pids.push(Number(p));
    } catch {}
  }
  return pids;
}

function containerDirs(s: Store): string[] {
  const dirs: string[] = [];
  for (const d of [join(s.root, "containers"), join(s.runroot, "containers"), join(s.root, "names")]) {
    if (existsSync(d)) dirs.push(...readdirSync(d).map((e) => join(d, e)));
  }
  return dirs;
}

/** Waits (briefly) for box's processes to go, then asserts nothing of the test is left. */
export async function expectNoLeaks(s: Store, before: Snapshot): Promise<void> {
  for (let i = 0; i < 100 && storeProcesses(s).length; i++) await Bun.sleep(20);
  expect(storeProcesses(s)).toEqual([]);
  expect(containerDirs(s)).toEqual([]);
  // Fails while a container still holds an address: every lease must have been given back.
  // (box() notes the store's containers and bridges, before and after each command.)
  await removeNetworks(s);
  // What appeared during the test and is still there (others may remove theirs meanwhile). Other
  // box users of this machine may create containers meanwhile: only this store's ids count.
  const ours = seenIds.get(s.root) ?? new Set<string>();
  // Other box users of this machine may make links meanwhile: only this store's count.
  const ownLinks = storeLinks(s);
  // A veth goes with its network namespace, which the kernel tears down in the background.
  const linksLeft = () => readdirSync("/sys/class/net").some((l) => ownLinks(l) && !before.links.includes(l));
  for (let i = 0; i < 100 && linksLeft(); i++) await Bun.sleep(20);
  const after = snapshot();
  const added = (key: keyof Snapshot) => after[key].filter((x) => !before[key].includes(x));
  expect(added("mounts")).toEqual([]);
  expect(added("cgroups").filter((d) => ours.has(d.split("/").pop()!))).toEqual([]);
  expect(added("links").filter(ownLinks)).toEqual([]);
  const bridges = seenBridges.get(s.root) ?? new Set<string>();
  expect(added("rules").filter((tag) => [...ours].some((id) => tag.includes(id)) || [...bridges].some((b) => tag === `box network ${b}`))).toEqual([]);
}

export function hostNamespace(kind: string): string {
  return readlinkSync(`/proc/self/ns/${kind}`);
}

/** A fresh store per test (`make`'s), and after each test the check that nothing of it is left. */
export function storePerTest(make: () => Store = tempStore): { readonly s: Store } {
  const ctx = {} as { s: Store; before: Snapshot };
  beforeEach(() => {
    ctx.s = make();
    ctx.before = snapshot();
  });
  afterEach(async () => {
    try {
      await expectNoLeaks(ctx.s, ctx.before);
    } finally {
      removeStore(ctx.s);
    }
  });
  return ctx;
}
