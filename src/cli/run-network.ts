import { UserError } from "../container/errors.ts";
import type { NetworkMode } from "../container/spec.ts";
import type { ParsedFlags } from "./flags.ts";

/** Needed before the rest of the spec: it decides the init's namespaces. */
export function parseNetwork(v: ParsedFlags["values"][string]): NetworkMode {
  if (v === undefined || v === "none" || v === "host") return v ?? "none";
  throw new UserError(`network ${v} not found: use none or host`);
}
