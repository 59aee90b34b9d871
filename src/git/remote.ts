// A git remote read with protocol version 2 (gitprotocol-v2) over smart HTTP(S) or git://, the
// way `git fetch --depth 1` reads it: ls-refs names the commit a ref is at, fetch brings that one
// commit's objects in a pack. No git program is run; ssh remotes are refused (they need an ssh
// client). The protocol's other versions are refused with one line: every maintained server
// (git 2.18+, GitHub, GitLab, Gitea) speaks version 2.
import { connect as tcpConnect, type Socket } from "node:net";
import { DELIM, FLUSH, PacketReader, packetText, pktLine, type Packet } from "./pkt-line.ts";

/** `ADD` of a git repository: where, which ref (a branch, tag, full ref or commit; the remote's HEAD when none) and which directory of it. */
export interface GitSource {
  remote: string;
  ref: string;
  subdir: string;
}

/**
 * The word as a git source, or undefined: BuildKit's rule, a git://, ssh:// or git@ address, or an
 * http(s) one whose path ends in .git; `#ref:subdir` after it.
 */
export function parseGitSource(word: string): GitSource | undefined {
  const hash = word.indexOf("#");
  const remote = hash < 0 ? word : word.slice(0, hash);
  const fragment = hash < 0 ? "" : word.slice(hash + 1);
  const isGit = /^(git|ssh):\/\//.test(remote) || /^[\w.-]+@[\w.-]+:/.test(remote) || (/^https?:\/\//.test(remote) && /\.git\/?$/.test(safePath(remote)));
  if (!isGit) return undefined;
  const colon = fragment.indexOf(":");
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? "" : fragment.slice(colon + 1);
  return { remote, ref, subdir: subdir.split("/").filter((c) => c && c !== ".").join("/") };
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return "";
  }
}

/** The address without its credentials: what logs, errors and cache keys show. */
export function shownRemote(remote: string): string {
  try {
    const u = new URL(remote);
    u.username = "";
    u.password = "";
    return u.href;
  } catch {
    return remote;
  }
}

interface Connection {
  capabilities: string[];
  command(name: string, args: string[]): Promise<PacketReader>;
  close(): void;
}

const CONNECT_MS = 30_000;

export async function connect(remote: string): Promise<Connection> {
  if (/^ssh:\/\//.test(remote) || !/^[a-z]+:\/\//.test(remote)) throw new Error(`${shownRemote(remote)}: ssh remotes are not supported: box reads git repositories over https, http and git:// (it runs no ssh client)`);
  const u = new URL(remote);
  if (u.protocol === "git:") return gitDaemon(u);
  if (u.protocol === "http:" || u.protocol === "https:") return smartHttp(u);
  throw new Error(`${shownRemote(remote)}: unknown git transport ${u.protocol}`);
}

async function smartHttp(u: URL): Promise<Connection> {
  const headers: Record<string, string> = { "Git-Protocol": "version=2", "User-Agent": "git/box" };
  if (u.username) headers.Authorization = `Basic ${btoa(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`)}`;
  const shown = shownRemote(u.href);
  u.username = "";
  u.password = "";
  const request = async (url: string, init: RequestInit) => {
    // The timeout covers the reply's head; its body is read by a PacketReader, idle-bounded.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), CONNECT_MS);
    try {
      const response = await fetch(url, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) }, redirect: "follow", signal: abort.signal });
      if (response.status === 401 || response.status === 403 || response.status === 404) throw new Error(`${shown}: ${response.status} ${response.statusText}: no such repository, or it needs credentials (https://USER:TOKEN@...)`);
      if (!response.ok || !response.body) throw new Error(`${shown}: ${response.status} ${response.statusText}`);
      return response;
    } catch (e) {
      if (abort.signal.aborted) throw new Error(`${shown}: no reply in ${CONNECT_MS / 1000} s`);
      if ((e as Error).message.startsWith(shown)) throw e;
      throw new Error(`${shown}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  };
  const base = u.href.replace(/\/+$/, "");
  const advertised = await request(`${base}/info/refs?service=git-upload-pack`, {});
  if (!advertised.headers.get("content-type")?.startsWith("application/x-git-upload-pack-advertisement")) throw new Error(`${shown}: not a smart git HTTP server (box does not read the dumb protocol)`);
  // Where the redirects ended is where the commands go.
  const at = advertised.url.replace(/\/info\/refs\?.*$/, "");
  const reader = new PacketReader(advertised.body![Symbol.asyncIterator](), shown);
  let first = await reader.next();
  if (packetText(first).startsWith("# service=")) {
    await reader.until();
    first = await reader.next();
  }
  const capabilities = await versionTwo(first, reader, shown);
  return {
    capabilities,
    async command(name, args) {
      const response = await request(`${at}/git-upload-pack`, {
        method: "POST",
        headers: { "Content-Type": "application/x-git-upload-pack-request", Accept: "application/x-git-upload-pack-result" },
        body: Buffer.concat(commandPackets(name, args)),
      });
      return new PacketReader(response.body![Symbol.asyncIterator](), shown);
    },
    close() {},
  };
}

async function gitDaemon(u: URL): Promise<Connection> {
  const host = u.hostname;
  const port = u.port ? Number(u.port) : 9418;
  const shown = shownRemote(u.href);
  const socket: Socket = tcpConnect({ host, port });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${shown}: no connection in ${CONNECT_MS / 1000} s`)), CONNECT_MS);
      socket.once("connect", () => (clearTimeout(timer), resolve()));
      socket.once("error", (e) => (clearTimeout(timer), reject(new Error(`${shown}: ${e.message}`))));
    });
    socket.write(pktLine(`git-upload-pack ${decodeURIComponent(u.pathname)}\0host=${host}${u.port ? `:${port}` : ""}\0\0version=2\0`));
    const reader = new PacketReader(socket[Symbol.asyncIterator](), shown);
    const first = await reader.next();
    if (first.kind === "end") throw new Error(`${shown}: the server closed the connection (no such repository, or it is not exported)`);
    const capabilities = await versionTwo(first, reader, shown);
    return {
      capabilities,
      async command(name, args) {
        socket.write(Buffer.concat(commandPackets(name, args)));
        return reader;
      },
      close() {
        socket.destroy();
      },
    };
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

/** The capability advertisement after "version 2"; an older protocol's reply is refused. */
async function versionTwo(first: Packet, reader: PacketReader, shown: string): Promise<string[]> {
  if (packetText(first) !== "version 2") throw new Error(`${shown}: the server does not speak git protocol version 2 (git 2.18 or later serves it)`);
  const { lines } = await reader.until();
  const capabilities = lines.map(packetText);
  const format = capabilities.find((c) => c.startsWith("object-format="));
  if (format && format !== "object-format=sha1") throw new Error(`${shown}: ${format} repositories are not supported`);
  if (!capabilities.some((c) => c === "fetch" || c.startsWith("fetch="))) throw new Error(`${shown}: the server offers no fetch`);
  return capabilities;
}

function commandPackets(name: string, args: string[]): Uint8Array[] {
  return [pktLine(`command=${name}\n`), pktLine("agent=git/box\n"), DELIM, ...args.map((a) => pktLine(`${a}\n`)), FLUSH];
}

/** The object a ref names (a tag's own object for an annotated tag): git's order, an exact full ref, then tags, then branches; the remote's HEAD when `ref` is empty. */
export async function resolveRef(c: Connection, ref: string, shown: string): Promise<string> {
  if (/^[0-9a-f]{40}$/.test(ref)) return ref;
  const wanted = ref ? [ref, `refs/tags/${ref}`, `refs/heads/${ref}`] : ["HEAD"];
  const reader = await c.command("ls-refs", [...wanted.map((w) => `ref-prefix ${w}`)]);
  const { lines } = await reader.until();
  const refs = new Map<string, string>();
  for (const line of lines.map(packetText)) {
    const [oid, name] = line.split(" ");
    if (oid && name && /^[0-9a-f]{40}$/.test(oid)) refs.set(name, oid);
  }
  for (const w of wanted) {
    const oid = refs.get(w);
    if (oid) return oid;
  }
  throw new Error(`${shown}: ${ref ? `no branch, tag or ref named ${ref}` : "the repository is empty"}`);
}

/** The pack of `oid` and what it needs (only that commit's history, when the server can make it shallow); at most `limit` bytes. */
export async function fetchPack(c: Connection, oid: string, limit: number, shown: string): Promise<Buffer> {
  const fetchCap = c.capabilities.find((x) => x === "fetch" || x.startsWith("fetch=")) ?? "";
  const shallow = fetchCap.split(/[= ]/).includes("shallow");
  const reader = await c.command("fetch", ["ofs-delta", "no-progress", ...(shallow ? ["deepen 1"] : []), `want ${oid}`, "done"]);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const header = await reader.next();
    if (header.kind !== "data") throw new Error(`${shown}: the server sent no pack`);
    const section = packetText(header);
    if (section !== "packfile") {
      // shallow-info, wanted-refs, acknowledgments: nothing box needs.
      const { end } = await reader.until();
      if (end.kind === "flush") throw new Error(`${shown}: the server sent no pack`);
      continue;
    }
    for (;;) {
      const p = await reader.next();
      if (p.kind === "flush") return Buffer.concat(chunks);
      if (p.kind !== "data" || p.data.length === 0) throw new Error(`${shown}: the pack ended early`);
      const band = p.data[0];
      if (band === 3) throw new Error(`${shown}: the server says: ${new TextDecoder().decode(p.data.subarray(1)).trim()}`);
      if (band !== 1) continue;
      total += p.data.length - 1;
      if (total > limit) throw new Error(`${shown}: the pack is larger than the store can take (${limit} bytes)`);
      chunks.push(p.data.subarray(1));
    }
  }
}
