// Registry credentials, kept as Docker keeps them: {"auths": {"HOST": {"auth": base64(user:pass)}}}
// in box's own file (mode 0600), and read from Docker's ~/.docker/config.json when box's has
// none, so a `docker login` already made works.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { writeFileAtomic } from "../sys/fs.ts";
import { dirname, join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import { DOCKER_HUB } from "./reference.ts";

export interface Credentials {
  username: string;
  password: string;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  [key: string]: unknown;
}

// Docker's name for Docker Hub in config.json.
const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

/** box's credentials file: --authfile, $BOX_AUTH_FILE, or $XDG_CONFIG_HOME/box/auth.json. */
export function authFile(given?: string): string {
  if (given) return given;
  if (process.env.BOX_AUTH_FILE) return process.env.BOX_AUTH_FILE;
  const config = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(config, "box", "auth.json");
}

export function credentialsFor(domain: string, file: string): Credentials | undefined {
  const docker = join(process.env.DOCKER_CONFIG || join(homedir(), ".docker"), "config.json");
  for (const path of [file, docker]) {
    const entry = lookup(readConfig(path), domain);
    if (entry) return entry;
  }
  return undefined;
}

export function saveCredentials(domain: string, creds: Credentials, file: string): void {
  const config = readConfig(file);
  config.auths = { ...config.auths, [keyOf(domain)]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") } };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${JSON.stringify(config, null, "\t")}\n`, 0o600);
}

/** False when there was nothing to remove. */
export function removeCredentials(domain: string, file: string): boolean {
  const config = readConfig(file);
  if (!config.auths?.[keyOf(domain)]) return false;
  delete config.auths[keyOf(domain)];
  writeFileAtomic(file, `${JSON.stringify(config, null, "\t")}\n`, 0o600);
  return true;
}

function keyOf(domain: string): string {
  return domain === DOCKER_HUB ? DOCKER_HUB_KEY : domain;
}

function lookup(config: ConfigFile, domain: string): Credentials | undefined {
  const keys = domain === DOCKER_HUB ? [DOCKER_HUB_KEY, DOCKER_HUB, "index.docker.io"] : [domain, `https://${domain}`, `http://${domain}`];
  for (const key of keys) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    if (!entry.auth) continue;
    const decoded = Buffer.from(entry.auth, "base64").toString();
    const colon = decoded.indexOf(":");
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

function readConfig(path: string): ConfigFile {
  if (!existsSync(path)) return {};
  try {
    const config = JSON.parse(readFileSync(path, "utf8")) as ConfigFile;
    return config && typeof config === "object" ? config : {};
  } catch (err) {
    throw new UserError(`cannot read credentials file ${path}: ${(err as Error).message}`);
  }
}
