// ADD of a git repository, as BuildKit's: over git's smart HTTP and git://, from real git servers
// (git http-backend, git daemon) on this machine. The checkout a container sees is the one git
// makes; the step is cached by the commit the ref names; a hostile server (bad names in its
// trees, a pack that is not what was asked for, a checkout too large) fails the build with one
// line and leaves nothing behind.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, boxOk, importBusybox, storePerTest } from "./helpers/box.ts";
import { git, gitServers } from "./helpers/git-server.ts";

const t = storePerTest();
const ok = (args: string[]) => boxOk(t.s, args);

/** A bare repository `name`.git under `root`, made from a work tree with these commits (path → content; null: a link to ../README). */
function repository(root: string, name: string, commits: Record<string, string | null>[]): { work: string; commits: string[] } {
  const work = join(root, `${name}-work`);
  mkdirSync(work, { recursive: true });
  git(work, ["init", "-q", "-b", "main"]);
  const ids: string[] = [];
  for (const files of commits) {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(work, path, ".."), { recursive: true });
      if (content === null) symlinkSync("../README", join(work, path));
      else writeFileSync(join(work, path), content);
      if (path.endsWith(".sh")) chmodSync(join(work, path), 0o755);
    }
    git(work, ["add", "-A"]);
    git(work, ["commit", "-qm", `commit ${ids.length + 1}`]);
    ids.push(git(work, ["rev-parse", "HEAD"]));
  }
  git(root, ["clone", "-q", "--bare", work, `${name}.git`]);
  // One pack, deltas in it: what a served repository is after git gc.
  git(join(root, `${name}.git`), ["repack", "-adfq"]);
  return { work, commits: ids };
}

function context(dockerfile: string): string {
  const dir = join(t.s.dir, `ctx-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  return dir;
}

const build = (dockerfile: string, flags: string[] = [], env?: Record<string, string>) => box(t.s, ["build", "--network", "none", ...flags, context(dockerfile)], { env });
const runIn = async (image: string, script: string) => (await ok(["run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", script])).trim();

/** Every file below `dir` (not .git) with its md5, mode and owner: one line each, sorted. */
const LISTING = "find . -name .git -prune -o ! -type d -print | sort | while read f; do if [ -L \"$f\" ]; then echo \"$f -> $(readlink \"$f\")\"; else echo \"$f $(stat -c '%a %u:%g' \"$f\") $(md5sum < \"$f\" | cut -c1-32)\"; fi; done";

function temporaries(): string[] {
  try {
    return readdirSync(join(t.s.root, "tmp"));
  } catch {
    return [];
  }
}

const similar = Array.from({ length: 3000 }, (_, n) => `line ${n} of a file that git stores as a delta of its twin\n`).join("");

describe("ADD of a git repository", () => {
  test("over http and git://: a branch, a tag with a directory, a commit; the checkout is git's; cached by commit", async () => {
    expect((await importBusybox(t.s, "busybox")).code).toBe(0);
    const root = join(t.s.dir, "git");
    const repo = repository(root, "repo", [
      { README: "hello\n", "run.sh": "#!/bin/sh\necho run\n", "sub/deep/f": "deep\n", "sub/link": null, "a.txt": similar, "b.txt": `${similar}tail\n` },
      { "sub/deep/f": "deeper\n" },
    ]);
    git(repo.work, ["tag", "-a", "v1", "-m", "v1"]);
    git(join(root, "repo.git"), ["fetch", "-q", repo.work, "refs/tags/v1:refs/tags/v1"]);
    const servers = await gitServers(root);
    try {
      const dockerfile = [
        "FROM busybox",
        `ADD ${servers.git}/repo.git#v1:sub /sub`,
        `ADD --chown=1000:1000 ${servers.http}/repo.git#${repo.commits[0]} /first`,
        `ADD --checksum=${repo.commits[1]} ${servers.git}/repo.git#v1 /tagged`,
        `ADD ${servers.http}/repo.git /src/`,
      ].join("\n");
      const r = await build(dockerfile, ["-t", "fromgit"]);
      expect(r.stderr).not.toContain("ERROR");
      expect(r.code).toBe(0);
      // What git itself checks out, file by file (contents, modes, links); no .git.
      const clone = join(root, "clone");
      git(root, ["clone", "-q", join(root, "repo.git"), clone]);
      const expected = Bun.spawnSync(["sh", "-c", LISTING.replaceAll("%u:%g", "0:0").replace("$(stat -c '%a 0:0'", "$(stat -c '%a'")], { cwd: clone }).stdout.toString().trim();
      const seen = await runIn("fromgit", `cd /src && ${LISTING.replace("%a %u:%g", "%a")}; [ -e /src/.git ] || echo no .git`);
      expect(seen).toBe(`${expected}\nno .git`);
      expect(await runIn("fromgit", "stat -c '%a %u:%g' /src/run.sh /src/README /src/sub/deep; readlink /src/sub/link")).toBe("755 0:0\n644 0:0\n755 0:0\n../README");
      // The tag's directory only; the first commit's files, owned as --chown says.
      expect(await runIn("fromgit", "ls -A /sub; cat /sub/deep/f /first/sub/deep/f /tagged/sub/deep/f; stat -c '%u:%g' /first /first/README")).toBe("deep\nlink\ndeeper\ndeep\ndeeper\n1000:1000\n1000:1000");
      // An unchanged rebuild asks the servers which commit each ref is at, fetches nothing, and is the same image.
      const id = (await ok(["image", "inspect", "-f", "{{.Id}}", "fromgit"])).trim();
      servers.requests.length = 0;
      const again = await build(dockerfile, ["-t", "fromgit"]);
      expect(again.code).toBe(0);
      expect(again.stderr.match(/CACHED/g)?.length).toBe(4);
      expect(servers.requests.filter((q) => q.endsWith("fetch"))).toEqual([]);
      expect((await ok(["image", "inspect", "-f", "{{.Id}}", "fromgit"])).trim()).toBe(id);
      // A new commit on the branch: its step runs again, the ones before it (a tag, a commit) stay cached.
      writeFileSync(join(repo.work, "README"), "changed\n");
      git(repo.work, ["commit", "-qam", "three"]);
      git(join(root, "repo.git"), ["fetch", "-q", repo.work, "main:main"]);
      const changed = await build(dockerfile, ["-t", "fromgit"]);
      expect(changed.code).toBe(0);
      expect(changed.stderr.match(/CACHED/g)?.length).toBe(3);
      expect(await runIn("fromgit", "cat /src/README /first/README")).toBe("changed\nhello");
    } finally {
      await servers.stop();
    }
    expect(temporaries()).toEqual([]);
    await ok(["rmi", "fromgit"]);
  }, 90000);

  test("refusals and hostile servers: one line, exit 1, nothing left", async () => {
    expect((await importBusybox(t.s, "busybox")).code).toBe(0);
    const root = join(t.s.dir, "git");
    const good = repository(root, "good", [{ README: "hello\n" }]);
    repository(root, "other", [{ README: "other\n" }]);
    // Trees git would never write, made by hand: an entry named "..", one named ".git".
    const evil = join(root, "evil.git");
    git(root, ["init", "-q", "--bare", evil]);
    const blob = git(evil, ["hash-object", "-w", "--stdin"], "escaped\n");
    const inner = git(evil, ["mktree"], `100644 blob ${blob}\tescape\n`);
    const trees: [string, string][] = [["dotdot", `040000 tree ${inner}\t..\n`], ["dotgit", `040000 tree ${inner}\t.git\n`], ["many", Array.from({ length: 40 }, (_, n) => `100644 blob ${git(evil, ["hash-object", "-w", "--stdin"], "x".repeat(60000))}\tcopy${n}\n`).join("")]];
    for (const [branch, tree] of trees) {
      git(evil, ["update-ref", `refs/heads/${branch}`, git(evil, ["commit-tree", git(evil, ["mktree"], tree), "-m", branch])]);
    }
    const servers = await gitServers(root);
    // A server whose pack is corrupted in flight, and one that answers with another repository's commit.
    const flipped = await gitServers(root, { reply: (path, body) => (path.endsWith("git-upload-pack") && body.includes("packfile") ? Buffer.concat([body.subarray(0, body.length - 30), Buffer.from([body[body.length - 30]! ^ 1]), body.subarray(body.length - 29)]) : body) });
    const otherCommit = git(join(root, "other.git"), ["rev-parse", "main"]);
    const lying = await gitServers(root, { request: (path, body) => (body.includes("command=fetch") ? [path.replace("good.git", "other.git"), Buffer.from(body.toString("latin1").replace(/want [0-9a-f]{40}/, `want ${otherCommit}`), "latin1")] : [path, body]) });
    const old = await gitServers(root, { protocol: "0" });
    try {
      const images = await ok(["images", "-q"]);
      const cases: [string, RegExp, Record<string, string>?][] = [
        [`ADD git@example.com:org/repo.git /x`, /ssh remotes are not supported/],
        [`ADD ${servers.http}/good.git#nosuch /x`, /no branch, tag or ref named nosuch/],
        [`ADD ${servers.http}/missing.git /x`, /404 .*no such repository/],
        [`ADD --checksum=${"0".repeat(40)} ${servers.git}/good.git /x`, /not the --checksum 0{40}/],
        [`COPY ${servers.http}/good.git /x`, /COPY takes no URL or git repository \(ADD does\)/],
        [`ADD --keep-git-dir=true ${servers.http}/good.git /x`, /--keep-git-dir is not supported/],
        [`ADD ${old.http}/good.git /x`, /does not speak git protocol version 2/],
        [`ADD ${servers.http}/evil.git#dotdot /x`, /an entry named "\.\.", which git refuses/],
        [`ADD ${servers.git}/evil.git#dotgit /x`, /an entry named "\.git", which git refuses/],
        [`ADD ${flipped.http}/good.git /x`, /bad git pack/],
        [`ADD ${lying.http}/good.git /x`, /the server's pack lacks .*[0-9a-f]{40}/],
        // 40 files of 60 kB that are one blob: a small pack, a checkout larger than the store may take.
        [`ADD ${servers.http}/evil.git#many /x`, /the checkout is larger than the store can take/, { BOX_MAX_LAYER_BYTES: String(1 << 20) }],
      ];
      for (const [line, message, env] of cases) {
        const r = await build(`FROM busybox\n${line}\n`, ["-t", "broken"], env);
        expect([r.code, r.stderr.trim().split("\n").at(-1)]).toEqual([1, expect.stringMatching(message)]);
        expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^box: dockerfile line 2: /);
      }
      expect(await ok(["images", "-q"])).toBe(images);
      expect(good.commits.length).toBe(1);
    } finally {
      for (const s of [servers, flipped, lying, old]) await s.stop();
    }
    // Nothing escaped the checkout, nothing half-made stayed.
    expect(temporaries()).toEqual([]);
    expect(readdirSync(t.s.root).includes("escape")).toBe(false);
  }, 90000);
});
