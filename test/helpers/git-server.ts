// Git servers for the tests, on 127.0.0.1: git's own smart HTTP (git http-backend behind a Bun
// server, as a web server runs it) and git daemon (git://), both serving the repositories below
// `root`. Real git on both ends of what box speaks; only the test runs git.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

export interface GitServers {
  http: string;
  git: string;
  /** Requests the HTTP server took (method, path and git command), to see what a build fetched. */
  requests: string[];
  stop(): Promise<void>;
}

/** Runs git in `cwd`; its output. */
export function git(cwd: string, args: string[], input?: string): string {
  const r = spawnSync("git", args, { cwd, input, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com", GIT_CONFIG_NOSYSTEM: "1", HOME: cwd } });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerOptions {
  /** What the HTTP server lets git http-backend speak: "2" as a client asks, or "0" (an old server's). */
  protocol?: "2" | "0";
  /** A hostile server: what it does to a request before git sees it (its path, its body). */
  request?: (path: string, body: Buffer) => [string, Buffer];
  /** ...and to git's reply. */
  reply?: (path: string, body: Buffer) => Buffer;
}

export async function gitServers(root: string, opts: ServerOptions = {}): Promise<GitServers> {
  const requests: string[] = [];
  const http = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const [path, body] = (opts.request ?? ((p, b) => [p, b]))(url.pathname, Buffer.from(await req.arrayBuffer()));
      requests.push(`${req.method} ${url.pathname}${/command=([\w-]+)/.exec(body.toString("latin1"))?.[1]?.replace(/^/, " ") ?? ""}`);
      const cgi = spawnSync("git", ["http-backend"], {
        input: body,
        env: {
          PATH: process.env.PATH,
          GIT_PROJECT_ROOT: root,
          GIT_HTTP_EXPORT_ALL: "1",
          GIT_CONFIG_NOSYSTEM: "1",
          HOME: root,
          REQUEST_METHOD: req.method,
          PATH_INFO: path,
          QUERY_STRING: url.search.slice(1),
          CONTENT_TYPE: req.headers.get("content-type") ?? "",
          CONTENT_LENGTH: String(body.length),
          REMOTE_ADDR: "127.0.0.1",
          ...(opts.protocol !== "0" && req.headers.get("git-protocol") ? { GIT_PROTOCOL: req.headers.get("git-protocol")! } : {}),
        },
        maxBuffer: 256 << 20,
      });
      const out = cgi.stdout;
      const split = out.indexOf("\r\n\r\n");
      const headers = new Headers();
      let status = 200;
      for (const line of out.subarray(0, split).toString().split("\r\n")) {
        const [name, ...rest] = line.split(":");
        if (name!.toLowerCase() === "status") status = Number(rest.join(":").trim().split(" ")[0]);
        else if (name) headers.set(name, rest.join(":").trim());
      }
      return new Response((opts.reply ?? ((_, b) => b))(path, out.subarray(split + 4)), { status, headers });
    },
  });
  const port = await freePort();
  const daemon = spawn("git", ["daemon", "--export-all", `--base-path=${root}`, "--reuseaddr", "--listen=127.0.0.1", `--port=${port}`, "--informative-errors", root], { stdio: "ignore" });
  // Ready when it takes a connection; a daemon that never listens fails the test, not hangs it.
  for (let n = 0; ; n++) {
    const up = await new Promise<boolean>((resolve) => {
      const c = Bun.connect({ hostname: "127.0.0.1", port, socket: { open: (s) => (s.end(), resolve(true)), connectError: () => resolve(false), data() {} } }).catch(() => resolve(false));
      void c;
    });
    if (up) break;
    if (n > 100) throw new Error("git daemon did not start");
    await Bun.sleep(50);
  }
  return {
    http: `http://127.0.0.1:${http.port}`,
    git: `git://127.0.0.1:${port}`,
    requests,
    async stop() {
      http.stop(true);
      const exited = new Promise((resolve) => daemon.once("exit", resolve));
      daemon.kill("SIGTERM");
      await exited;
    },
  };
}
