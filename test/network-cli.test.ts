// Docker's network flags and commands beyond --network and -p PORT: --ip, --network-alias,
// --mac-address, port ranges, box network connect/disconnect/prune. Real containers on real
// bridges; what each observes (its links, its /etc/hosts, what it reaches by name) is asserted
// from inside and from the host, and the store's leak check runs after every test.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { box, copyRootfs, eventually, freePorts, httpGet, nftRules, runDetached, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

const runD = (flags: string[], script: string) => runDetached(t.s, flags, script);

async function inspect(id: string, template: string): Promise<string> {
  const r = await box(t.s, ["inspect", "-f", template, id]);
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

/** httpd in the container serving $TEXT at /index.html on port $PORT (80 by default). */
const HTTPD = 'mkdir -p /www && echo "$TEXT" > /www/index.html && exec httpd -f -p "${PORT:-80}" -h /www';

/** wget from inside a container, a few tries (the server may still be starting). */
const fetchInside = (url: string) => `(for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- ${url} && exit 0; sleep 0.2; done; exit 1)`;

const leases = (network: string) => readdirSync(join(t.s.root, "networks", network, "leases")).sort();

/** One line on stderr, exit 125, for `box ARGS`. */
async function refused(args: string[], message: string): Promise<void> {
  const r = await box(t.s, args);
  expect(r.stderr).toBe(`box: ${message}\n`);
  expect(r.code).toBe(125);
}

describe("box run --ip, --network-alias, --mac-address", () => {
  test("the address and MAC are eth0's; the name and the aliases resolve for the other members and for itself", async () => {
    expect((await box(t.s, ["network", "create", "--subnet", "10.201.0.0/24", "backend"])).code).toBe(0);
    const id = await runD(["--name", "db", "--network", "backend", "--ip", "10.201.0.77", "--network-alias", "postgres", "--network-alias", "pg", "--mac-address", "92:D0:C6:0A:29:33", "-e", "TEXT=from-db"], HTTPD);
    const inside = await box(t.s, ["exec", id, "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; cat /sys/class/net/eth0/address; grep 10.201.0.77 /etc/hosts"]);
    expect(inside.stdout).toBe(`10.201.0.77/24\n92:d0:c6:0a:29:33\n10.201.0.77\t${id.slice(0, 12)} db postgres pg\n`);
    expect(await inspect(id, "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}} {{json .NetworkSettings.Networks.backend.Aliases}}")).toBe('10.201.0.77 92:d0:c6:0a:29:33 ["postgres","pg"]');
    const [net] = JSON.parse((await box(t.s, ["network", "inspect", "backend"])).stdout);
    expect(net.Containers[id]).toEqual({ Name: "db", MacAddress: "92:d0:c6:0a:29:33", IPv4Address: "10.201.0.77/24", IPv6Address: "" });
    // A peer: the name and each alias reach the server; its /etc/hosts has one line for all three.
    const peer = await box(t.s, ["run", "--rm", "--network", "backend", "--rootfs", copyRootfs(t.s), "sh", "-c", `${fetchInside("http://pg/index.html")} && wget -qO- http://postgres/index.html && wget -qO- http://db/index.html && grep 10.201.0.77 /etc/hosts`]);
    expect(peer.stdout).toBe("from-db\nfrom-db\nfrom-db\n10.201.0.77\tdb postgres pg\n");
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
    expect(leases("backend")).toEqual([]);
  });

  test("bad values and modes: one line each, exit 125, nothing made", async () => {
    expect((await box(t.s, ["network", "create", "--subnet", "10.201.0.0/24", "backend"])).code).toBe(0);
    const holder = (await box(t.s, ["create", "--network", "backend", "--ip", "10.201.0.9", "--rootfs", copyRootfs(t.s), "true"])).stdout.trim();
    const cases: Array<[string[], string]> = [
      [["--ip", "10.201.0.9", "--network", "backend"], "Address already in use: 10.201.0.9 (network backend)"],
      [["--ip", "10.201.0.1", "--network", "backend"], "Address already in use: 10.201.0.1 (network backend)"],
      [["--ip", "10.202.0.5", "--network", "backend"], "invalid address 10.202.0.5: It does not belong to any of this network's subnets (backend: 10.201.0.0/24)"],
      [["--ip", "10.201.0.255", "--network", "backend"], "invalid address 10.201.0.255: It does not belong to any of this network's subnets (backend: 10.201.0.0/24)"],
      [["--ip", "10.201.0", "--network", "backend"], `invalid argument "10.201.0" for "--ip" flag: an IPv4 address`],
      [["--ip", "10.201.0.5"], "user specified IP address is supported on user defined networks only"],
      [["--ip", "10.201.0.5", "--network", "host"], "user specified IP address is supported on user defined networks only"],
      [["--network-alias", "db"], "network-scoped aliases are only supported for user-defined networks"],
      [["--network-alias", "a b", "--network", "backend"], `invalid --network-alias "a b": letters, digits and _ . - (not first)`],
      [["--mac-address", "92:d0:c6:0a:29"], "92:d0:c6:0a:29 is not a valid mac address"],
      [["--mac-address", "01:00:5e:00:00:01"], "invalid --mac-address 01:00:5e:00:00:01: a container's MAC must be a unicast address other than 00:00:00:00:00:00"],
      [["--mac-address", "92:d0:c6:0a:29:33", "--network", "none"], "conflicting options: --mac-address and --network none"],
    ];
    for (const [flags, message] of cases) await refused(["run", "--rm", "--rootfs", copyRootfs(t.s), ...flags, "true"], message);
    expect((await box(t.s, ["ps", "-aq", "--no-trunc"])).stdout).toBe(`${holder}\n`);
    expect(leases("backend")).toEqual(["10.201.0.9"]);
    expect(readdirSync(join(t.s.root, "networks"))).not.toContain("bridge");
    expect((await box(t.s, ["rm", holder])).code).toBe(0);
  });
});

describe("port ranges", () => {
  test("-p H-H+1:C-C+1 maps port to port, -p H-H+5:C takes a free port of the range, --expose takes a range", async () => {
    const first = freePorts(2);
    const span = freePorts(6);
    const id = await runD(["-p", `${first}-${first + 1}:80-81`, "-p", `${span}-${span + 5}:90`, "--expose", "3000-3002/udp", "-e", "TEXT=eighty"], `${HTTPD.replace("exec ", "")} & mkdir -p /w81 && echo eighty-one > /w81/index.html && httpd -f -p 81 -h /w81 & wait`);
    await eventually(async () => (await httpGet(`http://127.0.0.1:${first}/index.html`).catch(() => "")) === "eighty");
    await eventually(async () => (await httpGet(`http://127.0.0.1:${first + 1}/index.html`).catch(() => "")) === "eighty-one");
    const ports = (await box(t.s, ["port", id])).stdout;
    expect(ports).toBe(`80/tcp -> 0.0.0.0:${first}\n81/tcp -> 0.0.0.0:${first + 1}\n90/tcp -> 0.0.0.0:${span}\n`);
    expect(await inspect(id, '{{json (index .HostConfig.PortBindings "90/tcp")}} {{json .Config.ExposedPorts}}')).toBe(`[{"HostIp":"","HostPort":"${span}-${span + 5}"}] {"3000/udp":{},"3001/udp":{},"3002/udp":{}}`);
    // A second container asking for the same host range gets the next free port of it.
    const second = await runD(["-p", `${span}-${span + 5}:90`], "exec sleep 30");
    expect((await box(t.s, ["port", second, "90"])).stdout).toBe(`0.0.0.0:${span + 1}\n`);
    expect((await box(t.s, ["rm", "-f", id, second])).code).toBe(0);
    expect(readdirSync(join(t.s.root, "networks/ports"))).toEqual([]);
  });

  test("a range of 300 ports: every one published (more rules than one nftables transaction takes), every rule gone with rm", async () => {
    const first = freePorts(300);
    const id = await runD(["-p", `${first}-${first + 299}:1000-1299`], "exec sleep 30");
    const lines = (await box(t.s, ["port", id])).stdout.trim().split("\n");
    expect(lines).toHaveLength(300);
    expect(lines[299]).toBe(`1299/tcp -> 0.0.0.0:${first + 299}`);
    expect(nftRules().filter((r) => r.startsWith(`box container ${id} `))).toHaveLength(600);
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
    expect(nftRules().filter((r) => r.includes(id))).toEqual([]);
  });

  test("ranges that do not fit: one line each, exit 125", async () => {
    const cases: Array<[string[], string]> = [
      [["-p", "8080-8082:80-81"], "invalid ranges specified for container and host Ports: 80-81 and 8080-8082"],
      [["-p", "81-80"], `invalid port range "81-80" in --publish 81-80: FIRST-LAST, FIRST not above LAST`],
      [["-p", "8080-:80"], `invalid port "" in --publish 8080-:80: a number from 1 to 65535`],
      [["-p", "65535-65536:80-81"], `invalid port "65536" in --publish 65535-65536:80-81: a number from 1 to 65535`],
      [["--expose", "3005-3000"], `invalid --expose "3005-3000": PORT[-LAST] or PORT[-LAST]/tcp|udp`],
    ];
    for (const [flags, message] of cases) await refused(["run", "--rm", "--rootfs", copyRootfs(t.s), ...flags, "true"], message);
    expect(existsSync(join(t.s.root, "networks/bridge"))).toBe(false);
  });
});

describe("box network connect and disconnect", () => {
  test("a running container gets a second link that reaches the other network by name, and loses it again", async () => {
    expect((await box(t.s, ["network", "create", "--subnet", "10.202.0.0/24", "backend"])).code).toBe(0);
    const server = await runD(["--name", "api", "--network", "backend", "-e", "TEXT=from-api"], HTTPD);
    const client = await runD(["--name", "web"], "exec sleep 60");
    const cannot = await box(t.s, ["exec", client, "wget", "-T", "1", "-qO-", "http://api/index.html"]);
    expect(cannot.code).not.toBe(0);
    expect((await box(t.s, ["network", "connect", "--ip", "10.202.0.50", "--alias", "front,www", "backend", "web"])).code).toBe(0);
    const links = await box(t.s, ["exec", client, "sh", "-c", "ls /sys/class/net; ip -4 -o addr show eth1 | awk '{print $4}'; ip route | grep default"]);
    expect(links.stdout).toMatch(/^eth0\neth1\nlo\n10\.202\.0\.50\/24\ndefault via \S+ dev eth0 \n$/);
    expect((await box(t.s, ["exec", client, "sh", "-c", fetchInside("http://api/index.html")])).stdout).toBe("from-api\n");
    // The server, running already, learnt the newcomer's name and aliases.
    expect((await box(t.s, ["exec", server, "grep", "10.202.0.50", "/etc/hosts"])).stdout).toBe("10.202.0.50\tweb front www\n");
    const listed = (await box(t.s, ["ps", "--format", "{{.Names}} {{.Networks}}", "--filter", "network=backend"])).stdout.trim().split("\n");
    expect(listed.sort()).toEqual(["api backend", "web bridge,backend"]);
    expect(await inspect(client, "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}")).toMatch(/^backend=10\.202\.0\.50 bridge=10\.\d+\.0\.\d+$/);
    const hostEnd = `veth${client.slice(0, 8)}-1`;
    expect(existsSync(`/sys/class/net/${hostEnd}`)).toBe(true);

    await refused(["network", "connect", "backend", "web"], "endpoint with name web already exists in network backend");
    expect((await box(t.s, ["network", "disconnect", "backend", "web"])).code).toBe(0);
    expect((await box(t.s, ["exec", client, "ls", "/sys/class/net"])).stdout).toBe("eth0\nlo\n");
    expect((await box(t.s, ["exec", client, "grep", "-c", "api", "/etc/hosts"])).stdout).toBe("0\n");
    expect((await box(t.s, ["exec", server, "grep", "-c", "web", "/etc/hosts"])).stdout).toBe("0\n");
    await eventually(() => !existsSync(`/sys/class/net/${hostEnd}`));
    expect(leases("backend")).toEqual([await inspect(server, "{{.NetworkSettings.IPAddress}}")]);
    await refused(["network", "disconnect", "backend", "web"], `container ${client} is not connected to network backend`);
    expect((await box(t.s, ["rm", "-f", server, client])).code).toBe(0);
  });

  test("a stopped container gets its link at its next start; rm gives back every network's address", async () => {
    expect((await box(t.s, ["network", "create", "--subnet", "10.202.0.0/24", "backend"])).code).toBe(0);
    const server = await runD(["--name", "api", "--network", "backend", "-e", "TEXT=from-api"], HTTPD);
    const late = (await box(t.s, ["create", "--name", "late", "--rootfs", copyRootfs(t.s), "sh", "-c", `ls /sys/class/net; ${fetchInside("http://api/index.html")}`])).stdout.trim();
    expect((await box(t.s, ["network", "connect", "backend", "late"])).code).toBe(0);
    const r = await box(t.s, ["start", "-a", "late"]);
    expect(r.stdout).toBe("eth0\neth1\nlo\nfrom-api\n");
    expect(r.code).toBe(0);
    expect(leases("backend")).toHaveLength(2);
    expect((await box(t.s, ["rm", "-f", late, server])).code).toBe(0);
    expect(leases("backend")).toEqual([]);
    expect(leases("bridge")).toEqual([]);
  });

  test("disconnecting its own network hands the default route to the next one", async () => {
    expect((await box(t.s, ["network", "create", "--subnet", "10.202.0.0/24", "backend"])).code).toBe(0);
    const id = await runD([], "exec sleep 60");
    expect((await box(t.s, ["network", "connect", "backend", id])).code).toBe(0);
    expect((await box(t.s, ["network", "disconnect", "bridge", id])).code).toBe(0);
    const r = await box(t.s, ["exec", id, "sh", "-c", "ls /sys/class/net; ip route | grep default"]);
    expect(r.stdout).toBe("eth1\nlo\ndefault via 10.202.0.1 dev eth1 \n");
    expect(leases("bridge")).toEqual([]);
    expect((await box(t.s, ["network", "disconnect", "backend", id])).code).toBe(0);
    expect((await box(t.s, ["exec", id, "ls", "/sys/class/net"])).stdout).toBe("lo\n");
    // With no network left it still starts (with only lo), and may be connected again.
    expect((await box(t.s, ["restart", "-t", "0", id])).code).toBe(0);
    expect((await box(t.s, ["network", "connect", "backend", id])).code).toBe(0);
    expect((await box(t.s, ["exec", id, "sh", "-c", "ls /sys/class/net; ip route | grep default"])).stdout).toBe("eth0\nlo\ndefault via 10.202.0.1 dev eth0 \n");
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });

  test("refusals: one line each, exit 125, nothing changed", async () => {
    expect((await box(t.s, ["network", "create", "--subnet", "10.202.0.0/24", "backend"])).code).toBe(0);
    const host = (await box(t.s, ["create", "--name", "onhost", "--network", "host", "--rootfs", copyRootfs(t.s), "true"])).stdout.trim();
    const none = (await box(t.s, ["create", "--name", "alone", "--network", "none", "--rootfs", copyRootfs(t.s), "true"])).stdout.trim();
    const plain = (await box(t.s, ["create", "--name", "plain", "--rootfs", copyRootfs(t.s), "true"])).stdout.trim();
    const cases: Array<[string[], string]> = [
      [["connect", "backend", "onhost"], "container cannot be disconnected from host network or connected to host network"],
      [["disconnect", "host", "plain"], "container cannot be disconnected from host network or connected to host network"],
      [["connect", "backend", "alone"], "container cannot be connected to multiple networks with one of the networks in private (none) mode"],
      [["connect", "nosuch", "plain"], "network nosuch not found"],
      [["connect", "backend", "nosuch"], "no such container: nosuch"],
      [["connect", "--ip", "10.202.0.5", "bridge", "alone"], "container cannot be connected to multiple networks with one of the networks in private (none) mode"],
      [["connect", "--ip", "10.203.0.5", "backend", "plain"], "invalid address 10.203.0.5: It does not belong to any of this network's subnets (backend: 10.202.0.0/24)"],
      [["connect", "--ip", "x", "backend", "plain"], `invalid argument "x" for "--ip" flag: an IPv4 address`],
      [["connect", "--alias", "a;b", "backend", "plain"], `invalid --alias "a;b": letters, digits and _ . - (not first)`],
      [["connect", "backend"], `"box network connect" requires exactly 2 arguments`],
      [["disconnect", "backend", "plain"], `container ${plain} is not connected to network backend`],
    ];
    for (const [args, message] of cases) await refused(["network", ...args], message);
    expect(leases("backend")).toEqual([]);
    expect((await box(t.s, ["rm", host, none, plain])).code).toBe(0);
  });
});

describe("box network prune", () => {
  test("removes the networks no container uses and keeps the used one", async () => {
    for (const name of ["spare", "used"]) expect((await box(t.s, ["network", "create", name])).code).toBe(0);
    const id = (await box(t.s, ["create", "--network", "used", "--rootfs", copyRootfs(t.s), "true"])).stdout.trim();
    const spareBridge = JSON.parse(await Bun.file(join(t.s.root, "networks/spare/config.json")).text()).bridge;
    await refused(["network", "prune"], "box network prune removes every network no container uses: confirm with -f");
    const r = await box(t.s, ["network", "prune", "-f"]);
    expect(r.stdout).toBe("Deleted Networks:\nspare\n\n");
    expect(r.code).toBe(0);
    expect((await box(t.s, ["network", "ls", "--format", "{{.Name}}"])).stdout).toBe("used\n");
    expect(existsSync(`/sys/class/net/${spareBridge}`)).toBe(false);
    expect((await box(t.s, ["network", "prune", "-f"])).stdout).toBe("");
    expect((await box(t.s, ["rm", id])).code).toBe(0);
  });

  test("network inspect -f: Docker's Containers map", async () => {
    expect((await box(t.s, ["network", "create", "--subnet", "10.202.0.0/24", "backend"])).code).toBe(0);
    const id = (await box(t.s, ["create", "--name", "c1", "--network", "backend", "--rootfs", copyRootfs(t.s), "true"])).stdout.trim();
    const r = await box(t.s, ["network", "inspect", "-f", "{{range $id, $c := .Containers}}{{$id}} {{$c.Name}} {{$c.IPv4Address}}{{end}}", "backend"]);
    expect(r.stdout).toBe(`${id} c1 10.202.0.2/24\n`);
    expect((await box(t.s, ["rm", id])).code).toBe(0);
  });
});
