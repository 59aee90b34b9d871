// box diff as docker diff: A, C and D from the container's own layer over its image's layers.
import { expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { box, importBusybox, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

async function ok(args: string[]): Promise<string> {
  const r = await box(t.s, args);
  expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
  return r.stdout;
}

test("added, changed and deleted paths over an image of three layers, with whiteouts and opaque directories below", async () => {
  await importBusybox(t.s, "bb");
  // Layer 2: a tree to change. Layer 3: a deletion (whiteout) and a replaced directory (opaque).
  await ok(["run", "--name", "l2", "bb", "sh", "-c",
    "mkdir -p /base/keep /base/gone/deep /base/tree/sub && echo a > /base/file && echo b > /base/gone/deep/f && echo c > /base/doomed && echo d > /base/tree/sub/f && ln -s /etc /base/link"]);
  await ok(["commit", "l2", "base:2"]);
  await ok(["run", "--name", "l3", "base:2", "sh", "-c", "rm /base/doomed && rm -rf /base/gone && mkdir /base/gone && echo n > /base/gone/new"]);
  await ok(["commit", "l3", "base:3"]);

  await ok(["create", "--name", "fresh", "base:3", "true"]);
  expect(await ok(["diff", "fresh"])).toBe("");

  await ok(["run", "--name", "changed", "base:3", "sh", "-c", [
    "echo again > /base/doomed", // deleted in the layer below: added
    "echo more >> /base/file",
    "rm -rf /base/tree", // one D, not one per file it held
    "rm /base/link",
    "mkdir /base/keep/new && touch /base/keep/new/x",
    "rm -rf /base/gone && mkdir /base/gone && touch /base/gone/other", // opaque over opaque
    "chmod 700 /root",
    "touch /tmp/t && rm /tmp/t", // /tmp copied up, its mtime changed: no change Docker reports
    "ln -s / /escape", // a link is never followed
  ].join(" && ")]);
  const expected = [
    "C /base",
    "A /base/doomed",
    "C /base/file",
    "C /base/gone",
    "D /base/gone/new",
    "A /base/gone/other",
    "C /base/keep",
    "A /base/keep/new",
    "A /base/keep/new/x",
    "D /base/link",
    "D /base/tree",
    "A /escape",
    "C /root",
  ];
  expect(await ok(["diff", "changed"])).toBe(expected.map((l) => `${l}\n`).join(""));
  expect(await ok(["container", "diff", "changed"])).toBe(expected.map((l) => `${l}\n`).join(""));
  await ok(["rm", "l2", "l3", "fresh", "changed"]);
});

test("a running container's changes; box's mount points are not changes", async () => {
  await importBusybox(t.s, "bb");
  const id = (await ok(["run", "-d", "--name", "web", "-w", "/srv/app", "bb", "sh", "-c", "echo x > /etc/motd; rm /etc/group; echo ready > /ready; sleep 60"])).trim();
  for (let i = 0; i < 200 && !(await ok(["diff", id])).includes("/ready"); i++) await Bun.sleep(25);
  expect(await ok(["diff", "web"])).toBe("C /etc\nD /etc/group\nA /etc/motd\nA /ready\nA /srv\nA /srv/app\n");
  await ok(["rm", "-f", "web"]);
});

test("bad input: one line, 125", async () => {
  const rootfs = join(t.s.dir, "rootfs");
  mkdirSync(rootfs);
  await ok(["create", "--name", "dir", "--rootfs", rootfs, "/bin/true"]);
  const cases: [string[], string][] = [
    [["diff", "dir"], `box: container dir runs from a directory (--rootfs ${rootfs}), not an image: it has no layer of its own to compare\n`],
    [["diff", "nosuch"], "box: no such container: nosuch\n"],
    [["diff"], `box: "box diff" requires exactly 1 argument: CONTAINER\n`],
    [["diff", "dir", "dir"], `box: "box diff" requires exactly 1 argument: CONTAINER\n`],
  ];
  for (const [args, stderr] of cases) expect({ args, ...(await box(t.s, args)) }).toEqual({ args, code: 125, stdout: "", stderr });
  await ok(["rm", "dir"]);
});
