// Image references as Docker's CLI accepts them: [domain[:port]/]path[:tag][@sha256:digest]. A
// reference ends up in a file name, so it is checked here once and nothing downstream has to
// distrust it.
import { UserError } from "../container/errors.ts";

export interface ImageReference {
  /** The repository as Docker shows it: "busybox", "team/app", "localhost:5000/app". */
  name: string;
  /** Undefined only for a pull by digest alone. */
  tag?: string;
  /** "sha256:<64 hex>", when the reference pins one. */
  digest?: string;
  /** name:tag, or name@digest when pinned: the form stored and shown. */
  ref: string;
  /** The registry host: "docker.io" for Docker Hub. */
  domain: string;
  /** The repository's path on that registry: "library/busybox" for Docker Hub's "busybox". */
  path: string;
}

export const DEFAULT_TAG = "latest";
export const DOCKER_HUB = "docker.io";
const MAX_NAME_LENGTH = 255;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
export const DIGEST = /^sha256:[0-9a-f]{64}$/;
// Docker Hub's names: all of them mean the same registry.
const HUB_DOMAINS = new Set([DOCKER_HUB, "index.docker.io", "registry-1.docker.io"]);

export function parseReference(input: string): ImageReference {
  const invalid = (why: string) => new UserError(`invalid image reference ${JSON.stringify(input)}: ${why}`);
  if (input === "") throw invalid("empty name");
  const at = input.indexOf("@");
  const digest = at < 0 ? undefined : input.slice(at + 1);
  if (digest !== undefined && !DIGEST.test(digest)) throw invalid("a digest must be sha256: and 64 lowercase hex digits");
  const named = at < 0 ? input : input.slice(0, at);
  // The tag is after the last ":" only when no "/" follows it; otherwise that ":" is a port.
  const colon = named.lastIndexOf(":");
  const hasTag = colon > named.lastIndexOf("/");
  const given = hasTag ? named.slice(0, colon) : named;
  const tag = hasTag ? named.slice(colon + 1) : digest ? undefined : DEFAULT_TAG;
  if (tag !== undefined && !TAG.test(tag)) throw invalid(`invalid tag ${JSON.stringify(tag)}`);
  if (given.length > MAX_NAME_LENGTH) throw invalid(`repository name is longer than ${MAX_NAME_LENGTH} characters`);

  const components = given.split("/");
  // Docker reads the first component as a registry host only if it looks like one.
  const first = components[0]!;
  const isDomain = components.length > 1 && (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase());
  if (isDomain && !DOMAIN.test(first)) throw invalid(`invalid registry host ${JSON.stringify(first)}`);
  const repository = isDomain ? components.slice(1) : components;
  for (const component of repository) {
    if (PATH_COMPONENT.test(component)) continue;
    if (PATH_COMPONENT.test(component.toLowerCase())) throw invalid("repository name must be lowercase");
    throw invalid(`invalid name component ${JSON.stringify(component)} (use lowercase letters, digits and . _ - between them)`);
  }
  const domain = isDomain && !HUB_DOMAINS.has(first) ? first : DOCKER_HUB;
  // Docker Hub's official images live under library/, which Docker leaves out when it shows them.
  const official = domain === DOCKER_HUB && (repository.length === 1 || (repository.length === 2 && repository[0] === "library"));
  const path = official ? `library/${repository.at(-1)}` : repository.join("/");
  const name = domain !== DOCKER_HUB ? `${domain}/${path}` : official ? repository.at(-1)! : path;
  const ref = digest ? `${name}@${digest}` : `${name}:${tag}`;
  return { name, tag, digest, ref, domain, path };
}

/** The reference, or undefined where `input` is none (an image id, say). */
export function tryParseReference(input: string): ImageReference | undefined {
  try {
    return parseReference(input);
  } catch {
    return undefined;
  }
}
