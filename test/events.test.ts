// `box events`, driven as a script would: what box did is in the store's journal, in Docker's
// text and JSON, filtered and bounded in time; a follower sees new events as they come and ends
// on a signal or when its reader goes; the journal stays bounded.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, boxArgs, copyRootfs, importBusybox, runDetached, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

/** Unix seconds with nanoseconds, as `date +%s.%N` gives them: a --since/--until of this moment. */
function unixNow(): string {
  return (Date.now() / 1000).toFixed(3);
}

async function events(args: string[]): Promise<string[]> {
  const r = await box(t.s, ["events", ...args]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout.split("\n").filter(Boolean);
}

const TEXT_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(?:Z|[+-]\d\d:\d\d)) (\w+) (\S+) (\S+)(?: \((.*)\))?$/;

/** Docker's text lines as [type, action, actor, attributes]. */
function parseText(lines: string[]): Array<{ type: string; action: string; id: string; attrs: string }> {
  return lines.map((line) => {
    const m = TEXT_LINE.exec(line);
    expect(m, line).not.toBeNull();
    return { type: m![2]!, action: m![3]!, id: m![4]!, attrs: m![5] ?? "" };
  });
}

describe("box events", () => {
  test("after run, stop and rm, --since 0 --until now lists each container's events in order with Docker's attributes", async () => {
    const rootfs = copyRootfs(t.s);
    const attached = await box(t.s, ["run", "--name", "job", "-l", "app=web", "--rootfs", rootfs, "/bin/sh", "-c", "exit 3"]);
    expect(attached.code).toBe(3);
    const bg = await runDetached(t.s, ["--name", "bg"], "exec sleep 30");
    expect((await box(t.s, ["stop", "-t", "5", "bg"])).code).toBe(0);
    expect((await box(t.s, ["rm", "job", "bg"])).code).toBe(0);

    const lines = parseText(await events(["--since", "0", "--until", unixNow()]));
    const of = (name: string) => lines.filter((e) => e.attrs.includes(`name=${name}`));
    const job = of("job");
    expect(job.map((e) => e.action)).toEqual(["create", "start", "die", "destroy"]);
    expect(job.every((e) => e.type === "container" && /^[0-9a-f]{64}$/.test(e.id))).toBe(true);
    // Attributes sorted by key, as Docker prints them: the labels, image, name (and exitCode).
    expect(job[2]!.attrs).toBe(`app=web, exitCode=3, image=${rootfs}, name=job`);
    const stopped = of("bg");
    expect(stopped.map((e) => e.action)).toEqual(["create", "start", "kill", "die", "stop", "destroy"]);
    expect(stopped[0]!.id).toBe(bg);
    expect(stopped[2]!.attrs).toContain("signal=15");
    expect(stopped[3]!.attrs).toContain("exitCode=143");
  });

  test("--filter (same key ORs, different keys AND) and --format json in Docker's shape", async () => {
    const rootfs = copyRootfs(t.s);
    for (const [name, code] of [["one", "1"], ["two", "2"]] as const) {
      await box(t.s, ["run", "--rm", "--name", name, "-l", `n=${name}`, "--rootfs", rootfs, "/bin/sh", "-c", `exit ${code}`]);
    }
    expect((await importBusybox(t.s, "bb:1")).code).toBe(0);
    expect((await box(t.s, ["tag", "bb:1", "bb:2"])).code).toBe(0);
    const until = unixNow();

    const json = (await events(["--since", "0", "--until", until, "--filter", "event=die", "--filter", "container=one", "--filter", "container=two", "--format", "json"])).map((l) => JSON.parse(l));
    expect(json.map((e) => [e.Actor.Attributes.name, e.Actor.Attributes.exitCode])).toEqual([["one", "1"], ["two", "2"]]);
    const first = json[0];
    expect(Object.keys(first)).toEqual(["status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano"]);
    expect(first).toMatchObject({ status: "die", Type: "container", Action: "die", scope: "local", from: rootfs, id: first.Actor.ID });
    expect(first.time).toBe(Math.floor(first.timeNano / 1e9));
    // The nanoseconds whole (past 2^53), as the journal has them.
    const raw = (await events(["--since", "0", "--until", until, "--filter", "container=one", "--filter", "event=die", "--format", "json"]))[0]!;
    expect(raw).toMatch(/,"time":\d{10},"timeNano":\d{19}}$/);

    // Labels, and the type filter: destroy of "two" only.
    expect(await events(["--since", "0", "--until", until, "--filter", "label=n=two", "--filter", "event=destroy", "--format", "{{.Action}} {{.Actor.Attributes.name}}"])).toEqual(["destroy two"]);
    const images = await events(["--since", "0", "--until", until, "--filter", "type=image", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}"]);
    expect(images).toHaveLength(2);
    expect(images[0]).toMatch(/^image import (sha256:[0-9a-f]{64}) \1$/);
    expect(images[1]).toBe(`image tag ${images[0]!.split(" ")[2]} bb:2`);
    expect(await events(["--since", "0", "--until", until, "--filter", "image=bb", "--filter", "event=tag", "--format", "{{.Action}}"])).toEqual(["tag"]);
    expect(await events(["--since", "0", "--until", until, "--filter", "type=network"])).toEqual([]);
  });

  test("a follower sees a new container's events within a second, and ends on SIGTERM", async () => {
    const rootfs = copyRootfs(t.s);
    const since = unixNow();
    const follower = Bun.spawn(boxArgs(t.s, ["events", "--since", since, "--format", "{{.Action}} {{.Actor.Attributes.name}}"]), { stdout: "pipe", stderr: "pipe" });
    const out = follower.stdout.getReader();
    let seen = "";
    const read = (async () => {
      for (let r = await out.read(); !r.done; r = await out.read()) seen += new TextDecoder().decode(r.value);
    })();
    try {
      await box(t.s, ["run", "--rm", "--name", "live", "--rootfs", rootfs, "/bin/true"]);
      const ran = Date.now();
      while (!seen.includes("destroy live") && Date.now() - ran < 1000) await Bun.sleep(20);
      expect(seen).toBe("create live\nstart live\ndie live\ndestroy live\n");

      // As Docker's CLI: ended by a signal, 128 + its number, and nothing on stderr.
      follower.kill("SIGTERM");
      const code = await Promise.race([follower.exited, Bun.sleep(2000).then(() => "still running")]);
      expect(code).toBe(143);
      await read;
      expect(await new Response(follower.stderr).text()).toBe("");
    } finally {
      follower.kill("SIGKILL");
    }
  });

  test("a follower ends when its reader goes, and at an --until to come", async () => {
    const rootfs = copyRootfs(t.s);
    const started = Date.now();
    const piped = Bun.spawn(["sh", "-c", `${boxArgs(t.s, ["events", "--since", unixNow()]).map((a) => `'${a}'`).join(" ")} | head -n 1`], { stdout: "pipe" });
    try {
      await box(t.s, ["run", "--rm", "--rootfs", rootfs, "/bin/true"]);
      // sh waits for both sides of the pipe: it ends only once box events has.
      expect(await Promise.race([piped.exited, Bun.sleep(3000).then(() => "still running")])).toBe(0);
      expect(await new Response(piped.stdout).text()).toMatch(/ container create [0-9a-f]{64} /);
    } finally {
      piped.kill("SIGKILL");
    }

    // A negative duration is a time to come (Go's, as Docker reads it): follow until then.
    const timed = await box(t.s, ["events", "--until", "-1s"]);
    expect(timed.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  test("a bad --since, --until or --filter is exit 125 with one line", async () => {
    for (const [args, message] of [
      [["--since", "yesterday"], `box: failed to parse value as time or duration: "yesterday"\n`],
      [["--until", "2020-13-01"], `box: invalid value "2020-13-01" for --until: not an RFC 3339 time (2006-01-02T15:04:05Z07:00)\n`],
      [["--filter", "colour=red"], "box: invalid filter 'colour'\n"],
      [["--since", "10", "--until", "5"], "box: `since` time (10) cannot be after `until` time (5)\n"],
    ] as const) {
      const r = await box(t.s, ["events", ...args]);
      expect(r.stderr).toBe(message);
      expect(r.code).toBe(125);
      expect(r.stdout).toBe("");
    }
  });

  test("the journal stays bounded: past 1 MiB it is rotated once, and both parts are read", async () => {
    const journal = join(t.s.root, "events.log");
    const old = (i: number) =>
      `${JSON.stringify({ status: "create", id: `old${i}`, Type: "container", Action: "create", Actor: { ID: `old${i}`, Attributes: { name: `old${i}`, pad: "x".repeat(200) } }, scope: "local" }).slice(0, -1)},"time":1,"timeNano":1000000000}\n`;
    // Just past the limit: what is rotated is that much and one line more.
    const count = Math.ceil((1 << 20) / old(0).length) + 1;
    const fill = () => writeFileSync(journal, Array.from({ length: count }, (_, i) => old(i)).join(""));
    const rootfs = copyRootfs(t.s);
    for (const round of [1, 2]) {
      // The store exists once a container was made; then the journal is filled past its limit.
      await box(t.s, ["run", "--rm", "--name", `r${round}`, "--rootfs", rootfs, "/bin/true"]);
      fill();
      expect(statSync(journal).size).toBeGreaterThan(1 << 20);
      await box(t.s, ["run", "--rm", "--name", `s${round}`, "--rootfs", rootfs, "/bin/true"]);
      expect(existsSync(`${journal}.1`)).toBe(true);
      expect(statSync(journal).size).toBeLessThan(16 << 10);
      expect(statSync(journal).size + statSync(`${journal}.1`).size).toBeLessThan((1 << 20) + (64 << 10));
    }
    const names = (await events(["--since", "0", "--until", unixNow(), "--format", "{{.Action}} {{.Actor.Attributes.name}}"])).filter((l) => !l.includes(" old"));
    // events.log.1 holds the second fill and the create that rotated it; events.log what came after.
    expect(names).toEqual(["create s2", "start s2", "die s2", "destroy s2"]);
    expect(readFileSync(`${journal}.1`, "utf8").split("\n").filter(Boolean).length).toBe(count + 1);
  });
});
