// Docker's long forms: `box container X` and `box image X` are the top-level commands.
import { expect, test } from "bun:test";
import { box, copyRootfs, importBusybox, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

/** The same output and exit code. Listings show ages ("2 seconds ago"): a pair that ran across
 * a change of the age runs again. */
async function same(long: string[], short: string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const a = await box(t.s, long);
    const b = await box(t.s, short);
    if (attempt === 2 || Bun.deepEquals(a, b)) return void expect({ long, ...a }).toEqual({ long, ...b });
  }
}

test("box container ls/inspect/rm -f and box image ls/inspect are the top-level commands", async () => {
  expect((await importBusybox(t.s, "bb")).code).toBe(0);
  for (const name of ["one", "two"]) {
    const r = await box(t.s, ["create", "--name", name, "--rootfs", copyRootfs(t.s), "/bin/true"]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
  }
  await same(["container", "ls", "-a"], ["ps", "-a"]);
  await same(["container", "list", "-a", "--format", "{{.Names}}"], ["ps", "-a", "--format", "{{.Names}}"]);
  await same(["container", "inspect", "one"], ["inspect", "one"]);
  await same(["container", "inspect", "-f", "{{.Name}}", "nosuch"], ["inspect", "-f", "{{.Name}}", "nosuch"]);
  await same(["image", "ls"], ["images"]);
  await same(["image", "inspect", "bb"], ["inspect", "bb"]);
  await same(["image", "ls", "--help"], ["images", "--help"]);

  const long = await box(t.s, ["container", "rm", "-f", "one"]);
  const short = await box(t.s, ["rm", "-f", "two"]);
  expect(long).toEqual({ code: 0, stdout: "one\n", stderr: "" });
  expect(short).toEqual({ code: 0, stdout: "two\n", stderr: "" });
  await same(["container", "rm", "-f", "one"], ["rm", "-f", "one"]);
  expect((await box(t.s, ["ps", "-aq"])).stdout).toBe("");
  expect((await box(t.s, ["image", "rm", "bb"])).code).toBe(0);
});
