// box oci: runc's command line (global flags, then a verb), so that containerd's shim and dockerd
// can drive box as they drive runc; also what box does when its executable is named runc.
// citty for its types only: its module loads node:util (~3 ms), which no runtime call needs.
import type { ArgsDef, CommandDef } from "citty";
import { VERSION } from "../version.ts";
import { parseFlags, parseSignal, type ParsedFlags } from "./flags.ts";
import { UserError, EXIT_BOX_ERROR } from "../container/errors.ts";
import { listContainerIds, type Store } from "../container/store.ts";
import { describeError } from "../sys/errors.ts";
import { exists, writeFile, writeWaiting } from "../sys/fs.ts";
import { join } from "../path.ts";
import { isRootless } from "../sys/process.ts";
import { containerConfig } from "../container/store.ts";
import { OCI_VERSION } from "../oci/state.ts";
import { containerExists, stateOf, validateId } from "../oci/found.ts";
import type { ExecProcess } from "../oci/exec.ts";
import { MAX_PRESERVED_FDS } from "../init/self.ts";
import { debug, logError, setLog } from "../oci/log.ts";
import { ociStore, SECCOMP_CACHE } from "../oci/store.ts";
import { trace } from "../trace.ts";
import { columns, wrap } from "./help.ts";

// Each verb loads what it needs when it runs (every module loaded costs start time): state is a
// few files read, create the whole engine; containerd's shim calls box several times per container.
const create = () => import("../oci/create.ts");
const remove = () => import("../oci/delete.ts");
const exec = () => import("../oci/exec.ts");
const update = () => import("../oci/update.ts");
const control = () => import("../oci/control.ts");
const config = () => import("../oci/config.ts");
const defaults = () => import("../oci/defaults.ts");

/** To stdout, without node's stream machinery (~3 ms of every call to load). */
const print = (text: string): void => writeWaiting(1, text);

const GLOBAL: ArgsDef = {
  root: { type: "string", description: "State of box oci's containers (default /run/box-oci)" },
  log: { type: "string", description: "Log file (errors for the caller, as runc's)" },
  "log-format": { type: "string", description: "text or json" },
  debug: { type: "boolean", description: "Log each step (to --log's file, else stderr)" },
  "systemd-cgroup": { type: "boolean", description: "Refused: box manages cgroups through cgroupfs" },
  rootless: { type: "string", description: "true, false or auto" },
  version: { type: "boolean", alias: "v", description: "Print the version" },
};

type Verb = {
  describe: string;
  usage: string;
  flags: ArgsDef;
  /** String flags that may repeat. */
  lists?: string[];
  /** Flags end at the first positional (exec: the command's own flags follow the id). */
  stopAtPositional?: boolean;
  run: (store: Store, f: ParsedFlags) => Promise<void> | void;
};

const BUNDLE_FLAGS: ArgsDef = {
  bundle: { type: "string", alias: "b", description: "The bundle's directory (default: the current one)" },
  "pid-file": { type: "string", description: "Write the container's pid (its init's) here" },
  "console-socket": { type: "string", description: "Unix socket to send the pty's master to (process.terminal)" },
  "no-pivot": { type: "boolean", description: "Accepted: box pivot_roots in a mount namespace of its own" },
  "no-new-keyring": { type: "boolean", description: "Accepted: box makes no session keyring" },
  "preserve-fds": { type: "string", description: "Pass the caller's descriptors 3 .. 3+N-1 on to the process" },
};

/** --preserve-fds N: how many of the caller's descriptors after stderr the process gets. */
function preservedFds(f: ParsedFlags): number {
  const text = f.values["preserve-fds"] as string | undefined;
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text) || Number(text) > MAX_PRESERVED_FDS) throw new UserError(`invalid --preserve-fds "${text}": a count of descriptors, 0 to ${MAX_PRESERVED_FDS}`);
  return Number(text);
}

function oneId(f: ParsedFlags, verb: string): string {
  if (f.positionals.length !== 1) throw new UserError(`"box oci ${verb}" requires exactly 1 argument: the container id`);
  return validateId(f.positionals[0]);
}

async function bundleSpec(store: Store, f: ParsedFlags, verb: string) {
  const id = oneId(f, verb);
  const preserveFds = preservedFds(f);
  const spec = (await config()).loadBundle({ id, bundle: (f.values.bundle as string | undefined) ?? process.cwd(), seccompCache: join(store.root, SECCOMP_CACHE) });
  if (preserveFds) spec.runtime!.preserveFds = preserveFds;
  const detached = verb === "create" || f.values.detach === true;
  if (spec.tty && detached && !f.values["console-socket"]) throw new UserError(`process.terminal needs --console-socket for ${verb}${verb === "run" ? " -d" : ""} (the pty's master goes there)`);
  return spec;
}

function bundleOptions(f: ParsedFlags): { pidFile?: string; consoleSocket?: string } {
  return { pidFile: f.values["pid-file"] as string | undefined, consoleSocket: f.values["console-socket"] as string | undefined };
}

/** runc update's single-limit flags: the LinuxResources section and field each sets. */
const UPDATE_FLAGS: Record<string, [string, string, string]> = {
  memory: ["memory", "limit", "Memory limit (bytes, or 64m)"],
  "memory-reservation": ["memory", "reservation", "Memory soft limit"],
  "memory-swap": ["memory", "swap", "Memory plus swap limit"],
  "kernel-memory": ["memory", "kernel", "Ignored (kernel memory limits are gone)"],
  "kernel-memory-tcp": ["memory", "kernelTCP", "Ignored (kernel memory limits are gone)"],
  "cpu-share": ["cpu", "shares", "CPU shares"],
  "cpu-period": ["cpu", "period", "CFS period (µs)"],
  "cpu-quota": ["cpu", "quota", "CFS quota (µs)"],
  "cpu-rt-period": ["cpu", "realtimePeriod", "Realtime period (µs)"],
  "cpu-rt-runtime": ["cpu", "realtimeRuntime", "Realtime runtime (µs)"],
  "cpu-idle": ["cpu", "idle", "SCHED_IDLE for the cgroup (0 or 1)"],
  "cpuset-cpus": ["cpu", "cpus", "CPUs allowed (0-2,4)"],
  "cpuset-mems": ["cpu", "mems", "Memory nodes allowed"],
  "pids-limit": ["pids", "limit", "Maximum number of tasks"],
  "blkio-weight": ["blockIO", "weight", "Block IO weight (10-1000)"],
};

const VERBS: Record<string, Verb> = {
  spec: {
    describe: "Write a default config.json into the bundle directory",
    usage: "spec [--bundle DIR] [--rootless]",
    flags: { bundle: BUNDLE_FLAGS.bundle!, rootless: { type: "boolean", description: "For a user namespace (refused by box oci create for now)" } },
    run: async (_store, f) => {
      const path = join((f.values.bundle as string | undefined) ?? process.cwd(), "config.json");
      if (exists(path)) throw new UserError(`${path} exists; remove it first`);
      writeFile(path, `${JSON.stringify((await defaults()).defaultConfig(f.values.rootless === true), null, "\t")}\n`, { mode: 0o644 });
    },
  },
  create: {
    describe: "Create a container from a bundle; its process starts at `start`",
    usage: "create [--bundle DIR] [--pid-file F] [--console-socket S] ID",
    flags: BUNDLE_FLAGS,
    run: async (store, f) => {
      await (await create()).createContainerFromBundle(store, () => bundleSpec(store, f, "create"), bundleOptions(f));
      // The init's sync pipe is still being read: exit without waiting for it.
      process.exit(0);
    },
  },
  start: {
    describe: "Start the process of a created container",
    usage: "start ID",
    flags: {},
    run: async (store, f) => (await control()).startContainer(store, oneId(f, "start")),
  },
  run: {
    describe: "Create and start a container; without -d, wait for it and exit with its status",
    usage: "run [-d] [--keep] [--bundle DIR] [--pid-file F] ID",
    flags: { ...BUNDLE_FLAGS, detach: { type: "boolean", alias: "d", description: "Return once it runs" }, keep: { type: "boolean", description: "Do not delete it once it has exited" } },
    run: async (store, f) => {
      const [{ createContainerFromBundle, waitForInit }, { deleteContainer }, { runPoststart, startContainer }] = await Promise.all([create(), remove(), control()]);
      const { spec, init, messages, started } = await createContainerFromBundle(store, () => bundleSpec(store, f, "run"), { ...bundleOptions(f), startAtOnce: true });
      try {
        if (started) await runPoststart(spec, init.pid);
        else await startContainer(store, spec.id);
      } catch (e) {
        await deleteContainer(store, spec.id, true).catch(() => {});
        throw e;
      }
      if (f.values.detach) process.exit(0);
      const code = await waitForInit(init, messages);
      trace("cli", "oci-exited");
      if (!f.values.keep) await deleteContainer(store, spec.id, true);
      trace("cli", "oci-deleted");
      process.exit(code);
    },
  },
  state: {
    describe: "Print a container's state (the runtime spec's JSON)",
    usage: "state ID",
    flags: {},
    run: (store, f) => {
      print(`${JSON.stringify(stateOf(store, oneId(f, "state")), null, 2)}\n`);
    },
  },
  kill: {
    describe: "Send a signal (default SIGTERM) to a container's process",
    usage: "kill [--all] ID [SIGNAL]",
    flags: { all: { type: "boolean", alias: "a", description: "To every process of the container" } },
    run: async (store, f) => {
      if (f.positionals.length < 1 || f.positionals.length > 2) throw new UserError('"box oci kill" requires the container id and at most a signal');
      // 0, as kill(2)'s: only whether the container runs.
      const signal = f.positionals[1] === "0" ? 0 : parseSignal(f.positionals[1] ?? "SIGTERM");
      return (await control()).killContainer(store, validateId(f.positionals[0]), signal, f.values.all === true);
    },
  },
  delete: {
    describe: "Remove a stopped container (with --force, any)",
    usage: "delete [--force] ID",
    flags: { force: { type: "boolean", alias: "f", description: "Kill it first if it runs" } },
    run: async (store, f) => {
      const id = oneId(f, "delete");
      // As runc: --force of a container that is not there is no error (a cleanup after a failed create).
      if (f.values.force === true && !containerExists(store, id)) return;
      await (await remove()).deleteContainer(store, id, f.values.force === true);
    },
  },
  ps: {
    describe: "List a container's processes",
    usage: "ps [--format table|json] ID [-ef | -e -x]",
    flags: { format: { type: "string", alias: "f", description: "table (ps -ef's columns) or json (the pids)" } },
    stopAtPositional: true,
    run: async (store, f) => {
      const [first, ...psOptions] = f.positionals;
      const id = validateId(first);
      const format = (f.values.format as string | undefined) ?? "table";
      if (format !== "table" && format !== "json") throw new UserError(`invalid --format "${format}": table or json`);
      // runc hands these to ps(1); box runs no ps: it has ps -ef's table and ps x's (BSD's).
      const bsdOption = (o: string) => /^-?[aex]*x[aex]*$/.test(o);
      const bsd = psOptions.some(bsdOption);
      if (psOptions.some((o) => !bsdOption(o) && !["-e", "-ef", "-f", "-A"].includes(o)) || (bsd && psOptions.some((o) => o.includes("f")))) {
        throw new UserError(`ps options ${psOptions.join(" ")}: box oci ps shows ps -ef's columns or ps x's (it runs no ps)`);
      }
      if (format === "json" && psOptions.length) throw new UserError("ps options do not go with --format json");
      const pids = (await control()).processesOf(store, id);
      if (format === "json") return void print(`${JSON.stringify(pids)}\n`);
      print((await import("../oci/ps.ts")).psTable(pids, bsd));
    },
  },
  exec: {
    describe: "Run a new process in a running container: --process FILE (process.json), or the command after the id",
    usage: "exec [--process FILE | [-t] [--cwd DIR] [-e KEY=VALUE] [-u UID[:GID]]] [-d] [--pid-file F] [--console-socket S] ID [COMMAND...]",
    flags: {
      process: { type: "string", alias: "p", description: "A process.json" },
      detach: { type: "boolean", alias: "d", description: "Return once it runs" },
      "pid-file": BUNDLE_FLAGS["pid-file"]!,
      "console-socket": BUNDLE_FLAGS["console-socket"]!,
      tty: { type: "boolean", alias: "t", description: "A terminal" },
      cwd: { type: "string", description: "Working directory" },
      env: { type: "string", alias: "e", description: "KEY=VALUE, on top of the container's" },
      user: { type: "string", alias: "u", description: "UID[:GID]" },
      "additional-gids": { type: "string", alias: "g", description: "Supplementary group ids" },
      "preserve-fds": BUNDLE_FLAGS["preserve-fds"]!,
      cgroup: { type: "string", description: "A sub-cgroup of the container's to run in (PATH, or CONTROLLER[,..]:PATH)" },
      "ignore-paused": { type: "boolean", description: "Exec in a paused container too (the process starts frozen)" },
      cap: { type: "string", alias: "c", description: "Add a capability (every set)" },
      "no-new-privs": { type: "boolean", description: "Set no_new_privs" },
      apparmor: { type: "string", description: "An AppArmor profile (ignored where AppArmor is off)" },
      "process-label": { type: "string", description: "An SELinux label (ignored where SELinux is off)" },
    },
    lists: ["env", "additional-gids", "cap"],
    stopAtPositional: true,
    run: async (store, f) => {
      const [first, ...command] = f.positionals;
      const id = validateId(first);
      const p = execProcess(store, id, f, command, await config());
      const code = await (await exec()).execProcess(store, id, p, {
        detach: f.values.detach === true,
        pidFile: f.values["pid-file"] as string | undefined,
        consoleSocket: f.values["console-socket"] as string | undefined,
        preserveFds: preservedFds(f),
        cgroup: f.values.cgroup as string | undefined,
        ignorePaused: f.values["ignore-paused"] === true,
      });
      // Detached, the new process holds this process's stdio: exit without waiting for anything.
      // Attached, a read of the caller's terminal may still wait for a key that never comes.
      process.exit(f.values.detach ? 0 : code);
    },
  },
  update: {
    describe: "Change a running container's limits: --resources FILE (or - for stdin), the runtime spec's LinuxResources, and/or runc's single-limit flags",
    usage: "update [--resources FILE|-] [--memory N] [--cpu-quota N] [...] ID",
    flags: { resources: { type: "string", alias: "r", description: "LinuxResources JSON; - reads stdin" }, ...Object.fromEntries(Object.keys(UPDATE_FLAGS).map((k) => [k, { type: "string", description: UPDATE_FLAGS[k]![2] }])) },
    run: async (store, f) => {
      const id = oneId(f, "update");
      const file = f.values.resources as string | undefined;
      let doc: Record<string, Record<string, unknown>> = {};
      if (file !== undefined) {
        const text = file === "-" ? await boundedStdin() : (await config()).readDocument(file);
        try {
          doc = JSON.parse(text);
        } catch (e) {
          throw new UserError(`--resources: not valid JSON (${(e as Error).message})`);
        }
        if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new UserError("--resources: not a LinuxResources object");
        doc = (await config()).canonicalResources(doc) as typeof doc;
      }
      // Each flag sets its field over the file's, as runc's.
      const { parseBytes } = await import("./resources.ts");
      for (const [flag, [section, field]] of Object.entries(UPDATE_FLAGS)) {
        const text = f.values[flag] as string | undefined;
        if (text === undefined) continue;
        // -1: unlimited, for the memory limits as for the others (runc's).
        const value = section === "memory" && text !== "-1" ? parseBytes(`--${flag}`, text) : field === "cpus" || field === "mems" ? text : Number(text);
        if (typeof value === "number" && !Number.isSafeInteger(value)) throw new UserError(`invalid --${flag} "${text}": an integer`);
        doc[section] = { ...(doc[section] ?? {}), [field]: value };
      }
      (await update()).updateResources(store, id, doc);
    },
  },
  events: {
    describe: "The container's counters as JSON: once with --stats, else every --interval, and an oom event when the OOM killer takes one of its processes",
    usage: "events [--stats] [--interval 5s] ID",
    flags: { stats: { type: "boolean", description: "Once, then exit" }, interval: { type: "string", description: "Between two, e.g. 5s (default)" } },
    run: async (store, f) => {
      const id = oneId(f, "events");
      const interval = /^(\d+)(ms|s|m)?$/.exec((f.values.interval as string | undefined) ?? "5s");
      if (!interval) throw new UserError(`invalid --interval "${f.values.interval}": e.g. 500ms, 5s, 1m`);
      const ms = Number(interval[1]) * ({ ms: 1, s: 1000, m: 60000 } as Record<string, number>)[interval[2] ?? "s"]!;
      const emit = (event: object) => void print(`${JSON.stringify(event)}\n`);
      const { followEvents, statsEvent } = await update();
      if (f.values.stats) return emit(statsEvent(store, id));
      await followEvents(store, id, ms, emit);
    },
  },
  pause: {
    describe: "Freeze every process of a container",
    usage: "pause ID",
    flags: {},
    run: async (store, f) => (await control()).freezeContainer(store, oneId(f, "pause"), true),
  },
  resume: {
    describe: "Thaw a paused container",
    usage: "resume ID",
    flags: {},
    run: async (store, f) => (await control()).freezeContainer(store, oneId(f, "resume"), false),
  },
  list: {
    describe: "List the containers",
    usage: "list [--format table|json] [-q]",
    flags: { format: { type: "string", alias: "f", description: "table or json" }, quiet: { type: "boolean", alias: "q", description: "Ids only" } },
    run: (store, f) => {
      // By id, as runc lists them.
      const states = listContainerIds(store).sort().flatMap((id) => {
        try {
          return [stateOf(store, id)];
        } catch {
          return [];
        }
      });
      if (f.values.quiet) return void print(states.map((s) => `${s.id}\n`).join(""));
      if (f.values.format === "json") return void print(`${JSON.stringify(states)}\n`);
      const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...states.map((s) => [s.id, String(s.pid ?? 0), s.status, s.bundle, s.created, s.owner || "root"])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      print(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("   ").trimEnd()).join("\n") + "\n");
    },
  },
  features: {
    describe: "Print what this runtime supports (the runtime spec's features JSON)",
    usage: "features",
    flags: {},
    run: async () => void print(`${JSON.stringify((await defaults()).features(), null, 2)}\n`),
  },
  // runc's, done with CRIU, which box does not use: named, so that a caller gets one line saying so.
  ...Object.fromEntries(
    (["checkpoint", "restore"] as const).map((name): [string, Verb] => [
      name,
      {
        describe: `Refused: box cannot ${name} a container (runc does it with CRIU, which box does not use)`,
        usage: `${name} ID`,
        flags: {},
        stopAtPositional: true,
        run: () => {
          throw new UserError(`${name}: box cannot ${name} a container (runc does it with CRIU, which box does not use)`);
        },
      },
    ]),
  ),
};

/**
 * exec's process: --process's JSON, or (runc's other form) the container's own process with the
 * command, and -t, --cwd, -e, -u, -g, from the command line.
 */
function execProcess(store: Store, id: string, f: ParsedFlags, command: string[], { processSpec, readDocument }: typeof import("../oci/config.ts")): ExecProcess {
  const doc = execDocument(store, id, f, command, readDocument);
  // runc's --cap: bounding, effective and permitted, and ambient where the process has inheritable ones.
  const caps = doc.capabilities ?? {};
  for (const c of (f.values.cap as string[] | undefined) ?? []) {
    const name = `CAP_${c.toUpperCase().replace(/^CAP_/, "")}`;
    for (const set of ["bounding", "effective", "permitted", ...(caps.inheritable?.length ? ["ambient"] : [])]) caps[set] = [...(caps[set] ?? []), name];
  }
  doc.capabilities = caps;
  if (f.values["no-new-privs"]) doc.noNewPrivileges = true;
  // Checked as a process.json's are: ignored where AppArmor or SELinux is off, refused where on.
  if (f.values.apparmor !== undefined) doc.apparmorProfile = f.values.apparmor;
  if (f.values["process-label"] !== undefined) doc.selinuxLabel = f.values["process-label"];
  return processSpec(doc, f.values.process === undefined ? "exec" : "process.json");
}

/** exec's process as a runtime-spec process document: --process's, or made from the container's and the command line. */
function execDocument(store: Store, id: string, f: ParsedFlags, command: string[], readDocument: (path: string) => string): Record<string, any> {
  const file = f.values.process as string | undefined;
  if (file !== undefined) {
    if (command.length) throw new UserError("exec: give --process or a command, not both");
    const text = readDocument(file);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new UserError(`--process ${file}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new UserError(`--process ${file}: not a process object`);
    return doc as Record<string, any>;
  }
  if (!command.length) throw new UserError('"box oci exec" needs --process FILE or a command after the container id');
  let spec;
  try {
    spec = containerConfig(store, id);
  } catch {
    throw new UserError(`container ${id} does not exist`);
  }
  const user = (f.values.user as string | undefined) ?? spec.user;
  const ids = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!ids) throw new UserError(`invalid --user "${user}": UID[:GID]`);
  const groups = ((f.values["additional-gids"] as string[] | undefined) ?? []).map((g) => {
    if (!/^\d+$/.test(g)) throw new UserError(`invalid --additional-gids "${g}": a group id`);
    return Number(g);
  });
  return {
    args: command,
    env: [...spec.env, ...((f.values.env as string[] | undefined) ?? [])],
    cwd: (f.values.cwd as string | undefined) ?? spec.workdir,
    terminal: f.values.tty === true,
    user: { uid: Number(ids[1]), gid: Number(ids[2] ?? 0), additionalGids: groups.length ? groups : spec.runtime?.groups },
    // The container's process's sets, as runc's exec takes them from config.json.
    capabilities: Object.fromEntries(Object.entries({ bounding: spec.capabilities, ...spec.capabilitySets }).map(([k, set]) => [k, set.map((c) => `CAP_${c}`)])),
    noNewPrivileges: spec.noNewPrivileges,
    rlimits: (spec.ulimits ?? []).map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, soft: u.soft < 0 ? 2 ** 64 : u.soft, hard: u.hard < 0 ? 2 ** 64 : u.hard })),
  };
}

/** update --resources -: standard input, refused past 4 MiB. */
async function boundedStdin(): Promise<string> {
  let text = "";
  for await (const chunk of Bun.stdin.stream()) {
    text += new TextDecoder().decode(chunk);
    if (text.length > 4 << 20) throw new UserError("--resources -: standard input is larger than 4 MiB");
  }
  return text;
}


/** runc's status for any error of its own; exec's is 255, out of the range of the process's own statuses. */
const RUNC_ERROR = 1;
const RUNC_EXEC_ERROR = 255;

/** Help in runc's layout (NAME, USAGE, ...), which scripts and runc's tests read by line. */
function help(prog: string): string {
  return [
    "NAME:",
    `   ${prog} - Open Container Initiative runtime`,
    "",
    "USAGE:",
    `   ${prog} [global options] command [command options] [arguments...]`,
    "",
    ...section(`box ${VERSION} with runc's command line, for containerd, dockerd and people; box behaves so also when its executable is named runc.`, ""),
    "",
    "COMMANDS:",
    columns(Object.entries(VERBS).map(([name, v]) => [name, v.describe])),
    "",
    "GLOBAL OPTIONS:",
    columns(Object.entries(GLOBAL).map(([name, d]) => [`--${name}`, (d as { description?: string }).description ?? ""])),
    "",
  ].join("\n");
}

function verbHelp(prog: string, name: string, v: Verb): string {
  return ["NAME:", ...section(`${prog} ${name} - ${v.describe}`), "", "USAGE:", ...section(`${prog} ${v.usage}`), ""].join("\n") + "\n";
}

/** A paragraph of runc's help: three columns in, within 80 (a name or usage continues further in). */
function section(text: string, continued = "  "): string[] {
  return wrap(text, 77, continued).map((l) => `   ${l}`);
}

/** argv: what follows `box oci` (or `runc`). */
export async function runOci(argv: string[], asRunc = false): Promise<void> {
  trace("cli", "oci-start");
  let verb: string | undefined;
  try {
    const global = parseFlags(argv, GLOBAL);
    setLog(global.values.log as string | undefined, (global.values["log-format"] as string | undefined) ?? "text", global.values.debug === true);
    const format = global.values["log-format"];
    if (format !== undefined && format !== "text" && format !== "json") throw new UserError(`invalid --log-format "${format}": text or json`);
    if (global.values.version) {
      print(`runc version ${VERSION}\ncommit: box ${VERSION}\nspec: ${OCI_VERSION}\n`);
      return;
    }
    if (global.values["systemd-cgroup"]) throw new UserError("--systemd-cgroup: box manages cgroups through cgroupfs only (set dockerd's native.cgroupdriver=cgroupfs)");
    const rootless = global.values.rootless as string | undefined;
    if (rootless !== undefined && !["true", "false", "auto"].includes(rootless)) throw new UserError(`invalid --rootless "${rootless}": true, false or auto`);
    if (rootless === "true" && !isRootless()) throw new UserError("--rootless true: box oci runs rootless only when started by a user other than root");
    const [name, ...rest] = global.positionals;
    const prog = asRunc ? "runc" : "box oci";
    if (global.help || !name) {
      print(help(prog));
      if (!global.help) process.exitCode = asRunc ? RUNC_ERROR : EXIT_BOX_ERROR;
      return;
    }
    const v = Object.hasOwn(VERBS, name) ? VERBS[name]! : undefined;
    verb = name;
    if (!v && rest.some((a) => a === "-h" || a === "--help")) throw new UserError(`No help topic for '${name}'`);
    if (!v) throw new UserError(`unknown command "${name}" for "${prog}"; see '${prog} --help'`);
    const f = parseFlags(rest, v.flags, v.lists ?? [], v.stopAtPositional === true);
    if (f.help) return void print(verbHelp(prog, name, v));
    const store = ociStore(global.values.root as string | undefined);
    debug(`box ${VERSION} (runc's command line): ${name} ${rest.join(" ")} (state in ${store.root})`);
    await v.run(store, f);
  } catch (e) {
    logError(e instanceof UserError ? e.message : describeError(e));
    // Named runc, its callers' scripts may test for runc's 1 (255 for exec); as box oci, box's own 125.
    if (asRunc) process.exitCode = verb === "exec" ? RUNC_EXEC_ERROR : RUNC_ERROR;
    else process.exitCode = e instanceof UserError ? e.exitCode : EXIT_BOX_ERROR;
  }
}

export const ociCommand: CommandDef = {
  meta: { name: "oci", description: "runc's command line (create, start, state, kill, delete, ...) for containerd and dockerd" },
  // runc's global flags come before its verb: all parsed by runOci.
  run: ({ rawArgs }) => runOci(rawArgs),
};
