// A real registry on loopback for the `box pull` tests: Debian's docker-registry (distribution 2.8) serves it,
// skopeo pushes OCI layouts built here into it, and two small fronts misbehave on purpose (cut bodies, bearer tokens).
import { closeSync, mkdirSync, openSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zstdCompressSync } from "node:zlib";

export interface Registry {
  /** "127.0.0.1:PORT" */
  host: string;
  scheme: "http" | "https";
  /** The registry's filesystem rootdirectory. */
  storage: string;
  /** PEM of the self-signed certificate (tls only): the CA a client must trust. */
  ca?: string;
  creds?: { user: string; password: string };
  stop(): Promise<void>;
}

// A test file that ends without stop() must neither hang (hence unref) nor leave a registry behind. The exit hook
// covers a script's end or throw; bun test fires no exit event, and a bun killed outright none at all: there the
// parent-death signal kills the registry (its temp dir stays).
const live = new Map<Bun.Subprocess, string>();
process.on("exit", () => {
  for (const [p, dir] of live) {
    p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

// Port 0 cannot be handed to docker-registry (it would not tell us what it got), so take one and give it back.
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
}

/**
 * Starts docker-registry on 127.0.0.1. htpasswd works over plain http in distribution 2.8, so tls is only
 * for tests of https itself. Bun's bcrypt ($2b$) is accepted as is.
 */
export async function startRegistry(opts: { htpasswd?: { user: string; password: string }; tls?: boolean } = {}): Promise<Registry> {
  const dir = tempDir("box-registry-");
  const storage = join(dir, "storage");
  mkdirSync(storage);
  const lines = [
    "version: 0.1",
    "log:",
    "  level: info",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${storage}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:PORT`,
    `  secret: ${crypto.randomUUID()}`,
  ];
  let ca: string | undefined;
  if (opts.tls) {
    // skopeo's --dest-cert-dir takes every *.crt in the directory as a CA.
    mkdirSync(join(dir, "certs"));
    ca = join(dir, "certs/ca.crt");
    const key = join(dir, "key.pem");
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", ca]);
    lines.push("  tls:", `    certificate: ${ca}`, `    key: ${key}`);
  }
  if (opts.htpasswd) {
    const hash = await Bun.password.hash(opts.htpasswd.password, { algorithm: "bcrypt" });
    writeFileSync(join(dir, "htpasswd"), `${opts.htpasswd.user}:${hash}\n`);
    lines.push("auth:", "  htpasswd:", "    realm: box-test", `    path: ${join(dir, "htpasswd")}`);
  }
  const scheme = opts.tls ? "https" : "http";
  const log = join(dir, "registry.log");
  // Another process may take the port between freePort and the registry's bind: try again with a new one.
  for (let attempt = 0; ; attempt++) {
    const host = `127.0.0.1:${freePort()}`;
    writeFileSync(join(dir, "config.yml"), lines.join("\n").replace("127.0.0.1:PORT", host) + "\n");
    const fd = openSync(log, "w");
    const argv = ["setpriv", "--pdeathsig", "KILL", "docker-registry", "serve", join(dir, "config.yml")];
    const proc = Bun.spawn(argv, { stdin: "ignore", stdout: fd, stderr: fd });
    closeSync(fd);
    proc.unref();
    live.set(proc, dir);
    const stop = async () => {
      proc.kill("SIGKILL");
      await proc.exited;
      live.delete(proc);
      rmSync(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 10_000;
    while (proc.exitCode === null && Date.now() < deadline) {
      try {
        const r = await fetch(`${scheme}://${host}/v2/`, { tls: ca ? { ca: readFileSync(ca, "utf8") } : undefined });
        await r.arrayBuffer();
        // 401 is the answer of an htpasswd registry: it is up.
        if (r.status === 200 || r.status === 401) return { host, scheme, storage, ca, creds: opts.htpasswd, stop };
      } catch {}
      await Bun.sleep(20);
    }
    const text = readFileSync(log, "utf8");
    if (proc.exitCode !== null && /address already in use/.test(text) && attempt < 3) {
      live.delete(proc);
      continue;
    }
    await stop().catch(() => {});
    throw new Error(`docker-registry did not start:\n${text}`);
  }
}

export interface LayoutImage {
  /** Plain (uncompressed) tar files, bottom layer first. */
  layers: string[];
  platform?: { os: string; architecture: string; variant?: string };
  /** The image config's "config" object: Cmd, Env, Entrypoint, WorkingDir, User, Labels, StopSignal, ExposedPorts. */
  config?: Record<string, unknown>;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";

function sha256(data: Uint8Array | string): string {
  return "sha256:" + new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

/**
 * Writes an OCI image layout at `dir` whose top entry is tagged "latest" (`oci:DIR:latest` for skopeo).
 * Several images need `index: true`: they go into one image index, as a multi-arch image is pushed.
 * Nothing here is timestamped, so the same input gives the same digests.
 */
export async function ociLayout(
  dir: string,
  images: LayoutImage[],
  opts: { index?: boolean; compression?: "gzip" | "zstd" } = {},
): Promise<{ manifests: string[]; index?: string }> {
  if (images.length !== 1 && !opts.index) throw new Error("ociLayout: several images need { index: true }");
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  const blob = (mediaType: string, data: Uint8Array | string): Descriptor => {
    const digest = sha256(data);
    writeFileSync(join(dir, "blobs/sha256", digest.slice(7)), data);
    return { mediaType, digest, size: typeof data === "string" ? Buffer.byteLength(data) : data.byteLength };
  };
  const zstd = opts.compression === "zstd";
  const manifests: Descriptor[] = [];
  for (const image of images) {
    const platform = image.platform ?? { os: "linux", architecture: "amd64" };
    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    for (const path of image.layers) {
      const tar = new Uint8Array(await Bun.file(path).arrayBuffer());
      diffIds.push(sha256(tar));
      layers.push(
        zstd
          ? blob("application/vnd.oci.image.layer.v1.tar+zstd", zstdCompressSync(tar))
          : blob("application/vnd.oci.image.layer.v1.tar+gzip", Bun.gzipSync(tar)),
      );
    }
    const config = blob(
      OCI_CONFIG,
      JSON.stringify({
        ...platform,
        config: image.config ?? {},
        rootfs: { type: "layers", diff_ids: diffIds },
        history: image.layers.map((p) => ({ created_by: `box test layer ${p}` })),
      }),
    );
    const manifest = blob(OCI_MANIFEST, JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }));
    manifests.push({ ...manifest, platform });
  }
  const tag = { "org.opencontainers.image.ref.name": "latest" };
  let top: Descriptor;
  let index: string | undefined;
  if (opts.index) {
    top = blob(OCI_INDEX, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    index = top.digest;
  } else {
    top = manifests[0]!;
  }
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...top, annotations: tag }] }));
  return { manifests: manifests.map((m) => m.digest), index };
}

/**
 * Pushes `oci:LAYOUT:latest` to REGISTRY/REPO:TAG. `all` pushes a whole index (without it skopeo picks the
 * host's platform). `format: "v2s2"` converts to Docker schema 2, the manifest list too with `all`
 * (gzip layers only: schema 2 has no zstd).
 */
export async function push(layout: string, registry: Registry, repoAndTag: string, opts: { all?: boolean; format?: "oci" | "v2s2" } = {}): Promise<void> {
  const dir = tempDir("box-skopeo-");
  try {
    // Our own policy and an empty auth file: the host's containers config must not decide what the test does.
    writeFileSync(join(dir, "policy.json"), JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
    const argv = ["skopeo", "--policy", join(dir, "policy.json"), "copy", "--dest-authfile", join(dir, "auth.json")];
    if (registry.ca) argv.push("--dest-cert-dir", join(registry.ca, ".."));
    else argv.push("--dest-tls-verify=false");
    if (registry.creds) argv.push("--dest-creds", `${registry.creds.user}:${registry.creds.password}`);
    if (opts.all) argv.push("--all");
    if (opts.format) argv.push("--format", opts.format);
    argv.push(`oci:${layout}:latest`, `docker://${registry.host}/${repoAndTag}`);
    const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text(), new Response(proc.stdout).text()]);
    if (code !== 0) throw new Error(`skopeo copy to ${repoAndTag} failed (${code}): ${stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The file the registry serves a blob from: overwrite it and the registry serves the new bytes under the old digest. */
export function blobFile(registry: Registry, digest: string): string {
  const hex = digest.replace(/^sha256:/, "");
  return join(registry.storage, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
}

interface Front {
  host: string;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "proxy-connection"]);

/**
 * A minimal HTTP/1.1 server on node:net, because Bun.serve buffers the head of a streamed response and resets the
 * connection without sending it when the stream fails: a client could not see a status, a Content-Length and then
 * too few bytes. One request per connection (Connection: close); request bodies need a Content-Length.
 * `handle` returns the response and, to cut it, how many body bytes to send before closing.
 */
async function front(handle: (req: Request, host: string) => Promise<{ res: Response; cutAfter?: number }>): Promise<Front> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    let buf = Buffer.alloc(0);
    let started = false;
    sock.on("data", (chunk: Buffer) => {
      if (started) return;
      buf = Buffer.concat([buf, chunk]);
      // A TLS ClientHello (a client trying HTTPS first): hang up, as a plain-HTTP server's error would.
      if (buf[0] === 0x16) return void sock.destroy();
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [requestLine = "", ...headerLines] = buf.subarray(0, end).toString("latin1").split("\r\n");
      const headers = new Headers();
      for (const l of headerLines) {
        const i = l.indexOf(":");
        if (i > 0) headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
      }
      if (headers.has("transfer-encoding")) {
        // Not needed by pulls; refused aloud rather than forwarded without its body.
        started = true;
        sock.end("HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        return;
      }
      const length = Number(headers.get("content-length") ?? 0);
      if (buf.length < end + 4 + length) return;
      started = true;
      const [method = "GET", target = "/"] = requestLine.split(" ");
      const body = length > 0 ? buf.subarray(end + 4, end + 4 + length) : undefined;
      const req = new Request(`http://${host}${target}`, { method, headers, body });
      respond(sock, req).catch(() => sock.destroy());
    });
  });
  const respond = async (sock: Socket, req: Request) => {
    let res: Response;
    let cutAfter: number | undefined;
    try {
      ({ res, cutAfter } = await handle(req, host));
    } catch (e) {
      res = new Response(String(e), { status: 502 });
    }
    const body = req.method === "HEAD" ? new Uint8Array(0) : new Uint8Array(await res.arrayBuffer());
    let head = `HTTP/1.1 ${res.status} ${res.statusText}\r\n`;
    res.headers.forEach((v, k) => {
      if (!HOP_BY_HOP.has(k)) head += `${k}: ${v}\r\n`;
    });
    // HEAD keeps the upstream's length: it is the blob's size, which clients read.
    const length = req.method === "HEAD" ? res.headers.get("content-length") : String(body.byteLength);
    if (length !== null) head += `content-length: ${length}\r\n`;
    head += "connection: close\r\n\r\n";
    sock.write(head, "latin1");
    // end() after a short body is a clean FIN with bytes still owed: curl says "transfer closed with N bytes remaining".
    sock.end(cutAfter !== undefined ? body.subarray(0, cutAfter) : body);
  };
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    host,
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

/**
 * Sends `req` on to the registry at `target` (http). The Host header goes along so that the registry's Location
 * headers (upload URLs) name the front, not itself; redirects reach the client as they are.
 */
async function forward(req: Request, target: string): Promise<Response> {
  const url = new URL(req.url);
  const headers = new Headers();
  req.headers.forEach((v, k) => {
    if (!HOP_BY_HOP.has(k)) headers.set(k, v);
  });
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
  return fetch(`http://${target}${url.pathname}${url.search}`, { method: req.method, headers, body, redirect: "manual", decompress: false });
}

const BLOB_GET = /^\/v2\/.+\/blobs\/sha256:[0-9a-f]{64}$/;

/** Forwards everything to `target`; the body of a blob GET longer than `cutAfterBytes` stops after that many bytes. */
export async function cuttingProxy(target: string, cutAfterBytes: number): Promise<Front & { cuts: number }> {
  const state = { cuts: 0 };
  return Object.assign(
    state,
    await front(async (req) => {
      const res = await forward(req, target);
      const length = Number(res.headers.get("content-length") ?? -1);
      if (req.method === "GET" && (res.status === 200 || res.status === 206) && BLOB_GET.test(new URL(req.url).pathname) && length > cutAfterBytes) {
        state.cuts++;
        return { res, cutAfter: cutAfterBytes };
      }
      return { res };
    }),
  );
}

/**
 * Docker Hub's token flow in front of a registry without auth: /v2/ answers 401 with a Bearer challenge whose
 * realm is this front's /token, which hands out a token (for Basic credentials when `user` is set).
 */
export async function bearerFront(
  target: string,
  opts: { user?: string; password?: string } = {},
): Promise<Front & { tokensIssued: number; requests: { method: string; path: string; auth: string | null }[] }> {
  const tokens = new Set<string>();
  const state = { tokensIssued: 0, requests: [] as { method: string; path: string; auth: string | null }[] };
  return Object.assign(
    state,
    await front(async (req, host) => {
      const url = new URL(req.url);
      const auth = req.headers.get("authorization");
      state.requests.push({ method: req.method, path: url.pathname + url.search, auth });
      if (url.pathname === "/token") {
        if (opts.user !== undefined && auth !== `Basic ${btoa(`${opts.user}:${opts.password ?? ""}`)}`) {
          return { res: Response.json({ details: "incorrect username or password" }, { status: 401, headers: { "www-authenticate": `Basic realm="test-registry"` } }) };
        }
        const token = crypto.randomUUID();
        tokens.add(token);
        state.tokensIssued++;
        return { res: Response.json({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }) };
      }
      if (auth?.startsWith("Bearer ") && tokens.has(auth.slice(7))) return { res: await forward(req, target) };
      const repo = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname)?.[1];
      const actions = req.method === "GET" || req.method === "HEAD" ? "pull" : "pull,push";
      const scope = repo ? `,scope="repository:${repo}:${actions}"` : "";
      const challenge = `Bearer realm="http://${host}/token",service="test-registry"${scope}`;
      return {
        res: Response.json(
          { errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: null }] },
          { status: 401, headers: { "www-authenticate": challenge, "docker-distribution-api-version": "registry/2.0" } },
        ),
      };
    }),
  );
}
