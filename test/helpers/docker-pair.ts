// A private dockerd and a box store side by side for a test file, each with the test rootfs
// imported as busybox:box: Docker is the reference the file compares box with. Registered as the
// file's beforeAll and afterAll, with the check after that nothing of either is left.
import { afterAll, beforeAll, expect } from "bun:test";
import { join } from "node:path";
import { BOX, ROOTFS, importBusybox, removeStore, snapshot, tempStore, type Snapshot, type Store } from "./box.ts";
import { startDockerd, type Dockerd } from "./dockerd.ts";

/** `importFlags`: given to both imports (`-c 'ENV ...'`). */
export function dockerAndBox(importFlags: string[] = []): { readonly d: Dockerd; readonly s: Store } {
  const ctx = {} as { d: Dockerd; s: Store; before: Snapshot };
  beforeAll(async () => {
    ctx.before = snapshot();
    ctx.s = tempStore();
    ctx.d = await startDockerd(BOX);
    const tar = join(ctx.d.dir, "busybox.tar");
    expect(Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", tar, "."]).exitCode).toBe(0);
    expect((await ctx.d.run(["import", ...importFlags, tar, "busybox:box"])).code).toBe(0);
    expect((await importBusybox(ctx.s, "busybox:box", importFlags)).code).toBe(0);
  }, 60000);
  afterAll(async () => {
    await ctx.d?.stop();
    if (ctx.s) removeStore(ctx.s);
    const after = snapshot();
    expect(after.mounts.filter((m) => !ctx.before.mounts.includes(m))).toEqual([]);
    expect(after.links.filter((l) => !ctx.before.links.includes(l))).toEqual([]);
    expect(after.cgroups.filter((c) => !ctx.before.cgroups.includes(c))).toEqual([]);
  }, 60000);
  return ctx;
}
