// A client of the OCI distribution API (what Docker Hub and every registry speak): manifests and
// blobs by digest, Bearer-token and Basic authentication as Docker does them, HTTPS (plain HTTP
// only for --insecure registries and this machine's own), and blob downloads that resume.
import { UserError } from "../container/errors.ts";
import { BlobWriter, sha256Digest } from "./blobs.ts";
import { DOCKER_HUB } from "./reference.ts";
import type { Credentials } from "./auth.ts";

export interface RegistryOptions {
  /** Plain HTTP, or HTTPS with any certificate, as Docker's insecure-registries. */
  insecure?: boolean;
  credentials?: Credentials;
  /** PEM of a CA to trust besides the system's (certs.d/HOST/ca.crt). */
  ca?: string;
}

export interface Fetched {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

// Manifests are small; a registry that sends more is not sending a manifest.
const MAX_MANIFEST_BYTES = 4 << 20;
// A stalled transfer is given up after this long without a byte.
const STALL_MS = 60_000;
const REQUEST_TIMEOUT_MS = 60_000;
// A layer upload may take long; it is given up only after this.
const UPLOAD_TIMEOUT_MS = 3600_000;
// An error body is a line or two of JSON; what is beyond this is not read.
const ERROR_BODY_LIMIT = 64 << 10;

/** A request's method and body (made anew for each try: a 401 means sending it again). */
interface Method {
  method?: "GET" | "HEAD" | "POST" | "PUT";
  body?: () => Blob | Uint8Array;
}

export class Registry {
  private readonly host: string;
  private scheme: "https" | "http" | undefined;
  private authorization: string | undefined;

  constructor(
    readonly domain: string,
    private readonly opts: RegistryOptions = {},
  ) {
    // Docker Hub's API lives on another host than its name.
    this.host = domain === DOCKER_HUB ? "registry-1.docker.io" : domain;
  }

  /** A manifest or index by tag or digest, with what the registry says it is. */
  async manifest(path: string, reference: string, accept: string[]): Promise<Fetched> {
    const res = await this.request(path, `/v2/${path}/manifests/${reference}`, { Accept: accept.join(", ") });
    const shown = `${this.shown(path)}${reference.startsWith("sha256:") ? "@" : ":"}${reference}`;
    if (res.status === 404) throw new UserError(`manifest for ${shown} not found: manifest unknown`);
    await this.check(res, `manifest ${shown}`);
    const length = Number(res.headers.get("content-length") ?? 0);
    if (length > MAX_MANIFEST_BYTES) throw new UserError(`manifest ${shown} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    const bytes = Buffer.from(await readLimited(res, MAX_MANIFEST_BYTES, `manifest ${shown}`));
    const digest = sha256Digest(bytes);
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, mediaType, digest };
  }

  /** A small blob (an image config) into memory, its digest checked. */
  async smallBlob(path: string, digest: string, limit: number): Promise<Buffer> {
    const res = await this.request(path, `/v2/${path}/blobs/${digest}`);
    await this.check(res, `blob ${digest}`);
    const bytes = Buffer.from(await readLimited(res, limit, `blob ${digest}`));
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new UserError(`blob ${digest} from ${this.domain} has digest ${actual}: refused`);
    return bytes;
  }

  /**
   * A blob into the store, resuming a partial download of an earlier pull; `onBytes` hears the
   * bytes there so far. A blob whose bytes do not hash to `digest`, or run past `size`, is
   * refused and nothing of it kept.
   */
  async downloadBlob(root: string, path: string, digest: string, size: number, onBytes: (done: number) => void): Promise<void> {
    let writer = await BlobWriter.resume(root, digest);
    const stall = new AbortController();
    // Armed before the request: a registry that never answers is given up too.
    let timer = setTimeout(() => stall.abort(), STALL_MS);
    const alive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(), STALL_MS);
    };
    try {
      if (writer.done) return;
      // A partial that is already whole (a pull killed before its rename): the hash decides.
      if (writer.offset < size) {
        let res = await this.request(path, `/v2/${path}/blobs/${digest}`, writer.offset > 0 ? { Range: `bytes=${writer.offset}-` } : {}, stall.signal);
        if (writer.offset > 0 && !resumes(res, writer.offset)) {
          // Only an answer that cannot continue the partial throws it away: the whole blob (the
          // range ignored, or a Content-Range from elsewhere) or "out of range". A failure (503,
          // 429...) keeps it for the next pull.
          if (!res.ok && res.status !== 416) await this.check(res, `blob ${digest}`);
          await res.body?.cancel();
          writer.close(false);
          writer = await BlobWriter.resume(root, digest);
          if (writer.done) return;
          res = await this.request(path, `/v2/${path}/blobs/${digest}`, {}, stall.signal);
        }
        await this.check(res, `blob ${digest}`);
        let done = writer.offset;
        onBytes(done);
        alive();
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            alive();
            done += chunk.length;
            if (done > size) throw new UserError(`blob ${digest} from ${this.domain} is larger than the ${size} bytes its manifest says: refused`);
            writer.write(chunk);
            onBytes(done);
          }
        } catch (err) {
          if (err instanceof UserError) {
            writer.close(false);
            throw err;
          }
          throw new UserError(`download of ${digest} from ${this.domain} broke off after ${done} of ${size} bytes (${describeFetchError(err)}); pull again to resume`);
        }
        if (done !== size) throw new UserError(`download of ${digest} from ${this.domain} ended after ${done} of ${size} bytes; pull again to resume`);
      }
      try {
        writer.commit();
      } catch (err) {
        throw new UserError(`blob ${digest} from ${this.domain}: ${(err as Error).message}: refused`);
      }
    } finally {
      clearTimeout(timer);
      writer.close(true);
    }
  }

  /** Whether the registry has the blob already (a push skips it then). */
  async hasBlob(path: string, digest: string): Promise<boolean> {
    const res = await this.request(path, `/v2/${path}/blobs/${digest}`, {}, undefined, { method: "HEAD" });
    if (res.status === 404) return false;
    await this.check(res, `blob ${digest}`);
    return true;
  }

  /** Uploads a blob in one PUT (the distribution API's monolithic upload). */
  async uploadBlob(path: string, digest: string, file: string): Promise<void> {
    const start = await this.request(path, `/v2/${path}/blobs/uploads/`, { "Content-Length": "0" }, undefined, { method: "POST" });
    await this.check(start, `upload of ${digest}`);
    const location = start.headers.get("location");
    if (!location) throw new UserError(`${this.domain}: the registry gave no upload location for ${digest}`);
    const target = new URL(location, `http://${this.host}`);
    target.searchParams.set("digest", digest);
    const url = /^https?:\/\//.test(location) ? target.href : `${target.pathname}${target.search}`;
    const res = await this.request(path, url, { "Content-Type": "application/octet-stream" }, AbortSignal.timeout(UPLOAD_TIMEOUT_MS), { method: "PUT", body: () => Bun.file(file) });
    await this.check(res, `upload of ${digest}`);
  }

  /** Puts a manifest under a tag. */
  async putManifest(path: string, tag: string, bytes: Buffer, mediaType: string): Promise<void> {
    const res = await this.request(path, `/v2/${path}/manifests/${tag}`, { "Content-Type": mediaType }, undefined, { method: "PUT", body: () => bytes });
    await this.check(res, `manifest ${this.shown(path)}:${tag}`);
  }

  /** `box login`'s check: the API's root answers the credentials with 200. */
  async ping(): Promise<void> {
    const res = await this.request(undefined, "/v2/");
    await this.check(res, "login");
  }

  /** GET (or `init`'s method) with authentication, trying HTTPS first and HTTP where allowed. */
  private async request(path: string | undefined, url: string, headers: Record<string, string> = {}, signal?: AbortSignal, init: Method = {}): Promise<Response> {
    let res = await this.send(url, headers, signal, init);
    if (res.status === 401) {
      const challenge = res.headers.get("www-authenticate") ?? "";
      await res.body?.cancel();
      this.authorization = await this.authenticate(challenge, path, init.method !== undefined && init.method !== "GET" && init.method !== "HEAD");
      res = await this.send(url, headers, signal, init);
      if (res.status === 401) throw new UserError(`${this.domain}: ${(await errorText(res)).slice(2) || "unauthorized"}${this.opts.credentials ? "" : `; log in with 'box login ${this.domain}'`}`);
    }
    return res;
  }

  private async send(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, init: Method): Promise<Response> {
    const all = { ...headers, ...(this.authorization ? { Authorization: this.authorization } : {}) };
    // An upload's next URL comes whole from the registry (its Location).
    if (/^https?:\/\//.test(url)) {
      if (new URL(url).host !== this.host) throw new UserError(`${this.domain}: refusing an upload location on another host (${new URL(url).host})`);
      return this.fetchFollowing(url, all, signal, init).catch((err) => {
        throw this.unreachable(err);
      });
    }
    if (this.scheme) {
      return this.fetchFollowing(`${this.scheme}://${this.host}${url}`, all, signal, init).catch((err) => {
        throw this.unreachable(err);
      });
    }
    let httpsError: unknown;
    try {
      const res = await this.fetchFollowing(`https://${this.host}${url}`, all, signal, init);
      this.scheme = "https";
      return res;
    } catch (err) {
      if (err instanceof UserError || !this.plainHttpAllowed()) throw this.unreachable(err);
      httpsError = err;
    }
    let res: Response;
    try {
      res = await this.fetchFollowing(`http://${this.host}${url}`, all, signal, init);
    } catch (err) {
      throw this.unreachable(err);
    }
    // An HTTPS server answers plain HTTP with 400: what failed was HTTPS (its certificate, mostly).
    if (res.status === 400 && !this.opts.insecure) {
      await res.body?.cancel();
      throw new UserError(`cannot reach registry ${this.domain}: ${describeFetchError(httpsError)} (it speaks HTTPS: trust its CA with --cert-dir, or use --insecure)`);
    }
    this.scheme = "http";
    return res;
  }

  // Redirects (to a CDN, for blobs) are followed by hand: the registry's credentials must not go
  // to another host.
  private async fetchFollowing(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, init: Method): Promise<Response> {
    for (let hops = 0; hops < 10; hops++) {
      const res = await fetch(url, {
        method: init.method ?? "GET",
        body: init.body?.(),
        headers,
        redirect: "manual",
        signal: signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        tls: { rejectUnauthorized: !this.opts.insecure, ...(this.opts.ca ? { ca: this.opts.ca } : {}) },
      } as RequestInit);
      const location = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.body?.cancel();
      const here = new URL(url);
      const next = new URL(location, url);
      // Only the web: a file: or data: URL from a registry would read this machine's files into
      // the store. And never down from HTTPS to plain HTTP.
      if (!["http:", "https:"].includes(next.protocol) || (here.protocol === "https:" && next.protocol === "http:")) {
        throw new UserError(`${this.domain}: refusing a redirect to ${next.protocol}//${next.host}`);
      }
      if (next.origin !== here.origin) delete headers.Authorization;
      url = next.href;
    }
    throw new UserError(`${this.domain}: too many redirects`);
  }

  private plainHttpAllowed(): boolean {
    return this.opts.insecure === true || isLocalHost(this.host);
  }

  private unreachable(err: unknown): Error {
    if (err instanceof UserError) return err;
    return new UserError(`cannot reach registry ${this.domain}: ${describeFetchError(err)}`);
  }

  /** The Authorization header a WWW-Authenticate challenge asks for (Docker's token flow). */
  private async authenticate(challenge: string, path: string | undefined, push = false): Promise<string> {
    const [scheme, params] = parseChallenge(challenge);
    const creds = this.opts.credentials;
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}` : undefined;
    if (scheme === "basic") {
      if (!basic) throw new UserError(`${this.domain}: authentication required; log in with 'box login ${this.domain}'`);
      return basic;
    }
    if (scheme !== "bearer" || !params.realm) throw new UserError(`${this.domain}: unsupported authentication challenge ${JSON.stringify(challenge)}`);
    const realm = new URL(params.realm);
    if (realm.protocol !== "https:" && !(realm.protocol === "http:" && (this.plainHttpAllowed() || this.scheme === "http"))) {
      throw new UserError(`${this.domain}: refusing token service ${realm.origin} over plain HTTP`);
    }
    if (params.service) realm.searchParams.set("service", params.service);
    const scope = params.scope ?? (path === undefined ? undefined : `repository:${path}:${push ? "pull,push" : "pull"}`);
    if (scope) realm.searchParams.set("scope", scope);
    const res = await fetch(realm.href, {
      headers: basic ? { Authorization: basic } : {},
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      tls: { rejectUnauthorized: !this.opts.insecure, ...(this.opts.ca ? { ca: this.opts.ca } : {}) },
    } as RequestInit).catch((err) => {
      throw new UserError(`cannot reach token service ${realm.origin}: ${describeFetchError(err)}`);
    });
    if (res.status === 401 || res.status === 403) throw new UserError(`${this.domain}: login refused by ${realm.origin}${await errorText(res)}`);
    if (!res.ok) throw new UserError(`${this.domain}: token service ${realm.origin} answered ${res.status}${await errorText(res)}`);
    const body = (await readLimited(res, MAX_MANIFEST_BYTES, "token").then((b) => JSON.parse(Buffer.from(b).toString())).catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new UserError(`${this.domain}: token service ${realm.origin} gave no token`);
    return `Bearer ${token}`;
  }

  private async check(res: Response, what: string): Promise<void> {
    if (res.ok) return;
    throw new UserError(`${this.domain}: ${what}: ${res.status} ${res.statusText}${await errorText(res)}`);
  }

  private shown(path: string): string {
    return this.domain === DOCKER_HUB ? path.replace(/^library\//, "") : `${this.domain}/${path}`;
  }
}

/** Whether a response to `Range: bytes=OFFSET-` is the rest of the blob from there. */
function resumes(res: Response, offset: number): boolean {
  return res.status === 206 && new RegExp(`^bytes ${offset}-`).test(res.headers.get("content-range") ?? "");
}

/** `Bearer realm="…",service="…",scope="…"` → ["bearer", {realm, service, scope}]. */
export function parseChallenge(header: string): [scheme: string, params: Record<string, string>] {
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([a-zA-Z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!;
  }
  return [scheme, params];
}

// Docker trusts a registry on this machine over plain HTTP without being told.
function isLocalHost(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

async function readLimited(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > limit) throw new UserError(`${what} is larger than ${limit} bytes: refused`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// The registry's own words, from its JSON error body ({"errors":[{"code","message"}]}).
async function errorText(res: Response): Promise<string> {
  try {
    const text = Buffer.from(await readLimited(res, ERROR_BODY_LIMIT, "error")).toString();
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    return first ? `: ${[first.code?.toLowerCase().replace(/_/g, " "), first.message].filter(Boolean).join(": ")}` : "";
  } catch {
    return "";
  }
}

function describeFetchError(err: unknown): string {
  const e = err as { code?: string; message?: string; name?: string };
  if (e?.name === "AbortError" || e?.name === "TimeoutError") return "timed out";
  // Bun's messages start with the code and end with a hint about its own debugging flag.
  const message = (e?.message ?? "").replace(/\.?\s*For more information.*$/s, "");
  if (e?.code && message.startsWith(e.code)) return message;
  return [e?.code, message].filter(Boolean).join(": ") || String(err);
}
