// Volumes as a service uses them: named ones that outlive containers, anonymous ones that go with
// theirs, Docker's copy-up of the image's content, `box volume` and its refusals.
import { describe, expect, test } from "bun:test";
import { chownSync, chmodSync, cpSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, boxOk, expectRefused, copyRootfs, runDetached, ROOTFS, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

const ok = (args: string[]) => boxOk(t.s, args);

const dataOf = (name: string) => join(t.s.root, "volumes", name, "_data");

/**
 * The test rootfs with /srv/seed (a file of 1000:1000 mode 0640, a directory, a link to
 * /etc/passwd) and VOLUME /srv/seed, imported as `seeded`.
 */
async function seededImage(): Promise<void> {
  const dir = join(t.s.dir, "seeded");
  cpSync(ROOTFS, dir, { recursive: true, verbatimSymlinks: true });
  const seed = join(dir, "srv/seed");
  mkdirSync(join(seed, "sub"), { recursive: true });
  writeFileSync(join(seed, "file"), "from-image\n");
  chownSync(join(seed, "file"), 1000, 1000);
  chmodSync(join(seed, "file"), 0o640);
  writeFileSync(join(seed, "sub/inner"), "inner\n");
  linkSync(join(seed, "sub/inner"), join(seed, "hard"));
  symlinkSync("/etc/passwd", join(seed, "link"));
  chownSync(seed, 1000, 1000);
  chmodSync(seed, 0o750);
  const tar = join(t.s.dir, "seeded.tar");
  expect(Bun.spawnSync(["tar", "-C", dir, "-cf", tar, "."]).exitCode).toBe(0);
  await ok(["import", "-c", "VOLUME /srv/seed", tar, "seeded"]);
}

describe("box volume", () => {
  test("create, ls (-q, filters, --format), inspect in Docker's shape, rm, prune; refusals", async () => {
    expect(await ok(["volume", "create", "--label", "app=db", "pgdata"])).toBe("pgdata\n");
    expect(await ok(["volume", "create", "pgdata"])).toBe("pgdata\n");
    const random = (await ok(["volume", "create"])).trim();
    expect(random).toMatch(/^[0-9a-f]{64}$/);
    expect(await ok(["volume", "ls"])).toBe(`DRIVER    VOLUME NAME\nlocal     ${random}\nlocal     pgdata\n`);
    expect(await ok(["volume", "ls", "-q", "--filter", "label=app=db"])).toBe("pgdata\n");
    expect(await ok(["volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Label \"app\"}}", "--filter", "name=pg"])).toBe("pgdata local db\n");
    const [info] = JSON.parse(await ok(["volume", "inspect", "pgdata"]));
    expect(Object.keys(info).sort()).toEqual(["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]);
    expect(info).toMatchObject({ Driver: "local", Labels: { app: "db" }, Mountpoint: dataOf("pgdata"), Name: "pgdata", Options: null, Scope: "local" });
    expect(await ok(["volume", "inspect", "-f", "{{.Mountpoint}}", "pgdata"])).toBe(`${dataOf("pgdata")}\n`);

    const id = await runDetached(t.s, ["--network", "none", "-v", "pgdata:/data"], "sleep 30");
    expect(await ok(["volume", "ls", "-q", "--filter", "dangling=true"])).toBe(`${random}\n`);
    expectRefused(await box(t.s, ["volume", "rm", "pgdata"]), new RegExp(`^box: remove pgdata: volume is in use - \\[${id}\\]`));
    await ok(["rm", "-f", id]);
    expect(await ok(["volume", "rm", "pgdata"])).toBe("pgdata\n");
    expectRefused(await box(t.s, ["volume", "rm", "pgdata"]), /no such volume: pgdata/);
    expect((await box(t.s, ["volume", "rm", "-f", "pgdata"])).code).toBe(0);
    // Only anonymous volumes without -a; the named one made without a name is not anonymous.
    expect(await ok(["volume", "prune", "-f"])).toBe("Total reclaimed space: 0B\n");
    expect(await ok(["volume", "prune", "-a", "-f"])).toBe(`Deleted Volumes:\n${random}\n\nTotal reclaimed space: 0B\n`);

    expectRefused(await box(t.s, ["volume", "create", "a/b"]), /invalid volume name "a\/b"/);
    expectRefused(await box(t.s, ["volume", "create", "-d", "nfs", "x1"]), /local driver only/);
    expectRefused(await box(t.s, ["volume", "create", "-o", "type=nfs", "-o", "device=:/x", "x1"]), /tmpfs volumes and binds/);
    expectRefused(await box(t.s, ["volume", "create", "-o", "size=1m", "x1"]), /invalid volume option "size=1m"/);
    expectRefused(await box(t.s, ["volume", "prune"]), /confirm with -f/);
    // A name is never a path into the store.
    expectRefused(await box(t.s, ["volume", "rm", "../containers"]), /no such volume: \.\.\/containers/);
    expect(existsSync(join(t.s.root, "volumes", "x1"))).toBe(false);
  });

  test("a named volume keeps a service's data across rm and a new run", async () => {
    const first = await runDetached(t.s, ["--network", "none", "--name", "db", "-v", "dbdata:/var/lib/db"], "echo 'row 1' >> /var/lib/db/table; sleep 30");
    for (let i = 0; i < 50 && !existsSync(join(dataOf("dbdata"), "table")); i++) await Bun.sleep(50);
    await ok(["rm", "-f", "-v", first]);
    expect(readFileSync(join(dataOf("dbdata"), "table"), "utf8")).toBe("row 1\n");
    const again = await box(t.s, ["run", "--rm", "--network", "none", "--name", "db", "-v", "dbdata:/var/lib/db", "--rootfs", copyRootfs(t.s), "sh", "-c", "echo 'row 2' >> /var/lib/db/table; cat /var/lib/db/table"]);
    expect(again.stdout).toBe("row 1\nrow 2\n");
    await ok(["volume", "rm", "dbdata"]);
  });

  test("copy-up: an empty volume gets the image's content with owners and modes, links as links; not with nocopy, not when it has data", async () => {
    await seededImage();
    const r = await box(t.s, ["run", "--rm", "--network", "none", "-v", "seed:/srv/seed", "seeded", "sh", "-c", "cat /srv/seed/file; stat -c '%u:%g %a' /srv/seed /srv/seed/file; readlink /srv/seed/link"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("from-image\n1000:1000 750\n1000:1000 640\n/etc/passwd\n");
    const st = statSync(join(dataOf("seed"), "file"));
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1000, 1000, 0o640]);
    expect(readFileSync(join(dataOf("seed"), "sub/inner"), "utf8")).toBe("inner\n");
    // A hard link stays one: an image cannot make its copy-up larger than itself.
    expect(statSync(join(dataOf("seed"), "hard")).ino).toBe(statSync(join(dataOf("seed"), "sub/inner")).ino);
    // Not copied again over what is there now.
    writeFileSync(join(dataOf("seed"), "file"), "changed\n");
    expect((await box(t.s, ["run", "--rm", "--network", "none", "-v", "seed:/srv/seed", "seeded", "cat", "/srv/seed/file"])).stdout).toBe("changed\n");
    expect((await box(t.s, ["run", "--rm", "--network", "none", "-v", "empty:/srv/seed:nocopy", "seeded", "ls", "-A", "/srv/seed"])).stdout).toBe("");
    expect((await box(t.s, ["run", "--rm", "--network", "none", "--mount", "type=volume,src=empty2,dst=/srv/seed,volume-nocopy", "seeded", "ls", "-A", "/srv/seed"])).stdout).toBe("");
    await ok(["volume", "rm", "seed", "empty", "empty2"]);
  });

  test("anonymous volumes: -v /path and an image's VOLUME; rm -v and run --rm remove them, rm leaves them to prune", async () => {
    await seededImage();
    const id = (await ok(["create", "--network", "none", "-v", "/scratch", "seeded", "true"])).trim();
    const mounts = JSON.parse(await ok(["inspect", "-f", "{{json .Mounts}}", id])) as Array<{ Type: string; Name: string; Destination: string }>;
    expect(mounts.map((m) => [m.Type, m.Destination]).sort()).toEqual([["volume", "/scratch"], ["volume", "/srv/seed"]]);
    for (const m of mounts) expect(existsSync(dataOf(m.Name))).toBe(true);
    await ok(["start", "-a", id]);
    // The image's VOLUME got its content.
    expect(readFileSync(join(dataOf(mounts.find((m) => m.Destination === "/srv/seed")!.Name), "file"), "utf8")).toBe("from-image\n");
    await ok(["rm", "-v", id]);
    for (const m of mounts) expect(existsSync(join(t.s.root, "volumes", m.Name))).toBe(false);

    const kept = (await ok(["create", "--network", "none", "-v", "/scratch", "seeded", "true"])).trim();
    const name = (await ok(["inspect", "-f", "{{range .Mounts}}{{if eq .Destination \"/scratch\"}}{{.Name}}{{end}}{{end}}", kept])).trim();
    await ok(["rm", kept]);
    expect(existsSync(dataOf(name))).toBe(true);
    expect(await ok(["volume", "prune", "-f"])).toContain(`Deleted Volumes:\n`);
    expect(existsSync(dataOf(name))).toBe(false);

    // --rm, attached and detached.
    expect((await box(t.s, ["run", "--rm", "--network", "none", "-v", "/scratch", "seeded", "true"])).code).toBe(0);
    const detached = await box(t.s, ["run", "-d", "--rm", "--network", "none", "-v", "/scratch", "seeded", "sleep", "0.3"]);
    expect(detached.code).toBe(0);
    await box(t.s, ["wait", detached.stdout.trim()]).catch(() => {});
    for (let i = 0; i < 50 && readdirSync(join(t.s.root, "volumes")).length; i++) await Bun.sleep(100);
    expect(readdirSync(join(t.s.root, "volumes"))).toEqual([]);
  });

  test("--mount type=volume: readonly, volume-subpath resolved inside the volume, volume-opt making a tmpfs volume", async () => {
    await ok(["volume", "create", "shared"]);
    mkdirSync(join(dataOf("shared"), "site/html"), { recursive: true });
    writeFileSync(join(dataOf("shared"), "site/html/index.html"), "page\n");
    // A link a container left in the volume leads nowhere outside it.
    symlinkSync("/etc", join(dataOf("shared"), "escape"));
    const sub = await box(t.s, ["run", "--rm", "--network", "none", "--mount", "type=volume,src=shared,dst=/www,volume-subpath=site/html,readonly", "--rootfs", copyRootfs(t.s), "sh", "-c", "cat /www/index.html; touch /www/x 2>/dev/null || echo read-only"]);
    expect(sub.stdout).toBe("page\nread-only\n");
    const escape = await box(t.s, ["run", "--rm", "--network", "none", "--mount", "type=volume,src=shared,dst=/x,volume-subpath=escape", "--rootfs", copyRootfs(t.s), "ls", "/x"]);
    expectRefused(escape, /the volume has no directory escape/);
    expectRefused(await box(t.s, ["run", "--rm", "--mount", "type=volume,src=shared,dst=/x,volume-subpath=../..", "--rootfs", copyRootfs(t.s), "true"]), /volume-subpath must be a relative path inside the volume/);
    const tmp = await box(t.s, ["run", "--rm", "--network", "none", "--mount", "type=volume,src=fast,dst=/fast,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=2m", "--rootfs", copyRootfs(t.s), "grep", " /fast ", "/proc/mounts"]);
    expect(tmp.stdout).toMatch(/^tmpfs \/fast tmpfs rw.*size=2048k/);
    expect(JSON.parse(await ok(["volume", "inspect", "fast"]))[0].Options).toEqual({ type: "tmpfs", device: "tmpfs", o: "size=2m" });
    await ok(["volume", "rm", "shared", "fast"]);
  });

  test("the local driver's bind volume (-o type=none,o=bind,device=DIR)", async () => {
    const dir = join(t.s.dir, "srv");
    mkdirSync(dir);
    await ok(["volume", "create", "-o", "type=none", "-o", "o=bind", "-o", `device=${dir}`, "srv"]);
    expect((await box(t.s, ["run", "--rm", "--network", "none", "-v", "srv:/srv", "--rootfs", copyRootfs(t.s), "sh", "-c", "echo via-volume > /srv/f"])).code).toBe(0);
    expect(readFileSync(join(dir, "f"), "utf8")).toBe("via-volume\n");
    await ok(["volume", "rm", "srv"]);
    expect(existsSync(join(dir, "f"))).toBe(true);
  });

  test("--volumes-from shares a container's named and anonymous volumes; the anonymous one goes only with its maker", async () => {
    const maker = (await ok(["create", "--network", "none", "-v", "named:/n", "-v", "/anon", "--rootfs", copyRootfs(t.s), "true"])).trim();
    const r = await box(t.s, ["run", "--rm", "--network", "none", "--volumes-from", maker, "--rootfs", copyRootfs(t.s), "sh", "-c", "echo n > /n/f; echo a > /anon/f"]);
    expect(r.code).toBe(0);
    const anon = (await ok(["inspect", "-f", "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Name}}{{end}}{{end}}", maker])).trim();
    expect(readFileSync(join(dataOf(anon), "f"), "utf8")).toBe("a\n");
    await ok(["rm", "-v", maker]);
    expect(existsSync(dataOf(anon))).toBe(false);
    expect(readFileSync(join(dataOf("named"), "f"), "utf8")).toBe("n\n");
    await ok(["volume", "rm", "named"]);
  });

  test("system df counts volumes; system prune --volumes removes the anonymous ones no container uses", async () => {
    await ok(["volume", "create", "kept"]);
    writeFileSync(join(dataOf("kept"), "f"), "x".repeat(3000));
    const id = (await ok(["create", "--network", "none", "-v", "/scratch", "--rootfs", copyRootfs(t.s), "true"])).trim();
    await ok(["rm", id]);
    const df = (await ok(["system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}}"])).split("\n");
    expect(df).toContain("Local Volumes 2 0 3kB");
    expect(await ok(["system", "prune", "-f", "--volumes"])).toMatch(/^Deleted Volumes:\n[0-9a-f]{64}\n\n$/);
    expect(await ok(["volume", "ls", "-q"])).toBe("kept\n");
    await ok(["volume", "rm", "kept"]);
  });

  test("box cp reaches a volume's files; commit, export and diff leave them out (as Docker's)", async () => {
    await seededImage();
    const id = (await ok(["run", "-d", "--network", "none", "-v", "kept:/data", "seeded", "sh", "-c", "echo inside > /data/f; echo layer > /layer; sleep 100"])).trim();
    for (let i = 0; i < 50 && !existsSync(join(dataOf("kept"), "f")); i++) await Bun.sleep(50);
    const out = join(t.s.dir, "f-out");
    await ok(["cp", `${id}:/data/f`, out]);
    expect(readFileSync(out, "utf8")).toBe("inside\n");
    writeFileSync(join(t.s.dir, "g"), "from-host\n");
    await ok(["cp", join(t.s.dir, "g"), `${id}:/data/g`]);
    expect(readFileSync(join(dataOf("kept"), "g"), "utf8")).toBe("from-host\n");
    const diff = await ok(["diff", id]);
    expect(diff).toContain("A /layer");
    expect(diff).not.toContain("/data/f");
    await ok(["commit", id, "snapshot"]);
    expect((await box(t.s, ["run", "--rm", "--network", "none", "snapshot", "sh", "-c", "cat /layer; ls /data"])).stdout).toBe("layer\n");
    const tar = join(t.s.dir, "export.tar");
    await ok(["export", "-o", tar, id]);
    const listing = Bun.spawnSync(["tar", "-tf", tar]).stdout.toString();
    expect(listing).toMatch(/^(\.\/)?layer$/m);
    expect(listing).not.toMatch(/data\/f$/m);
    await ok(["rm", "-f", id]);
    await ok(["volume", "rm", "kept"]);
  });

  test("rootless: a user's volume lives in the user's store and the container's root (the user) writes to it", async () => {
    const USER = 65534;
    chownSync(t.s.dir, USER, USER);
    const rootfs = join(t.s.dir, "user-rootfs");
    cpSync(ROOTFS, rootfs, { recursive: true, verbatimSymlinks: true });
    Bun.spawnSync(["chown", "-R", `${USER}:${USER}`, rootfs]);
    const r = await box(t.s, ["run", "--rm", "-v", "mine:/data", "--rootfs", rootfs, "sh", "-c", "echo hi > /data/f; cat /data/f"], { as: USER });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(statSync(join(dataOf("mine"), "f")).uid).toBe(USER);
    expect((await box(t.s, ["volume", "rm", "mine"], { as: USER })).code).toBe(0);
  });

  test("--userns=auto: a volume the container makes is its root's, and its root writes to it", async () => {
    const r = await box(t.s, ["run", "--rm", "--network", "none", "--userns=auto", "-v", "owned:/data", "--rootfs", copyRootfs(t.s), "sh", "-c", "echo mine > /data/f && stat -c '%u' /data"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0\n");
    // On the host, the range's first id.
    expect(statSync(join(dataOf("owned"), "f")).uid).toBeGreaterThanOrEqual(1_000_000_000);
    await ok(["volume", "rm", "owned"]);
  });
});
