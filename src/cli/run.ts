import { defineCommand } from "citty";
import { forwardSignals, pidNamespaceOf, runAttached, runDetached } from "../container/start.ts";
import { abandonInit, launchInit, takeEarlyInit, type PendingInit } from "../container/launch.ts";
import { keepState, lockName, type Store } from "../container/store.ts";
import { globals } from "./context.ts";
import { parseFlags, type ParsedFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { RESOURCE_ARGS, RESOURCE_LISTS } from "./resource-args.ts";
import { trace } from "../trace.ts";
import { exitNow } from "../sys/process.ts";
import { isErrno, unlink, write, writeFile, writeFileExclusive } from "../sys/fs.ts";
import { describeError, Errno } from "../sys/errors.ts";
import { parseDetachKeys } from "./detach-keys.ts";
import { isTerminal } from "../sys/tty.ts";
import { NoSuchContainer, UserError } from "../container/errors.ts";
import type { ResolvedImage } from "../image/store.ts";

export const RUN_ARGS = {
  image: { type: "positional", description: "Image to run (omit with --rootfs)", required: false },
  command: { type: "positional", description: "Command and its arguments (default: the image's)", required: false, valueHint: "ARG..." },
  rootfs: { type: "string", description: "Run from this directory instead of an image", valueHint: "DIR" },
  name: { type: "string", description: "Assign a name to the container" },
  hostname: { type: "string", description: "Container host name (default: the short id)" },
  env: { type: "string", alias: "e", description: "Set an environment variable (KEY=VALUE, or KEY to copy it)", valueHint: "KEY=VALUE" },
  "env-file": { type: "string", description: "Read environment variables from a file", valueHint: "FILE" },
  workdir: { type: "string", alias: "w", description: "Working directory inside the container", valueHint: "DIR" },
  user: { type: "string", alias: "u", description: "User: name|uid[:group|gid]", valueHint: "USER" },
  entrypoint: { type: "string", description: "Override the image's entrypoint", valueHint: "CMD" },
  volume: { type: "string", alias: "v", description: "Bind mount a host path", valueHint: "HOST:CONTAINER[:ro]" },
  "read-only": { type: "boolean", description: "Mount the container's root filesystem read-only" },
  rm: { type: "boolean", description: "Remove the container when it exits" },
  interactive: { type: "boolean", alias: "i", description: "Keep STDIN open" },
  tty: { type: "boolean", alias: "t", description: "Allocate a pseudo-TTY" },
  network: { type: "string", alias: "net", description: "Network: bridge (the default: box0, with NAT), none (only lo), host, container:NAME, or a network from box network create", valueHint: "NETWORK" },
  ip: { type: "string", description: "The container's IPv4 address on its network (user-defined networks)", valueHint: "IP" },
  "network-alias": { type: "string", alias: "net-alias", description: "Another name of the container on its network (user-defined networks)", valueHint: "NAME" },
  "mac-address": { type: "string", description: "The MAC of the container's eth0 (default: one made of its address)", valueHint: "MAC" },
  "add-host": { type: "string", description: "Add a line to /etc/hosts (IP may be host-gateway: the host's bridge address)", valueHint: "NAME:IP" },
  dns: { type: "string", description: "A nameserver for /etc/resolv.conf (replaces the host's)", valueHint: "IP" },
  "dns-search": { type: "string", description: "A search domain for /etc/resolv.conf", valueHint: "DOMAIN" },
  "dns-option": { type: "string", description: "An option for /etc/resolv.conf", valueHint: "OPTION" },
  "cap-add": { type: "string", description: "Add a capability (NAME, CAP_NAME or ALL)", valueHint: "CAP" },
  "cap-drop": { type: "string", description: "Drop a capability (NAME, CAP_NAME or ALL)", valueHint: "CAP" },
  privileged: { type: "boolean", description: "Every capability, every device, no masked /proc paths, /sys writable" },
  "security-opt": { type: "string", description: "no-new-privileges[:true|false], seccomp=unconfined", valueHint: "OPT" },
  device: { type: "string", description: "Give the container a host device", valueHint: "HOST[:CONTAINER][:rwm]" },
  ulimit: { type: "string", description: "A resource limit: nofile=1024[:2048], nproc=..., core=0, ...", valueHint: "NAME=SOFT[:HARD]" },
  userns: { type: "string", description: "User namespace: host (the default), or auto[:size=N] (root inside is an unprivileged range of host ids)", valueHint: "MODE" },
  uidmap: { type: "string", description: "Map container uids to host uids in a user namespace of the container's own", valueHint: "CONTAINER:HOST:SIZE" },
  gidmap: { type: "string", description: "Map container gids to host gids (default: as --uidmap)", valueHint: "CONTAINER:HOST:SIZE" },
  sysctl: { type: "string", description: "A namespaced sysctl: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*", valueHint: "KEY=VALUE" },
  publish: { type: "string", alias: "p", description: "Publish a container's port or range of ports on the host (bridge networks); no host port: a free one", valueHint: "[[IP:]HOST:]CONTAINER[/tcp|udp]" },
  "publish-all": { type: "boolean", alias: "P", description: "Publish every exposed port (the image's EXPOSE, --expose) on a free host port" },
  expose: { type: "string", description: "Expose a port or a range of ports (published by -P)", valueHint: "PORT[-LAST][/tcp|udp]" },
  detach: { type: "boolean", alias: "d", description: "Run in the background and print the container id" },
  label: { type: "string", alias: "l", description: "Set a label on the container", valueHint: "KEY=VALUE" },
  "log-opt": { type: "string", description: "Log option of a detached container: max-size=SIZE, max-file=N", valueHint: "OPT=VALUE" },
  "stop-signal": { type: "string", description: "Signal box stop sends first (default: the image's STOPSIGNAL, else SIGTERM)", valueHint: "SIGNAL" },
  restart: { type: "string", description: "Restart policy: no, on-failure[:N], always, unless-stopped", valueHint: "POLICY" },
  replace: { type: "boolean", description: "Remove a container with the same --name first (podman's)" },
  pull: { type: "string", description: "Pull the image: missing (the default), always, never", valueHint: "POLICY" },
  platform: { type: "string", description: "OS/ARCH[/VARIANT] to pull (default: this machine's)", valueHint: "PLATFORM" },
  quiet: { type: "boolean", alias: "q", description: "Pull without printing progress" },
  mount: { type: "string", description: "A mount: type=bind,source=DIR,target=PATH[,readonly] or type=tmpfs,target=PATH[,tmpfs-size=64m]", valueHint: "KEY=VALUE,..." },
  tmpfs: { type: "string", description: "Mount a tmpfs (noexec,nosuid,nodev unless the options say otherwise)", valueHint: "PATH[:OPTIONS]" },
  "volumes-from": { type: "string", description: "The volumes of another container", valueHint: "CONTAINER[:ro|rw]" },
  "shm-size": { type: "string", description: "Size of /dev/shm (default 64m)", valueHint: "BYTES" },
  "group-add": { type: "string", description: "Another group for the container's processes (name or gid)", valueHint: "GROUP" },
  init: { type: "boolean", description: "Run an init that reaps zombies and forwards signals (box always does: its init is PID 1)" },
  "label-file": { type: "string", description: "Read labels from a file (KEY=VALUE lines)", valueHint: "FILE" },
  annotation: { type: "string", description: "An annotation for the container (kept in its record, shown by inspect)", valueHint: "KEY=VALUE" },
  cidfile: { type: "string", description: "Write the container's id to this file (which must not exist)", valueHint: "FILE" },
  "stop-timeout": { type: "string", description: "Seconds box stop waits before SIGKILL (default 10)", valueHint: "SECONDS" },
  domainname: { type: "string", description: "Container NIS domain name", valueHint: "NAME" },
  "oom-score-adj": { type: "string", description: "The container's OOM score adjustment (-1000 to 1000)", valueHint: "N" },
  "memory-swappiness": { type: "string", description: "Swappiness of the container's memory (0 to 100; cgroup v1)", valueHint: "N" },
  "cgroup-parent": { type: "string", description: "Make the container's cgroup below this one", valueHint: "PATH" },
  cgroupns: { type: "string", description: "Cgroup namespace: private (the default) or host", valueHint: "MODE" },
  ipc: { type: "string", description: "IPC namespace: private (the default), shareable, none, host or container:NAME", valueHint: "MODE" },
  uts: { type: "string", description: "UTS namespace: private (the default) or host", valueHint: "MODE" },
  pid: { type: "string", description: "PID namespace: private (the default), host or container:NAME", valueHint: "MODE" },
  "device-cgroup-rule": { type: "string", description: "A rule for the devices cgroup, like 'c 42:* rmw'", valueHint: "RULE" },
  "blkio-weight-device": { type: "string", description: "Relative block I/O weight of a device (10..1000)", valueHint: "PATH:WEIGHT" },
  "log-driver": { type: "string", description: "Where a detached container's output goes: json-file (the default), local, none", valueHint: "DRIVER" },
  attach: { type: "string", alias: "a", description: "Attach to STDIN, STDOUT or STDERR (default: all)", valueHint: "STREAM" },
  "sig-proxy": { type: "boolean", description: "Pass the signals box run receives to the container (default true)" },
  "detach-keys": { type: "string", description: "Keys that detach from the container (accepted; see the README)", valueHint: "KEYS" },
  isolation: { type: "string", description: "Container isolation: default (the only one on Linux)", valueHint: "MODE" },
  "health-cmd": { type: "string", description: "Command to run to check health (run with /bin/sh -c)", valueHint: "CMD" },
  "health-interval": { type: "string", description: "Time between checks (default 30s)", valueHint: "DURATION" },
  "health-timeout": { type: "string", description: "Longest a check may run (default 30s)", valueHint: "DURATION" },
  "health-retries": { type: "string", description: "Failures in a row that make it unhealthy (default 3)", valueHint: "N" },
  "health-start-period": { type: "string", description: "Time to start in, whose failures do not count (default 0s)", valueHint: "DURATION" },
  "health-start-interval": { type: "string", description: "Time between checks in the start period (default 5s)", valueHint: "DURATION" },
  "health-on-failure": { type: "string", description: "Once unhealthy: none (the default), kill, restart or stop (Podman's)", valueHint: "ACTION" },
  "no-healthcheck": { type: "boolean", description: "Disable any health check of the image" },
  ...RESOURCE_ARGS,
} as const;

export const RUN_LISTS = ["mount", "tmpfs", "volumes-from", "group-add", "label-file", "annotation", "device-cgroup-rule", "blkio-weight-device", "attach", "env", "env-file", "volume", "label", "log-opt", "publish", "expose", "add-host", "network-alias", "cap-add", "cap-drop", "security-opt", "ulimit", "sysctl", "device", "uidmap", "gidmap", "dns", "dns-search", "dns-option", ...RESOURCE_LISTS];

export const runCommand = defineCommand({
  meta: {
    name: "run",
    description: "Run a command in a new container",
  },
  args: RUN_ARGS,
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, RUN_LISTS);
    if (flags.help) return printHelp(cmd, RUN_EXAMPLES);
    const { store } = globals();
    // Docker's rule: with -i the terminal's input goes to the pty, so it must be a terminal.
    if (flags.values.tty && flags.values.interactive && !flags.values.detach && !isTerminal(0)) throw new UserError("the input device is not a TTY");
    checkAttachFlags(flags);
    const cidfile = claimCidfile(flags.values.cidfile as string | undefined);
    const proxySignals = flags.values["sig-proxy"] !== false;
    // Started first, so that its runtime starts while the container is being created; one that
    // goes into another PID namespace (--pid) waits for the spec that says which.
    const sharedPid = typeof flags.values.pid === "string" && flags.values.pid !== "" && flags.values.pid !== "private";
    const early = takeEarlyInit(store);
    if (early && sharedPid) abandonInit(early);
    let init: PendingInit | undefined = sharedPid ? undefined : (early ?? launchInit(store));
    let spec, created, stopEarly;
    try {
      // Imported only now: evaluating these modules overlaps with the init's start.
      const [{ buildRunSpec }, { createContainer }] = await Promise.all([import("./run-spec.ts"), import("../container/create.ts")]);
      spec = buildRunSpec(store, flags, process.env, await ensureImage(store, flags));
      trace("cli", "spec-built");
      const releaseName = await replaceNamed(store, flags, spec.name);
      try {
        // From here a signal goes to the init (one still waiting for its plan dies of it, and the
        // start is cleaned up as any failed start; see forwardSignals for one that is stuck).
        // Creating the container is synchronous: a signal that comes meanwhile is handled right
        // after, by this handler or by runAttached's, which takes over before this one goes.
        const started = (init ??= launchInit(store, undefined, pidNamespaceOf(store, spec)));
        stopEarly = proxySignals ? forwardSignals(started.pid, () => !started.reported) : () => {};
        created = createContainer(store, spec);
      } finally {
        releaseName();
      }
      trace("cli", "created");
      cidfile?.write(spec.id);
    } catch (e) {
      stopEarly?.();
      if (init) abandonInit(init);
      cidfile?.abandon();
      throw e;
    }
    // The container's lock is held until it has its state: no rm or prune takes it meanwhile.
    const { paths, unlock } = created;
    if (spec.detach) {
      await runDetached(init, store, spec, paths);
      unlock();
      stopEarly();
      write(1, `${spec.id}\n`);
      // The init's sync pipe is still being read: exit without waiting for that.
      exitNow(0);
    }
    const code = await runAttached(init, store, spec, paths, { started: unlock, handOver: stopEarly, proxySignals });
    trace("cli", "done");
    // Nothing of box's is buffered (the payload wrote to our stdio itself): skip Bun's teardown.
    exitNow(code);
  },
});

export const createCommand = defineCommand({
  meta: { name: "create", description: "Create a container without starting it (box start runs it)" },
  args: RUN_ARGS,
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, RUN_LISTS);
    if (flags.help) return printHelp(cmd, ["box create --name job --rootfs ./rootfs /bin/sh -c 'echo hi'", "box start -a job"]);
    const { store } = globals();
    checkAttachFlags(flags);
    const cidfile = claimCidfile(flags.values.cidfile as string | undefined);
    try {
      const [{ buildRunSpec }, { createContainer }] = await Promise.all([import("./run-spec.ts"), import("../container/create.ts")]);
      const spec = buildRunSpec(store, flags, process.env, await ensureImage(store, flags));
      const releaseName = await replaceNamed(store, flags, spec.name);
      let made;
      try {
        made = createContainer(store, spec);
      } finally {
        releaseName();
      }
      const { paths, unlock } = made;
      // What `ps -a` shows after a reboot (which takes the run dir that tells it today).
      keepState(paths, { status: "created" });
      unlock();
      cidfile?.write(spec.id);
      write(1, `${spec.id}\n`);
    } catch (e) {
      cidfile?.abandon();
      throw e;
    }
  },
});

/**
 * The image to run (none with --rootfs): pulled first when missing, or always (Docker's --pull;
 * progress on stderr). The image store is loaded only here, so a --rootfs run never pays for it.
 */
async function ensureImage(store: Store, flags: ParsedFlags): Promise<ResolvedImage | undefined> {
  const ref = flags.positionals[0];
  if (flags.values.rootfs !== undefined || ref === undefined) return undefined;
  const policy = (flags.values.pull as string | undefined) ?? "missing";
  if (!["missing", "always", "never"].includes(policy)) throw new UserError(`invalid --pull "${policy}": use missing, always or never`);
  const { resolveImage, tryResolveImage } = await import("../image/store.ts");
  const image = policy === "always" ? undefined : tryResolveImage(store.root, ref);
  if (image) return image;
  // Not there, and not to be pulled: resolveImage says so.
  if (policy === "never") return resolveImage(store.root, ref);
  const { pull } = await import("./pull.ts");
  const quiet = flags.values.quiet === true;
  // Docker's words when it goes to the registry for `run`.
  if (policy === "missing" && !quiet) write(2, `Unable to find image '${(await import("../image/reference.ts")).parseReference(ref).ref}' locally\n`);
  await pull(ref, { platform: flags.values.platform as string | undefined, quiet }, 2);
  return resolveImage(store.root, ref);
}

/**
 * -a STREAM: stdin, stdout, stderr (any case), not with -d (Docker's rules). --detach-keys is
 * checked for its form only: an attached box run owns its container and cannot leave it
 * (README, "Where box differs").
 */
function checkAttachFlags(flags: ParsedFlags): void {
  const attach = (flags.values.attach as string[] | undefined) ?? [];
  for (const a of attach) {
    if (!["stdin", "stdout", "stderr"].includes(a.toLowerCase())) throw new UserError(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
  }
  if (attach.length && flags.values.detach === true) throw new UserError("conflicting options: cannot specify both --attach and --detach");
  const keys = flags.values["detach-keys"];
  if (typeof keys === "string") parseDetachKeys(keys);
}

/**
 * --cidfile: Docker's rule, the file must not exist (another container may own it). Made empty
 * at once, exclusively; the id is written once the container exists, and a failed start
 * removes it again.
 */
function claimCidfile(path: string | undefined): { write(id: string): void; abandon(): void } | undefined {
  if (path === undefined) return undefined;
  try {
    writeFileExclusive(path, "", 0o644);
  } catch (e) {
    if (isErrno(e, Errno.EEXIST)) throw new UserError(`container ID file found, make sure the other container isn't running or delete ${path}`);
    throw new UserError(`--cidfile ${path}: ${describeError(e)}`);
  }
  return {
    write: (id) => writeFile(path, id),
    abandon: () => {
      try {
        unlink(path);
      } catch {}
    },
  };
}

/**
 * --replace (podman's flag): the container that holds --name goes first, running or not. Returns
 * the release of the name's lock, which the caller holds until the new container has claimed the
 * name: of several at once, each replaces the one before it, and one container keeps the name.
 */
async function replaceNamed(store: Store, flags: ParsedFlags, name: string): Promise<() => void> {
  if (flags.values.replace !== true || typeof flags.values.name !== "string") return () => {};
  const [{ findNamed }, { removeStoredContainer }] = await Promise.all([import("../container/lookup.ts"), import("../container/remove.ts")]);
  const release = lockName(store, name);
  try {
    const old = findNamed(store, name);
    if (old) await removeStoredContainer(store, old, true);
  } catch (e) {
    // Unless it went meanwhile (an --rm container's end, a box rm).
    if (!(e instanceof NoSuchContainer)) {
      release();
      throw e;
    }
  }
  return release;
}

const RUN_EXAMPLES = [
  "box run -d --name web busybox httpd -f -p 8080",
  "box run --rm --rootfs ./rootfs /bin/echo hello",
  "box run --rm -it --hostname web -e MODE=dev busybox sh",
  "box run --rm -u nobody -v /srv/data:/data:ro -w /data busybox ls",
  "box run --rm -m 256m --cpus 0.5 --pids-limit 100 busybox sh",
];
