// What the spawn trampoline applies to every process of a container, its payload and what
// `box exec` starts alike: capabilities, resource limits, no_new_privs and the seccomp filter.
import type { SpawnOptions } from "../sys/spawn.ts";
import type { ContainerSpec } from "../container/spec.ts";
import { boundingSet, capabilityMask } from "./capabilities.ts";
import { RLIMITS } from "./options.ts";

export function payloadRestrictions(spec: ContainerSpec, lastCapability: number): Pick<SpawnOptions, "capabilities" | "rlimits" | "noNewPrivileges" | "seccomp"> {
  return {
    // Only what box has itself can be given (a host may have taken some from it already):
    // --privileged and --cap-add ALL mean every capability box has.
    capabilities: { keep: capabilityMask(spec.capabilities) & boundingSet(), last: lastCapability },
    rlimits: (spec.ulimits ?? []).map((u) => ({ resource: RLIMITS[u.name]!, soft: u.soft, hard: u.hard })),
    noNewPrivileges: spec.noNewPrivileges === true,
    seccomp: spec.seccomp === undefined ? undefined : Buffer.from(spec.seccomp, "base64"),
  };
}
