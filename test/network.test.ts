// Bridge networking: real traffic between the host and containers on this machine only (the
// loopback range, box's bridge and the containers' own namespaces), published ports, address
// leases, and what is left afterwards (links, nftables rules and leases are checked after every
// test by the store's leak check).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, containerState, copyRootfs, eventually, freePorts, httpGet, runDetached, importBusybox, nftRules, removeNetworks, removeStore, staticHelper, storePerTest, tempStore } from "./helpers/box.ts";

const t = storePerTest();

const runD = (flags: string[], script: string) => runDetached(t.s, flags, script);

async function inspect(id: string, template: string): Promise<string> {
  const r = await box(t.s, ["inspect", "-f", template, id]);
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

/** A port above the usual ephemeral range's start that nothing here listens on (probabilistic, checked by bind). */
/** httpd in the container serving `text` at /index.html. */
const HTTPD = "mkdir -p /www && echo \"$TEXT\" > /www/index.html && exec httpd -f -p 80 -h /www";

/** An IPv4 address of the host other than loopback and box's bridges (the host "as other hosts see it"). */
function hostAddress(): string | undefined {
  const out = Bun.spawnSync(["ip", "-4", "-o", "addr", "show", "scope", "global"]).stdout.toString();
  return out
    .split("\n")
    .filter((l) => l && !/\bbox\d+\b/.test(l))
    .map((l) => l.split(/\s+/)[3]?.split("/")[0])
    .find(Boolean);
}

/** busybox's nc speaks no UDP: a tiny static echo server. */
const udpEcho = () => staticHelper("udp-echo");

describe("bridge network (the default)", () => {
  test("eth0 has an address of the bridge's subnet, a default route via the gateway, the host's MTU", async () => {
    const r = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", "ls /sys/class/net; cat /sys/class/net/eth0/mtu; ip -4 -o addr show eth0; ip route"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [links1, links2, mtu, addr, ...routes] = r.stdout.trim().split("\n");
    expect([links1, links2]).toEqual(["eth0", "lo"]);
    const net = JSON.parse(await Bun.file(join(t.s.root, "networks/bridge/config.json")).text());
    expect(Number(mtu)).toBe(Number(readHostMtu()));
    expect(addr).toContain(`inet ${net.subnet.split(".").slice(0, 2).join(".")}.`);
    expect(routes[0]).toBe(`default via ${net.gateway} dev eth0 `);
    // The bridge on the host: up, with the gateway's address.
    const bridge = Bun.spawnSync(["ip", "-4", "-o", "addr", "show", "dev", net.bridge]).stdout.toString();
    expect(bridge).toContain(`inet ${net.gateway}/16`);
  });

  test("the host reaches the container by its address, and the container a server on the host's bridge address", async () => {
    const id = await runD(["-e", "TEXT=from-container"], HTTPD);
    const ip = await inspect(id, "{{.NetworkSettings.IPAddress}}");
    const gateway = await inspect(id, "{{.NetworkSettings.Gateway}}");
    await eventually(async () => (await httpGet(`http://${ip}/index.html`).catch(() => "")) === "from-container");
    const server = Bun.serve({ hostname: gateway, port: 0, fetch: () => new Response("from-host") });
    try {
      const r = await box(t.s, ["exec", id, "wget", "-qO-", `http://${gateway}:${server.port}/`]);
      expect(r.stdout).toBe("from-host");
    } finally {
      server.stop(true);
    }
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });

  test("containers on the bridge reach each other by address", async () => {
    const a = await runD(["-e", "TEXT=from-a"], HTTPD);
    const ipA = await inspect(a, "{{.NetworkSettings.IPAddress}}");
    const r = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", `for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://${ipA}/index.html && break; sleep 0.2; done`]);
    expect(r.stdout.trim()).toBe("from-a");
    expect((await box(t.s, ["rm", "-f", a])).code).toBe(0);
  });

  test("20 containers started in parallel get 20 different addresses, and give them back", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => runD([], "exec sleep 30")));
    const ips = await Promise.all(ids.map((id) => inspect(id, "{{.NetworkSettings.IPAddress}}")));
    expect(new Set(ips).size).toBe(20);
    expect(readdirSync(join(t.s.root, "networks/bridge/leases")).sort()).toEqual([...ips].sort());
    expect((await box(t.s, ["rm", "-f", ...ids])).code).toBe(0);
    expect(readdirSync(join(t.s.root, "networks/bridge/leases"))).toEqual([]);
  });

  test("--network none has only lo, and makes no bridge", async () => {
    const r = await box(t.s, ["run", "--rm", "--network", "none", "--rootfs", copyRootfs(t.s), "ls", "/sys/class/net"]);
    expect(r.stdout).toBe("lo\n");
    expect(existsSync(join(t.s.root, "networks/bridge"))).toBe(false);
  });
});

describe("published ports", () => {
  test("-p HOST:CONTAINER: reachable on 127.0.0.1 and on the host's address; the rules go with rm", async () => {
    const port = freePorts(1);
    const id = await runD(["-p", `${port}:80`, "-e", "TEXT=published"], HTTPD);
    expect(await inspect(id, "{{json .NetworkSettings.Ports}}")).toBe(`{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"${port}"}]}`);
    await eventually(async () => (await httpGet(`http://127.0.0.1:${port}/index.html`).catch(() => "")) === "published");
    const host = hostAddress() ?? (await inspect(id, "{{.NetworkSettings.Gateway}}"));
    expect(await httpGet(`http://${host}:${port}/index.html`)).toBe("published");
    expect((await box(t.s, ["ps", "--format", "{{.Ports}}"])).stdout).toBe(`0.0.0.0:${port}->80/tcp\n`);
    // Tagged with the owner, the port and the bridge (a deleted store's are found by the bridge).
    const bridge = await inspect(id, "{{.NetworkSettings.Bridge}}");
    expect(nftRules().filter((r) => r === `box container ${id} tcp/${port} ${bridge}`)).toHaveLength(2);
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
    expect(nftRules().filter((r) => r.includes(id))).toEqual([]);
    await expect(httpGet(`http://127.0.0.1:${port}/index.html`)).rejects.toThrow();
  });

  test("a stopped container's published port refuses at once; box start publishes it again", async () => {
    const port = freePorts(1);
    const id = await runD(["-p", `${port}:80`, "-e", "TEXT=back"], HTTPD);
    await eventually(async () => (await httpGet(`http://127.0.0.1:${port}/index.html`).catch(() => "")) === "back");
    expect((await box(t.s, ["stop", "-t", "1", id])).code).toBe(0);
    // Refused (ECONNREFUSED from the host's own stack), not left to time out at the absent address.
    const start = Date.now();
    const refused = await new Promise<string>((resolve) => {
      const socket = require("node:net").connect({ host: "127.0.0.1", port });
      socket.on("connect", () => (socket.destroy(), resolve("connected")));
      socket.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    expect(refused).toBe("ECONNREFUSED");
    expect(Date.now() - start).toBeLessThan(1000);
    expect(nftRules().filter((r) => r.includes(id))).toEqual([]);
    expect((await box(t.s, ["start", id])).code).toBe(0);
    await eventually(async () => (await httpGet(`http://127.0.0.1:${port}/index.html`).catch(() => "")) === "back");
    // The port stayed the container's while it was stopped.
    expect((await box(t.s, ["port", id])).stdout).toBe(`80/tcp -> 0.0.0.0:${port}\n`);
    await box(t.s, ["rm", "-f", id]);
  });

  test("a container that ends by itself withdraws its published ports' rules: the native watcher's end, and the Bun init's (--restart)", async () => {
    // 40 ports (80 rules) for the watcher: what it lists at its end, not handles kept from its start.
    const watched = freePorts(41);
    const kept = watched + 40;
    const a = await runD(["-p", `${watched}-${watched + 39}:1000-1039`], "sleep 0.5; exit 3");
    const b = await runD(["-p", `${kept}:80`, "--restart", "on-failure:1"], "sleep 0.5; exit 3");
    expect(nftRules().filter((r) => r.includes(a) || r.includes(b))).toHaveLength(82);
    await eventually(async () => (await box(t.s, ["ps", "-aq", "--filter", "status=exited"])).stdout.split("\n").filter(Boolean).length === 2, 8000);
    // Nothing asked for it (no stop, wait or ps): the end itself took the rules.
    expect(nftRules().filter((r) => r.includes(a) || r.includes(b))).toEqual([]);
    // The ports stay the containers' until rm (as Docker's): start publishes them again.
    expect((await box(t.s, ["port", a, "1000"])).stdout).toBe(`0.0.0.0:${watched}\n`);
    await box(t.s, ["rm", a, b]);
  }, 20000);

  test("-p HOST:CONTAINER/udp: datagrams to 127.0.0.1 and to the host's address reach the container, and its answers come back", async () => {
    const port = freePorts(1);
    const id = await runD(["-p", `${port}:5000/udp`, "-v", `${udpEcho()}:/udp-echo:ro`], "exec /udp-echo 5000");
    const host = hostAddress() ?? (await inspect(id, "{{.NetworkSettings.Gateway}}"));
    for (const address of ["127.0.0.1", host]) {
      const answers: string[] = [];
      const socket = await Bun.udpSocket({ socket: { data: (_s, data) => void answers.push(Buffer.from(data).toString()) } });
      try {
        await eventually(() => {
          socket.send(`ping ${address}`, port, address);
          return answers.length > 0;
        });
        expect(answers[0]).toBe(`echo:ping ${address}`);
      } finally {
        socket.close();
      }
    }
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });

  test("-p IP:HOST:CONTAINER publishes on that address only", async () => {
    const port = freePorts(1);
    const id = await runD(["-p", `127.0.0.1:${port}:80`, "-e", "TEXT=local-only"], HTTPD);
    await eventually(async () => (await httpGet(`http://127.0.0.1:${port}/index.html`).catch(() => "")) === "local-only");
    const gateway = await inspect(id, "{{.NetworkSettings.Gateway}}");
    await expect(httpGet(`http://${gateway}:${port}/index.html`)).rejects.toThrow();
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });

  test("100 MB through a published port arrive intact", async () => {
    const port = freePorts(1);
    const rootfs = copyRootfs(t.s);
    const data = Buffer.alloc(100 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    mkdirSync(join(rootfs, "www"), { recursive: true });
    writeFileSync(join(rootfs, "www/big"), data);
    const r = await box(t.s, ["run", "-d", "--rootfs", rootfs, "-p", `${port}:80`, "httpd", "-f", "-p", "80", "-h", "/www"]);
    const id = r.stdout.trim();
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/nothing`).catch(() => undefined)) !== undefined);
    const body = Buffer.from(await (await fetch(`http://127.0.0.1:${port}/big`)).arrayBuffer());
    expect(body.length).toBe(data.length);
    expect(createHash("sha256").update(body).digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  }, 60000);

  test("a port another container publishes, or a host program listens on, is refused before the container starts", async () => {
    const port = freePorts(1);
    const first = await runD(["-p", `${port}:80`], "exec sleep 30");
    const clash = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "-p", `${port}:80`, "true"]);
    expect(clash.code).toBe(125);
    expect(clash.stderr).toBe(`box: bind for 0.0.0.0:${port}/tcp failed: port is already allocated to container ${first.slice(0, 12)}\n`);
    // Another store on the machine sees it too: box's nftables table is the record all share.
    const other = tempStore();
    try {
      const r = await box(other, ["run", "--rm", "--rootfs", copyRootfs(other), "-p", `${port}:80`, "true"]);
      expect(r.stderr).toBe(`box: bind for 0.0.0.0:${port}/tcp failed: port is already allocated to container ${first.slice(0, 12)}\n`);
      expect(r.code).toBe(125);
    } finally {
      await removeNetworks(other);
      removeStore(other);
    }
    expect((await box(t.s, ["rm", "-f", first])).code).toBe(0);

    const busy = freePorts(1);
    const listener = Bun.listen({ hostname: "0.0.0.0", port: busy, socket: { data() {} } });
    try {
      const r = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "-p", `${busy}:80`, "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`box: bind for 0.0.0.0:${busy}/tcp failed: port is already in use on the host\n`);
    } finally {
      listener.stop(true);
    }
    expect((await box(t.s, ["ps", "-aq"])).stdout).toBe("");
  });

  test("-p CONTAINER and -P (the image's EXPOSE, --expose) publish on free host ports; box port lists them", async () => {
    expect((await importBusybox(t.s, "web", ["--change", "EXPOSE 80", "--change", "EXPOSE 5000/udp"])).code).toBe(0);
    const r = await box(t.s, ["run", "-d", "-P", "--expose", "81", "-p", "127.0.0.1::82", "-e", "TEXT=any-port", "web", "/bin/sh", "-c", HTTPD]);
    expect(r.stderr).toBe("");
    const id = r.stdout.trim();
    const lines = (await box(t.s, ["port", id])).stdout.trim().split("\n").sort();
    expect(lines).toHaveLength(4);
    const published = Object.fromEntries(lines.map((l) => l.split(" -> ") as [string, string]));
    expect(Object.keys(published).sort()).toEqual(["5000/udp", "80/tcp", "81/tcp", "82/tcp"]);
    expect(published["82/tcp"]).toMatch(/^127\.0\.0\.1:\d+$/);
    for (const hostPort of Object.values(published)) expect(Number(hostPort.split(":")[1])).toBeGreaterThanOrEqual(32768);
    const port80 = (await box(t.s, ["port", id, "80"])).stdout.trim();
    expect(port80).toBe(published["80/tcp"]!);
    await eventually(async () => (await httpGet(`http://127.0.0.1:${port80.split(":")[1]}/index.html`).catch(() => "")) === "any-port");
    // -p's first, then the image's EXPOSE (its config's keys in Go's order) and --expose.
    expect(await inspect(id, "{{json .HostConfig.PortBindings}}")).toBe(`{"82/tcp":[{"HostIp":"127.0.0.1","HostPort":"0"}],"5000/udp":[{"HostIp":"","HostPort":"0"}],"80/tcp":[{"HostIp":"","HostPort":"0"}],"81/tcp":[{"HostIp":"","HostPort":"0"}]}`);
    const none = await box(t.s, ["port", id, "9999"]);
    expect(none.stderr).toBe(`box: no public port '9999/tcp' published for ${(await inspect(id, "{{.Name}}")).slice(1)}\n`);
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
    expect(readdirSync(join(t.s.root, "networks/ports"))).toEqual([]);
    expect((await box(t.s, ["rmi", "web"])).code).toBe(0);
  });

  test("bad --publish values and modes: one line each, exit 125", async () => {
    const cases: Array<[string[], string]> = [
      [["-p", "1:2:3:4"], "invalid --publish 1:2:3:4: [[IP:]HOST_PORT:]CONTAINER_PORT[/tcp|udp]"],
      [["--expose", "80/sctp"], `invalid --expose "80/sctp": PORT[-LAST] or PORT[-LAST]/tcp|udp`],
      [["-p", "0:80"], `invalid port "0" in --publish 0:80: a number from 1 to 65535`],
      [["-p", "70000:80"], `invalid port "70000" in --publish 70000:80: a number from 1 to 65535`],
      [["-p", "8080:80/sctp"], "invalid protocol in --publish 8080:80/sctp: tcp or udp"],
      [["-p", "300.1.1.1:8080:80"], `invalid IP address "300.1.1.1" in --publish 300.1.1.1:8080:80`],
      [["-p", "8080:80", "-p", "8080:81"], "--publish: host port 8080/tcp is given twice"],
      [["--network", "none", "-p", "8080:80"], "--publish needs a bridge network (not --network none)"],
      [["--network", "nosuch"], "network nosuch not found"],
      [["--network", "a/b"], `invalid --network "a/b": bridge, none, host, container:NAME or a network's name`],
    ];
    for (const [flags, message] of cases) {
      const r = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), ...flags, "true"]);
      expect(r.stderr).toBe(`box: ${message}\n`);
      expect(r.code).toBe(125);
    }
  });
});

describe("user-defined networks", () => {
  test("containers find each other by name through /etc/hosts, kept current as they come and go", async () => {
    expect((await box(t.s, ["network", "create", "--subnet", "10.77.0.0/24", "backend"])).stdout).toBe("backend\n");
    const a = await runD(["--name", "alpha", "--network", "backend", "-e", "TEXT=from-alpha"], HTTPD);
    expect(await inspect(a, "{{.NetworkSettings.IPAddress}}")).toBe("10.77.0.2");
    const b = await runD(["--name", "beta", "--network", "backend"], "exec sleep 30");
    // The newcomer knows alpha; alpha, running already, learnt of beta.
    const fromBeta = await box(t.s, ["exec", b, "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://alpha/index.html && break; sleep 0.2; done"]);
    expect(fromBeta.stdout.trim()).toBe("from-alpha");
    expect((await box(t.s, ["exec", a, "ping", "-c1", "-W1", "beta"])).stdout).toContain("10.77.0.3");
    // Its own name resolves too, and network inspect lists both.
    expect((await box(t.s, ["exec", a, "ping", "-c1", "-W1", "alpha"])).stdout).toContain("10.77.0.2");
    const [net] = JSON.parse((await box(t.s, ["network", "inspect", "backend"])).stdout);
    expect(Object.values(net.Containers).map((c: any) => `${c.Name} ${c.IPv4Address}`).sort()).toEqual(["alpha 10.77.0.2/24", "beta 10.77.0.3/24"]);
    // The default bridge does no such thing (as Docker's): its containers are not in the list.
    const other = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "cat", "/etc/hosts"]);
    expect(other.stdout).not.toContain("alpha");
    expect((await box(t.s, ["rm", "-f", b])).code).toBe(0);
    expect((await box(t.s, ["exec", a, "cat", "/etc/hosts"])).stdout).not.toContain("beta");
    expect((await box(t.s, ["rm", "-f", a])).code).toBe(0);
  });

  test("ls, inspect; bad names and subnets are refused with one line", async () => {
    expect((await box(t.s, ["network", "create", "front"])).code).toBe(0);
    const ls = await box(t.s, ["network", "ls"]);
    expect(ls.stdout).toMatch(/^NETWORK ID +NAME +DRIVER +SCOPE\n[0-9a-f]{12} +front +bridge +local\n$/);
    const [info] = JSON.parse((await box(t.s, ["network", "inspect", "front"])).stdout);
    expect(info.Name).toBe("front");
    expect(info.IPAM.Config[0].Subnet).toMatch(/^10\.\d+\.0\.0\/16$/);
    const cases: Array<[string[], string]> = [
      [["create", "front"], "network with name front already exists"],
      [["create", "bridge"], `network name "bridge" is reserved (with --subnet it sets the default network's subnet, before its first use)`],
      [["create", "a/b"], `invalid network name "a/b": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`],
      [["create", "--subnet", "10.77.0.1/24", "x"], `invalid subnet "10.77.0.1/24": it has host bits set (the network is 10.77.0.0/24)`],
      [["create", "--subnet", "10.77.0.0/31", "x"], `invalid subnet "10.77.0.0/31": an IPv4 network like 10.50.0.0/24 (prefix 8 to 29)`],
      [["create", "--subnet", "10.77.0.0/24", "--gateway", "10.78.0.1", "x"], `invalid gateway "10.78.0.1": an address of 10.77.0.0/24`],
      [["create", "--subnet", info.IPAM.Config[0].Subnet, "x"], `subnet ${info.IPAM.Config[0].Subnet} cannot be used: it overlaps a route of the host (${info.IPAM.Config[0].Subnet})`],
      [["create", "--subnet", "127.0.0.0/8", "x"], "subnet 127.0.0.0/8 cannot be used: it overlaps 127.0.0.0/8, which is no network for containers"],
      [["create", "--subnet", "224.0.0.0/24", "x"], "subnet 224.0.0.0/24 cannot be used: it overlaps 224.0.0.0/4, which is no network for containers"],
      [["create", "--subnet", "169.254.0.0/16", "x"], "subnet 169.254.0.0/16 cannot be used: it overlaps 169.254.0.0/16, which is no network for containers"],
      [["create", "ports"], `network name "ports" is reserved`],
      [["rm", "../containers"], "network ../containers not found"],
      [["inspect", "nosuch"], "no such network: nosuch"],
      [["rm", "nosuch"], "network nosuch not found"],
    ];
    for (const [args, message] of cases) {
      const r = await box(t.s, ["network", ...args]);
      expect(r.stderr).toBe(`box: ${message}\n`);
      expect(r.code).toBe(125);
    }
  });
});

describe("the default network's subnet", () => {
  test("box network create --subnet CIDR bridge sets it before its first use; names do not resolve there", async () => {
    expect((await box(t.s, ["network", "create", "--subnet", "10.78.0.0/24", "bridge"])).code).toBe(0);
    const a = await runD(["--name", "first"], "exec sleep 30");
    expect(await inspect(a, "{{.NetworkSettings.IPAddress}}")).toBe("10.78.0.2");
    const r = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "cat", "/etc/hosts"]);
    expect(r.stdout).not.toContain("first");
    const again = await box(t.s, ["network", "create", "--subnet", "10.79.0.0/24", "bridge"]);
    expect(again.stderr).toBe("box: network with name bridge already exists\n");
    expect((await box(t.s, ["rm", "-f", a])).code).toBe(0);
  });
});

describe("isolation and restarts", () => {
  test("a container of one network cannot open connections into another's bridge; its own still can", async () => {
    const a = await runD(["-e", "TEXT=on-default"], HTTPD);
    const ipA = await inspect(a, "{{.NetworkSettings.IPAddress}}");
    await eventually(async () => (await httpGet(`http://${ipA}/index.html`).catch(() => "")) === "on-default");
    expect((await box(t.s, ["network", "create", "isolated"])).code).toBe(0);
    const r = await box(t.s, ["run", "--rm", "--network", "isolated", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", `echo | nc -w 2 ${ipA} 80 && echo reached || echo refused`]);
    expect(r.stdout.trim()).toBe("refused");
    const same = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", `echo | nc -w 2 ${ipA} 80 >/dev/null && echo reached`]);
    expect(same.stdout.trim()).toBe("reached");
    expect((await box(t.s, ["rm", "-f", a])).code).toBe(0);
  });

  test("a restarted container keeps its address and MAC, and is reachable again at once", async () => {
    const port = freePorts(1);
    const id = await runD(["-p", `${port}:80`, "-e", "TEXT=again"], HTTPD);
    const ip = await inspect(id, "{{.NetworkSettings.IPAddress}}");
    const mac = await inspect(id, "{{.NetworkSettings.MacAddress}}");
    expect(mac).toBe(`02:42:${ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join(":")}`);
    await eventually(async () => (await httpGet(`http://127.0.0.1:${port}/index.html`).catch(() => "")) === "again");
    expect((await box(t.s, ["restart", "-t", "0", id])).code).toBe(0);
    expect(await inspect(id, "{{.NetworkSettings.IPAddress}}")).toBe(ip);
    expect((await box(t.s, ["exec", id, "cat", "/sys/class/net/eth0/address"])).stdout.trim()).toBe(mac);
    // Within a second or two (a new MAC would leave the host's neighbour entry stale for far longer).
    await eventually(async () => (await httpGet(`http://127.0.0.1:${port}/index.html`).catch(() => "")) === "again", 3000);
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });

  test("box's guard rules are in place: packets from a bridge to 127.0.0.0/8 are dropped before any NAT", async () => {
    const id = await runD([], "exec sleep 30");
    const bridge = await inspect(id, "{{.NetworkSettings.Bridge}}");
    const guard = Bun.spawnSync(["nft", "list", "chain", "ip", "box", "guard"]).stdout.toString();
    expect(guard).toContain("type filter hook prerouting priority mangle");
    expect(guard).toContain(`iifname "${bridge}" ip daddr 127.0.0.0/8 drop comment "box network ${bridge}"`);
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });
});

describe("other modes and resolver settings", () => {
  test("--network container:NAME shares that container's network namespace and hostname", async () => {
    const a = await runD(["--name", "alpha", "--hostname", "alpha-host"], "exec sleep 30");
    const netns = (await box(t.s, ["exec", a, "readlink", "/proc/self/ns/net"])).stdout;
    const r = await box(t.s, ["run", "--rm", "--network", "container:alpha", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", "readlink /proc/self/ns/net; hostname"]);
    expect(r.stdout).toBe(`${netns}alpha-host\n`);
    for (const flags of [["--hostname", "x"], ["--dns", "192.0.2.53"], ["-p", "8080:80"]]) {
      const conflict = await box(t.s, ["run", "--rm", "--network", "container:alpha", ...flags, "--rootfs", copyRootfs(t.s), "true"]);
      expect(conflict.stderr).toBe(`box: conflicting options: ${flags[0] === "-p" ? "--publish" : flags[0]} and --network container:NAME\n`);
    }
    expect((await box(t.s, ["stop", "-t", "0", a])).code).toBe(0);
    const stopped = await box(t.s, ["run", "--rm", "--network", "container:alpha", "--rootfs", copyRootfs(t.s), "true"]);
    expect(stopped.stderr).toBe(`box: cannot join the network of container ${a.slice(0, 12)}: it is not running\n`);
    expect(stopped.code).toBe(125);
    expect((await box(t.s, ["rm", a])).code).toBe(0);
  });

  test("--dns, --dns-search, --dns-option and --add-host (host-gateway is the bridge's address)", async () => {
    const r = await box(t.s, ["run", "--rm", "--dns", "192.0.2.53", "--dns-search", "example.com", "--dns-option", "ndots:2", "--add-host", "db:10.1.2.3", "--add-host", "gw:host-gateway", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", "cat /etc/resolv.conf; tail -2 /etc/hosts; ip route | head -1"]);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual(["search example.com", "nameserver 192.0.2.53", "options ndots:2"]);
    expect(lines[3]).toBe("10.1.2.3\tdb");
    const gateway = lines[5]!.split(" ")[2];
    expect(lines[4]).toBe(`${gateway}\tgw`);
    for (const [flags, message] of [
      [["--dns", "not-an-ip"], `invalid --dns "not-an-ip": an IP address`],
      [["--add-host", "db"], `invalid --add-host "db": NAME:IP (IP may be host-gateway)`],
      [["--add-host", "bad name:1.2.3.4"], `invalid --add-host "bad name:1.2.3.4": NAME:IP (IP may be host-gateway)`],
    ] as Array<[string[], string]>) {
      const bad = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), ...flags, "true"]);
      expect(bad.stderr).toBe(`box: ${message}\n`);
      expect(bad.code).toBe(125);
    }
  });
});

describe("cleanup", () => {
  test("box system prune removes stopped containers and unused networks, and box's table with the last", async () => {
    expect((await box(t.s, ["network", "create", "spare"])).code).toBe(0);
    const kept = await runD([], "exec sleep 30");
    const gone = (await box(t.s, ["create", "--rootfs", copyRootfs(t.s), "--network", "spare", "true"])).stdout.trim();
    const refused = await box(t.s, ["system", "prune"]);
    expect(refused.stderr).toBe("box: box system prune removes every stopped container, every network no container uses, every dangling image, all build cache: confirm with -f\n");
    const r = await box(t.s, ["system", "prune", "-f"]);
    expect(r.stdout).toBe(`Deleted Containers:\n${gone}\n\nDeleted Networks:\nspare\n\n`);
    expect((await box(t.s, ["network", "ls", "--format", "{{.Name}}"])).stdout).toBe("bridge\n");
    expect((await box(t.s, ["rm", "-f", kept])).code).toBe(0);
    const bridge = JSON.parse(await Bun.file(join(t.s.root, "networks/bridge/config.json")).text()).bridge;
    expect((await box(t.s, ["system", "prune", "-f"])).stdout).toBe("Deleted Networks:\nbridge\n\n");
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
    if (!nftRules().length) expect(Bun.spawnSync(["nft", "list", "table", "ip", "box"], { stderr: "ignore" }).exitCode).not.toBe(0);
  });

  test("a failed start gives back the address and ports; nothing of it is left", async () => {
    const port = freePorts(1);
    const r = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "-p", `${port}:80`, "/no/such/command"]);
    expect(r.code).toBe(127);
    expect(readdirSync(join(t.s.root, "networks/bridge/leases"))).toEqual([]);
    expect(readdirSync(join(t.s.root, "networks/ports"))).toEqual([]);
  });

  test("a link of the veth's name that is not box's is left alone: the start fails with one line", async () => {
    const id = (await box(t.s, ["create", "--rootfs", copyRootfs(t.s), "true"])).stdout.trim();
    const name = `veth${id.slice(0, 11)}`;
    // A bridge: this kernel has no dummy links, and any kind of link will do.
    expect(Bun.spawnSync(["ip", "link", "add", name, "type", "bridge"]).exitCode).toBe(0);
    try {
      const r = await box(t.s, ["start", "-a", id]);
      expect(r.stderr).toBe(`box: create veth: a link named ${name} already exists\n`);
      expect(r.code).toBe(125);
      expect(existsSync(`/sys/class/net/${name}`)).toBe(true);
    } finally {
      Bun.spawnSync(["ip", "link", "del", name]);
    }
    expect((await box(t.s, ["rm", id])).code).toBe(0);
  });

  for (const [what, flags] of [["native watcher (-d)", []], ["init (-d --rm, which keeps a Bun init)", ["--rm"]]] as const) {
    test(`a container whose ${what} was SIGKILLed: the veth goes, and box rm gives back address, port and rules`, async () => {
      const port = freePorts(1);
      const id = await runD(["-p", `${port}:80`, ...flags], "exec sleep 30");
      await Bun.sleep(100);
      const pid = containerState(t.s, id).pid;
      process.kill(pid, "SIGKILL");
      await eventually(async () => (await box(t.s, ["ps", "-a", "--format", "{{.Status}}"])).stdout.startsWith("Exited"));
      await eventually(() => !existsSync(`/sys/class/net/veth${id.slice(0, 11)}`));
      expect(nftRules().some((r) => r.startsWith(`box container ${id} tcp/${port} `))).toBe(true);
      expect((await box(t.s, ["rm", id])).code).toBe(0);
      expect(nftRules().filter((r) => r.includes(id))).toEqual([]);
      expect(readdirSync(join(t.s.root, "networks/bridge/leases"))).toEqual([]);
      expect(readdirSync(join(t.s.root, "networks/ports"))).toEqual([]);
    });
  }

  test("box network rm refuses while a container holds an address, then removes the bridge and its rules", async () => {
    const id = await runD([], "exec sleep 30");
    const bridge = JSON.parse(await Bun.file(join(t.s.root, "networks/bridge/config.json")).text()).bridge;
    const busy = await box(t.s, ["network", "rm", "bridge"]);
    expect(busy.stderr).toBe("box: network bridge has active endpoints (1 container)\n");
    expect(busy.code).toBe(125);
    expect((await box(t.s, ["network", "ls", "--format", "{{.Name}}"])).stdout).toBe("bridge\n");
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
    // By the id `network ls -q` prints, as a script would: $(box network ls -q).
    const netId = (await box(t.s, ["network", "ls", "-q"])).stdout.trim();
    expect(netId).toMatch(/^[0-9a-f]{12}$/);
    expect((await box(t.s, ["network", "rm", netId])).stdout).toBe(`${netId}\n`);
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
    expect(nftRules()).not.toContain(`box network ${bridge}`);
  });
});

function readHostMtu(): string {
  const route = Bun.spawnSync(["ip", "-4", "route", "show", "default"]).stdout.toString();
  const dev = route.match(/dev (\S+)/)?.[1];
  return dev ? Bun.spawnSync(["cat", `/sys/class/net/${dev}/mtu`]).stdout.toString().trim() : "1500";
}
