// What the spawn trampoline applies to every process of a container, its payload and what
// `box exec` starts alike: capabilities, resource limits, no_new_privs and the seccomp filter.
import type { SpawnOptions } from "../sys/spawn.ts";
import type { ContainerSpec } from "../container/spec.ts";
import { capabilityMask } from "./capabilities.ts";
import { RLIMITS } from "./options.ts";

export function payloadRestrictions(spec: ContainerSpec): Pick<SpawnOptions, "capabilities" | "rlimits" | "noNewPrivileges" | "seccomp" | "seccompFlags" | "seccompAgent"> {
  return {
    // The trampoline keeps only what box has itself (a host may have taken some from it already):
    // --privileged and --cap-add ALL mean every capability box has.
    capabilities: {
      keep: capabilityMask(spec.capabilities),
      ...(spec.capabilitySets ? { sets: { effective: capabilityMask(spec.capabilitySets.effective), permitted: capabilityMask(spec.capabilitySets.permitted), inheritable: capabilityMask(spec.capabilitySets.inheritable), ambient: capabilityMask(spec.capabilitySets.ambient) } } : {}),
    },
    rlimits: (spec.ulimits ?? []).map((u) => ({ resource: RLIMITS[u.name]!, soft: u.soft, hard: u.hard })),
    noNewPrivileges: spec.noNewPrivileges === true,
    seccomp: spec.seccomp === undefined ? undefined : Buffer.from(spec.seccomp, "base64"),
    seccompFlags: spec.seccompFlags,
  };
}
