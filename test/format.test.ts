// --format on every listing command, driven as a script would: templates, `table`, `json`,
// Docker's row shapes; ps filters and -n/-l/-s; stats NET I/O; version, system info and df.
import { describe, expect, test } from "bun:test";
import { box, boxOk, eventually, importBusybox, runDetached, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

const ok = (args: string[]) => boxOk(t.s, args);

const lines = (text: string) => text.trimEnd().split("\n");

describe("ps", () => {
  test("templates, table TEMPLATE with Docker's headers, json rows in Docker's shape, errors", async () => {
    expect((await importBusybox(t.s, "bb:1")).code).toBe(0);
    await ok(["run", "-d", "--name", "web", "--label", "app=web", "--label", "tier=front", "bb:1", "sleep", "60"]);
    await ok(["run", "--name", "done", "bb:1", "true"]);
    expect(await ok(["ps", "--format", '{{.Names}} {{.State}} {{.Label "app"}} {{.Labels}} {{.Networks}} {{.Image}}'])).toBe("web running web app=web,tier=front bridge bb:1\n");
    expect(lines(await ok(["ps", "-a", "--format", "table {{.Names}}\\t{{.Status}}\\t{{.Label \"app\"}}"]))).toEqual([
      expect.stringMatching(/^NAMES {5}STATUS {23,}app$/),
      expect.stringMatching(/^done {6}Exited \(0\) .* ago {3,}$/),
      expect.stringMatching(/^web {7}Up .*web$/),
    ]);
    const table = lines(await ok(["ps"]));
    expect(table[0]).toMatch(/^CONTAINER ID   IMAGE     COMMAND      CREATED\s+STATUS\s+PORTS     NAMES$/);
    expect(table[1]).toMatch(/^[0-9a-f]{12}   bb:1      "sleep 60"   .* ago\s+Up .*\s+web$/);
    // The same table (two calls may fall either side of a second: "Less than a second ago").
    await eventually(async () => (await ok(["ps", "--format", "table"])) === (await ok(["ps"])), 5000);
    const json = lines(await ok(["ps", "-a", "--format", "json"])).map((l) => JSON.parse(l));
    expect(Object.keys(json[0])).toEqual(["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Platform", "Ports", "RunningFor", "Size", "State", "Status"]);
    expect(json.map((r) => r.Names)).toEqual(["done", "web"]);
    expect(json[1]).toMatchObject({ Command: '"sleep 60"', Image: "bb:1", State: "running", Labels: "app=web,tier=front", ID: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(json[1].CreatedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+$/);
    expect(await ok(["ps", "--format", "{{range $i, $n := split .Names \"e\"}}{{if $i}}-{{end}}{{upper $n}}{{end}}"])).toBe("W-B\n");
    const bad = await box(t.s, ["ps", "--format", "{{.Nope}}"]);
    expect([bad.code, bad.stdout, bad.stderr]).toEqual([125, "", 'box: template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext\n']);
    const unparsable = await box(t.s, ["ps", "--format", "{{if .Names}}"]);
    expect([unparsable.code, unparsable.stderr]).toEqual([125, "box: template parsing error: template: :1: unexpected EOF\n"]);
    await ok(["rm", "-f", "web", "done"]);
  });

  test("filters: ancestor, before, since, exited, health, network, publish, expose, volume, is-task; -n, -l, -s", async () => {
    expect((await importBusybox(t.s, "bb:1")).code).toBe(0);
    expect((await importBusybox(t.s, "other:1")).code).toBe(0);
    expect((await box(t.s, ["run", "--name", "first", "bb:1", "sh", "-c", "exit 3"])).code).toBe(3);
    await ok(["run", "-d", "--name", "second", "-p", "18181:80", "--expose", "90", "-v", `${t.s.dir}:/data`, "other:1", "sleep", "60"]);
    await ok(["run", "--name", "third", "bb:1", "sh", "-c", "echo hi > /file; exit 0"]);
    const names = async (...args: string[]) => lines(await ok(["ps", "--format", "{{.Names}}", ...args])).filter(Boolean);
    expect(await names("-a")).toEqual(["third", "second", "first"]);
    expect(await names("-a", "--filter", "ancestor=bb:1")).toEqual(["third", "first"]);
    expect(await names("-a", "--filter", "before=second")).toEqual(["first"]);
    expect(await names("-a", "--filter", "since=second")).toEqual(["third"]);
    expect(await names("-a", "--filter", "exited=3")).toEqual(["first"]);
    expect(await names("-a", "--filter", "exited=0", "--filter", "exited=3")).toEqual(["third", "first"]);
    expect(await names("-a", "--filter", "health=none")).toEqual(["third", "second", "first"]);
    expect(await names("-a", "--filter", "health=healthy")).toEqual([]);
    expect(await names("-a", "--filter", "network=bridge")).toEqual(["third", "second", "first"]);
    expect(await names("-a", "--filter", "network=host")).toEqual([]);
    expect(await names("--filter", "publish=18181")).toEqual(["second"]);
    expect(await names("--filter", "publish=80")).toEqual([]);
    expect(await names("--filter", "expose=80/tcp")).toEqual(["second"]);
    expect(await names("--filter", "expose=89-91")).toEqual(["second"]);
    expect(await names("-a", "--filter", "volume=/data")).toEqual(["second"]);
    expect(await names("-a", "--filter", "is-task=false")).toEqual(["third", "second", "first"]);
    expect(await names("-n", "2")).toEqual(["third", "second"]);
    expect(await names("-l")).toEqual(["third"]);
    expect(await ok(["ps", "--filter", "publish=18181"])).toContain(" 90/tcp, 0.0.0.0:18181->80/tcp "); // Docker's order: grouped ports, then mappings
    const sized = lines(await ok(["ps", "-l", "-s"]));
    expect(sized[0]).toMatch(/NAMES     SIZE$/);
    expect(sized[1]).toMatch(/third     3B \(virtual \d+(\.\d+)?MB\)$/);
    expect(await ok(["ps", "-l", "--format", "{{.Size}}"])).toMatch(/^3B \(virtual \d/);
    for (const [filter, message] of [
      ["exited=x", "invalid filter 'exited=x'"],
      ["health=sick", "invalid filter 'health=sick'"],
      ["publish=1.2.3.4:80", "(no host address)"],
      ["color=red", "invalid filter 'color=red'"],
    ]) {
      const r = await box(t.s, ["ps", "--filter", filter!]);
      expect([r.code, r.stderr]).toEqual([125, expect.stringContaining(message!)]);
    }
    expect((await box(t.s, ["ps", "-n", "x"])).code).toBe(125);
    await ok(["rm", "-f", "first", "second", "third"]);
  });
});

test("images, history, inspect, network ls and inspect: templates, table, json", async () => {
  expect((await importBusybox(t.s, "bb:1")).code).toBe(0);
  expect(await ok(["images", "--format", "{{.Repository}}:{{.Tag}} {{len .ID}}"])).toBe("bb:1 12\n");
  expect(lines(await ok(["images"]))).toEqual([expect.stringMatching(/^REPOSITORY   TAG       IMAGE ID       CREATED\s+SIZE$/), expect.stringMatching(/^bb           1         [0-9a-f]{12}   .* ago\s+[\d.]+MB$/)]);
  expect(lines(await ok(["images", "--format", "table {{.Repository}}\\t{{.Size}}"]))).toEqual(["REPOSITORY   SIZE", expect.stringMatching(/^bb           \d+(\.\d+)?MB$/)]);
  const image = JSON.parse(await ok(["images", "--format", "json"]));
  expect(Object.keys(image)).toEqual(["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"]);
  expect(await ok(["history", "--format", "{{.CreatedBy}}|{{.ID}}", "bb:1"])).toMatch(/^box import\|[0-9a-f]{12}\n$/);
  expect(lines(await ok(["history", "bb:1"]))[0]).toMatch(/^IMAGE          CREATED\s+CREATED BY   SIZE      COMMENT$/);

  const id = await runDetached(t.s, ["--name", "c1", "--label", "k=v", "-e", "A=1"], "sleep 60");
  expect(await ok(["inspect", "-f", "{{.State.Status}} {{.State.Running}} {{index .Config.Labels \"k\"}} {{range .Config.Env}}{{if eq . \"A=1\"}}{{.}}{{end}}{{end}}", "c1"])).toBe("running true v A=1\n");
  expect(await ok(["inspect", "--format", "{{json .Config.Labels}}", "c1"])).toBe('{"k":"v"}\n');
  expect(JSON.parse(await ok(["inspect", "-f", "json", "c1"]))[0].Id).toBe(id);
  const missing = await box(t.s, ["inspect", "-f", "{{.Nope}}", "c1"]);
  expect([missing.code, missing.stderr]).toEqual([125, 'box: template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"\n']);
  expect(await ok(["image", "inspect", "-f", "{{.Id}}", "bb:1"])).toMatch(/^sha256:[0-9a-f]{64}\n$/);

  expect(lines(await ok(["network", "ls"]))).toEqual(["NETWORK ID     NAME      DRIVER    SCOPE", expect.stringMatching(/^[0-9a-f]{12}   bridge    bridge    local$/)]);
  const net = JSON.parse(await ok(["network", "ls", "--format", "json"]));
  expect(Object.keys(net)).toEqual(["CreatedAt", "Driver", "ID", "IPv4", "IPv6", "Internal", "Labels", "Name", "Scope"]);
  expect(await ok(["network", "ls", "--format", "{{.Name}}/{{.Driver}}"])).toBe("bridge/bridge\n");
  expect(await ok(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}} {{range .Containers}}{{.Name}}{{end}}", "bridge"])).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+ c1\n$/);
  expect(await ok(["network", "inspect", "-f", "{{.Name}}", net.ID])).toBe("bridge\n");
  await ok(["rm", "-f", "c1"]);
});

test("stats: NET I/O grows with traffic on a bridge container; templates and json rows", async () => {
  await runDetached(t.s, ["--name", "pinger"], "sleep 60");
  const gateway = (await ok(["inspect", "-f", "{{.NetworkSettings.Gateway}}", "pinger"])).trim();
  const received = async () => {
    const [rx] = (await ok(["stats", "--no-stream", "--format", "{{.NetIO}}", "pinger"])).trim().split(" / ");
    const m = /^([\d.]+)(B|kB|MB)$/.exec(rx!)!;
    return Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6 }[m[2] as "B"];
  };
  const before = await received();
  await ok(["exec", "pinger", "ping", "-c", "5", "-i", "0.2", "-s", "1000", gateway]);
  expect(await received()).toBeGreaterThan(before + 4000);
  const table = lines(await ok(["stats", "--no-stream"]));
  expect(table[0]).toMatch(/^CONTAINER ID   NAME      CPU %     MEM USAGE \/ LIMIT\s+MEM %     NET I\/O\s+BLOCK I\/O\s+PIDS$/);
  expect(table[1]).toMatch(/ pinger    \d+\.\d\d%   .*(k|M)?B \/ .*B\s+\d+$/);
  const row = JSON.parse(await ok(["stats", "--no-stream", "--format", "json"]));
  expect(Object.keys(row)).toEqual(["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"]);
  expect(row).toMatchObject({ Name: "pinger", PIDs: "1", CPUPerc: expect.stringMatching(/^\d+\.\d\d%$/), MemUsage: expect.stringMatching(/iB \/ [\d.]+[KMG]iB$/) });
  expect(await ok(["stats", "--no-stream", "--format", "table {{.Name}}\\t{{.PIDs}}"])).toBe("NAME      PIDS\npinger    1\n");
  await ok(["rm", "-f", "pinger"]);
});

test("version, info and system info, system df: Docker's shapes, templates, json", async () => {
  const version = JSON.parse(await ok(["version", "--format", "json"]));
  expect(version.Client.Version).toBe(version.Server.Version);
  expect(await ok(["version", "--format", "{{.Client.Version}} {{.Server.Os}}"])).toBe(`${version.Client.Version} linux\n`);
  expect(await ok(["version"])).toContain("Server: box");
  expect((await box(t.s, ["version", "--format", "{{.Nope.X}}"])).code).toBe(125);

  expect((await importBusybox(t.s, "bb:1")).code).toBe(0);
  await ok(["run", "-d", "--name", "up", "bb:1", "sh", "-c", "head -c 5000 /dev/zero > /w; sleep 60"]);
  await ok(["run", "--name", "down", "bb:1", "sh", "-c", "head -c 2000 /dev/zero > /w"]);
  expect(await ok(["info", "--format", "{{.Driver}} {{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}} {{.Images}} {{.OSType}}"])).toBe("overlay2 2 1 1 1 linux\n");
  expect(await ok(["system", "info", "--format", "{{.CgroupVersion}}"])).toMatch(/^[12]\n$/);
  expect(JSON.parse(await ok(["info", "--format", "json"])).DockerRootDir).toBe(t.s.root);

  for (let i = 0; i < 50 && !(await ok(["exec", "up", "ls", "/w"])).includes("/w"); i++) await Bun.sleep(100);
  const df = lines(await ok(["system", "df"]));
  expect(df[0]).toBe("TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE");
  expect(df[1]).toMatch(/^Images          1         1         [\d.]+MB\s+0B \(0%\)$/);
  expect(df[2]).toBe("Containers      2         1         7kB       2kB (28%)");
  expect(df.slice(3)).toEqual(["Local Volumes   0         0         0B        0B", "Build Cache     0         0         0B        0B"]);
  expect(await ok(["system", "df", "--format", "{{.Type}}={{.TotalCount}}"])).toBe("Images=1\nContainers=2\nLocal Volumes=0\nBuild Cache=0\n");
  expect(JSON.parse(lines(await ok(["system", "df", "--format", "json"]))[1]!)).toEqual({ Active: "1", Reclaimable: "2kB (28%)", Size: "7kB", TotalCount: "2", Type: "Containers" });
  const verbose = await ok(["system", "df", "-v"]);
  expect(verbose).toContain("Images space usage:\n\nREPOSITORY   TAG       IMAGE ID       CREATED");
  expect(verbose).toMatch(/\nContainers space usage:\n\nCONTAINER ID   IMAGE     COMMAND .*\n[0-9a-f]{12}   bb:1 .* 2kB .* down\n/);
  expect(verbose).toContain("Build cache usage: 0B");
  expect(await ok(["system", "df", "-v", "--format", "{{range .Containers}}{{.Names}}={{.Size}} {{end}}"])).toBe("down=2kB up=5kB ");
  await ok(["rm", "-f", "up", "down"]);
});
