// Image references as Docker's CLI accepts them: [domain[:port]/]path[:tag]. A reference ends up
// in a file name, so it is checked here once and nothing downstream has to distrust it.
import { UserError } from "../container/errors.ts";

export interface ImageReference {
  /** Repository name without the tag, e.g. "library/busybox". */
  name: string;
  tag: string;
  /** name:tag — the form stored and shown. */
  ref: string;
}

export const DEFAULT_TAG = "latest";
const MAX_NAME_LENGTH = 255;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;

export function parseReference(input: string): ImageReference {
  const invalid = (why: string) => new UserError(`invalid image reference ${JSON.stringify(input)}: ${why}`);
  if (input === "") throw invalid("empty name");
  if (input.includes("@")) throw invalid("digest references are not supported here");
  // The tag is after the last ":" only when no "/" follows it; otherwise that ":" is a port.
  const colon = input.lastIndexOf(":");
  const hasTag = colon > input.lastIndexOf("/");
  const name = hasTag ? input.slice(0, colon) : input;
  const tag = hasTag ? input.slice(colon + 1) : DEFAULT_TAG;
  if (!TAG.test(tag)) throw invalid(`invalid tag ${JSON.stringify(tag)}`);
  if (name.length > MAX_NAME_LENGTH) throw invalid(`repository name is longer than ${MAX_NAME_LENGTH} characters`);

  const components = name.split("/");
  // Docker reads the first component as a registry host only if it looks like one.
  const first = components[0]!;
  const isDomain = components.length > 1 && (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase());
  if (isDomain && !DOMAIN.test(first)) throw invalid(`invalid registry host ${JSON.stringify(first)}`);
  for (const component of isDomain ? components.slice(1) : components) {
    if (PATH_COMPONENT.test(component)) continue;
    if (PATH_COMPONENT.test(component.toLowerCase())) throw invalid("repository name must be lowercase");
    throw invalid(`invalid name component ${JSON.stringify(component)} (use lowercase letters, digits and . _ - between them)`);
  }
  return { name, tag, ref: `${name}:${tag}` };
}
