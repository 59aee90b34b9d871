// Where a detached container's output goes and how it is read back: `box logs --until`, and the
// syslog and journald log drivers, driven as a shell script would.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { box, copyRootfs, eventually, runDetached, storePerTest } from "./helpers/box.ts";
import { check, cstr, libc } from "../src/sys/libc.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../src/sys/constants.ts";
import { close } from "../src/sys/fs.ts";

const t = storePerTest();

function logsOf(name: string, flags: string[] = []) {
  return box(t.s, ["logs", ...flags, name]);
}

describe("logs --until", () => {
  test("a time, a Unix time or a duration ago; with -f it stops following then", async () => {
    // "late" comes once the test says so (a file): the time between is the test's to choose.
    await runDetached(t.s, ["--name", "talk"], "echo early; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo late; exec sleep 60");
    await eventually(async () => (await logsOf("talk")).stdout === "early\n");
    await Bun.sleep(20);
    const between = new Date();
    await Bun.sleep(20);
    expect((await box(t.s, ["exec", "talk", "touch", "/tmp/go"])).code).toBe(0);
    await eventually(async () => (await logsOf("talk")).stdout === "early\nlate\n");

    expect((await logsOf("talk", ["--until", between.toISOString()])).stdout).toBe("early\n");
    expect((await logsOf("talk", ["--until", String(between.getTime() / 1000)])).stdout).toBe("early\n");
    expect((await logsOf("talk", ["--since", between.toISOString(), "--until", new Date(Date.now() + 60_000).toISOString()])).stdout).toBe("late\n");
    // A duration is before now: nothing was written 10 minutes ago, or 1h30m ago.
    expect((await logsOf("talk", ["--until", "10m"])).stdout).toBe("");
    expect((await logsOf("talk", ["--until", "1h30m"])).stdout).toBe("");
    const bad = await logsOf("talk", ["--until", "tomorrow"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("--until");

    // The container runs on (sleep 60): -f returns at the time given, with what came before it.
    const started = Date.now();
    const follow = await logsOf("talk", ["-f", "--until", new Date(Date.now() + 1500).toISOString()]);
    expect(follow.code).toBe(0);
    expect(follow.stdout).toBe("early\nlate\n");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await box(t.s, ["rm", "-f", "talk"])).code).toBe(0);
  });
});

const SOCK_NONBLOCK = 0o4000;

/** A unix datagram socket the test listens on, as a syslog daemon would: what came, one string per datagram. */
function datagramListener(path: string): { received: string[]; close(): void } {
  const fd = check(libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket");
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  cstr(path).copy(addr, 2);
  check(libc.bind(fd, addr, addr.length), "bind", path);
  const received: string[] = [];
  const buf = Buffer.alloc(65536);
  const timer = setInterval(() => {
    for (let n; (n = Number(libc.read(fd, buf, buf.length))) > 0; ) received.push(buf.subarray(0, n).toString());
  }, 10);
  return { received, close: () => (clearInterval(timer), close(fd)) };
}

/** A UDP port on 127.0.0.1 the test listens on. */
async function udpListener(): Promise<{ port: number; received: string[]; close(): void }> {
  const received: string[] = [];
  const socket = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data: (_s, data) => void received.push(Buffer.from(data).toString()) } });
  return { port: socket.port, received, close: () => socket.close() };
}

describe("--log-driver syslog", () => {
  test("each line is a datagram to the socket given, stdout at info, stderr at err, tagged with the short id", async () => {
    const path = join(t.s.dir, "log.sock");
    const daemon = datagramListener(path);
    try {
      const id = await runDetached(t.s, ["--name", "sys", "--log-driver", "syslog", "--log-opt", `syslog-address=unixgram://${path}`], "echo hello; echo oops >&2; printf 'no newline'");
      await eventually(() => daemon.received.length === 3);
      const byText = (text: string) => daemon.received.find((m) => m.includes(text))!;
      // Docker's default format: <PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE\n, facility daemon (3).
      const line = /^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ([0-9a-f]{12})\[\d+\]: (.*)\n$/s;
      expect(byText("hello")).toMatch(line);
      expect(line.exec(byText("hello"))!.slice(1)).toEqual(["30", id.slice(0, 12), "hello"]);
      expect(line.exec(byText("oops"))!.slice(1)).toEqual(["27", id.slice(0, 12), "oops"]);
      expect(line.exec(byText("no newline"))!.slice(1)).toEqual(["30", id.slice(0, 12), "no newline"]);
      // Nothing box can read back, as Docker's.
      const logs = await box(t.s, ["logs", "sys"]);
      expect(logs.code).toBe(125);
      expect(logs.stderr).toContain("configured logging driver does not support reading");
      expect((await box(t.s, ["inspect", "-f", "{{.HostConfig.LogConfig.Type}}", "sys"])).stdout).toBe("syslog\n");
      expect((await box(t.s, ["wait", "sys"])).stdout).toBe("0\n");
      expect((await box(t.s, ["rm", "sys"])).code).toBe(0);
    } finally {
      daemon.close();
    }
  });

  test("udp with syslog-format rfc5424, syslog-facility and a tag template", async () => {
    const daemon = await udpListener();
    try {
      const flags = ["--name", "fmt", "--log-driver", "syslog", "--log-opt", `syslog-address=udp://127.0.0.1:${daemon.port}`];
      flags.push("--log-opt", "syslog-format=rfc5424micro", "--log-opt", "syslog-facility=local3", "--log-opt", "tag=app-{{.Name}}");
      await runDetached(t.s, flags, "echo ready; echo bad >&2");
      await eventually(() => daemon.received.length === 2);
      const hostname = (await Bun.file("/proc/sys/kernel/hostname").text()).trim();
      // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG: local3 is 19, so 158 and 155.
      const line = /^<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(?:Z|[+-]\d\d:\d\d) (\S+) (\S+) \d+ (\S+) - (.*)\n$/;
      const parsed = daemon.received.map((m) => line.exec(m)?.slice(1)).sort();
      expect(parsed).toEqual([
        ["155", hostname, "app-fmt", "app-fmt", "bad"],
        ["158", hostname, "app-fmt", "app-fmt", "ready"],
      ]);
      expect((await box(t.s, ["rm", "-f", "fmt"])).code).toBe(0);
    } finally {
      daemon.close();
    }
  });

  test("tcp with syslog-format rfc3164: the messages one after the other on one stream", async () => {
    let stream = "";
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (_s, data) => void (stream += Buffer.from(data).toString()) } });
    try {
      const flags = ["--name", "tcp", "--log-driver", "syslog", "--log-opt", `syslog-address=tcp://127.0.0.1:${server.port}`, "--log-opt", "syslog-format=rfc3164"];
      const id = await runDetached(t.s, flags, "echo one; echo two");
      await eventually(() => stream.split("\n").length === 3);
      const hostname = (await Bun.file("/proc/sys/kernel/hostname").text()).trim();
      const line = (text: string) => `<30>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d ${hostname} ${id.slice(0, 12)}\\[\\d+\\]: ${text}\n`;
      expect(stream).toMatch(new RegExp(`^${line("one")}${line("two")}$`));
      expect((await box(t.s, ["rm", "-f", "tcp"])).code).toBe(0);
    } finally {
      server.stop(true);
    }
  });

  test("bad options are refused before anything is made", async () => {
    const refused = async (opts: string[], text: string) => {
      const r = await box(t.s, ["run", "-d", "--rootfs", copyRootfs(t.s), "--log-driver", "syslog", ...opts.flatMap((o) => ["--log-opt", o]), "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(text);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    };
    await refused(["syslog-address=http://1.2.3.4"], "unsupported scheme: 'http'");
    await refused(["syslog-address=unixgram:///no/such/socket"], "/no/such/socket");
    await refused(["syslog-address=udp://1.2.3.4:99999"], "syslog-address");
    await refused(["syslog-address=udp://1.2.3.4", "syslog-facility=nope"], "syslog facility");
    await refused(["syslog-address=udp://1.2.3.4", "syslog-format=rfc9999"], "syslog format");
    await refused(["syslog-address=udp://1.2.3.4", "max-size=1m"], "unknown log opt 'max-size' for syslog log driver");
    await refused(["syslog-address=udp://1.2.3.4", "tag={{.Config.Env}}"], "tag");
    expect((await box(t.s, ["ps", "-aq"])).stdout).toBe("");
  });
});

describe("--log-driver journald", () => {
  const journal = "/run/systemd/journal/socket";
  if (existsSync(journal)) {
    test("each line goes to the journal, with the container's fields", async () => {
      const id = await runDetached(t.s, ["--name", "jr", "--log-driver", "journald"], "echo to-the-journal; exec sleep 30");
      const entries = async () => (Bun.spawnSync(["journalctl", "-o", "json", `CONTAINER_ID_FULL=${id}`]).stdout.toString());
      await eventually(async () => (await entries()).includes("to-the-journal"), 10_000);
      const entry = JSON.parse((await entries()).trim().split("\n")[0]!);
      expect(entry).toMatchObject({ MESSAGE: "to-the-journal", PRIORITY: "6", CONTAINER_ID: id.slice(0, 12), CONTAINER_NAME: "jr", CONTAINER_TAG: id.slice(0, 12) });
      expect((await box(t.s, ["rm", "-f", "jr"])).code).toBe(0);
    });
  } else {
    // No journald to deliver to on this host: what can be checked is the refusal.
    test(`refused with one line where there is no journald (${journal} is missing on this host)`, async () => {
      const r = await box(t.s, ["run", "-d", "--rootfs", copyRootfs(t.s), "--log-driver", "journald", "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`box: --log-driver journald: journald is not enabled on this host (no ${journal})\n`);
      expect((await box(t.s, ["ps", "-aq"])).stdout).toBe("");
    });
  }
});
