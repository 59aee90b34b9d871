// `box build`: a Dockerfile's stages into an image, without a daemon. Each stage is a state (its
// layers, config and history) that instructions move on: metadata instructions change the
// config, RUN runs a box container on the state's layers and keeps its upper directory as a new
// layer, COPY and ADD write a layer of their own. Every step is looked up in the build cache first
// (src/build/cache.ts): a key made of the state it starts from and what it reads.
import { join } from "../path.ts";
import { applyChanges, canonical, exposedPort, type ImageConfig } from "../image/config.ts";
import { configDocument } from "../image/ingest.ts";
import { layerPath, layerSize } from "../image/layers.ts";
import { createImage, imageDocument, imageManifest, tryFindImage, type ImageRecord } from "../image/store.ts";
import { parseReference } from "../image/reference.ts";
import type { Descriptor, ImageDocument } from "../image/media.ts";
import type { Store } from "../container/store.ts";
import { UserError } from "../container/errors.ts";
import { execForm, jsonArgs, parseDockerfile, type Dockerfile, type Instruction, type Stage } from "./dockerfile.ts";
import { expandWord, expandWords, type Lookup } from "./expand.ts";
import { BuildError } from "./errors.ts";
import { describeError } from "../sys/errors.ts";
import { hostPlatform } from "../image/media.ts";
import { BuildContext } from "./context.ts";
import { cacheKey, loadCached, saveCached } from "./cache.ts";
import { contextDigest, copyStep } from "./copy.ts";
import { runMounts } from "./mounts.ts";
import { runStep } from "./run.ts";
import type { Progress } from "./progress.ts";

export interface Layer {
  diffId: string;
  blob: Descriptor;
  size: number;
}

export type History = NonNullable<ImageDocument["history"]>[number];

/** Where a stage stands: what an image made of it now would be. */
export interface BuildState {
  layers: Layer[];
  config: ImageConfig;
  history: History[];
  author?: string;
  /** The cache key of this state (a chain: each step's key from the one before). */
  key: string;
}

export interface BuildOptions {
  store: Store;
  context: BuildContext;
  dockerfile: string;
  tags: string[];
  buildArgs: Map<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  /** RUN's network: bridge (Docker's default), none or host. */
  network: string;
  labels: Record<string, string>;
  progress: Progress;
  /** --secret: each id's file. */
  secrets: Map<string, string>;
  /** Pulls an image that is not in the store (the CLI's pull, with its progress). */
  fetchImage(ref: string): Promise<void>;
}

/** ARGs every build knows without an ARG line (Docker's predefined ones), only from --build-arg. */
const PREDEFINED_ARGS = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"];

/** BuildKit's PATH for a stage whose base sets none (scratch, an imported root filesystem). */
const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function withPath(state: BuildState): BuildState {
  if (envValue(state.config.Env, "PATH") !== undefined) return state;
  return { ...state, config: { ...state.config, Env: [DEFAULT_PATH, ...(state.config.Env ?? [])] } };
}

/** The image built, and its layer directories (top first) for an --output of its files. */
export async function build(o: BuildOptions): Promise<{ record: ImageRecord; layerDirs: string[] }> {
  try {
    const file = parseDockerfile(o.dockerfile);
    return await new Builder(o, file).run();
  } catch (e) {
    // Whatever stopped the build (a pull, an archive refused, a system call) is a failed build:
    // one line, exit 1, as Docker's.
    if (e instanceof BuildError) throw e;
    throw new BuildError(describeError(e));
  }
}

/** A stage being built: its state, and the ARGs in its scope. */
interface StageRun {
  stage: Stage;
  state: BuildState;
  args: Map<string, string | undefined>;
  /** Build args that a step used (they are in its cache key and RUN's environment). */
  used: Set<string>;
  /** This stage set CMD itself (an ENTRYPOINT then keeps it). */
  cmdSet: boolean;
}

class Builder {
  private readonly built = new Map<number, BuildState>();
  private readonly building = new Set<number>();
  private readonly globalArgs = new Map<string, string | undefined>();
  private stepCount = 0;

  constructor(
    private readonly o: BuildOptions,
    private readonly file: Dockerfile,
  ) {
    // BuildKit's automatic platform ARGs, in the global scope (a stage takes them with ARG NAME).
    const { os, architecture, variant } = hostPlatform();
    const platform = `${os}/${architecture}${variant ? `/${variant}` : ""}`;
    for (const side of ["TARGET", "BUILD"]) {
      this.globalArgs.set(`${side}PLATFORM`, platform);
      this.globalArgs.set(`${side}OS`, os);
      this.globalArgs.set(`${side}ARCH`, architecture);
      this.globalArgs.set(`${side}VARIANT`, variant ?? "");
    }
    for (const arg of file.globalArgs) for (const [name, value] of this.argPairs(arg, (n) => this.globalArgs.get(n))) this.globalArgs.set(name, o.buildArgs.get(name) ?? value);
  }

  async run(): Promise<{ record: ImageRecord; layerDirs: string[] }> {
    const target = this.o.target === undefined ? this.file.stages.at(-1)! : this.stageNamed(this.o.target);
    if (!target) throw new BuildError(`target stage "${this.o.target}" could not be found`);
    const state = await this.buildStage(target.index);
    return this.o.progress.step("exporting to image", async (log) => {
      const record = this.export(state);
      log(`writing image sha256:${record.id}`);
      for (const tag of this.o.tags) log(`naming to ${parseReference(tag).ref}`);
      return { record, layerDirs: layerDirs(this.o.store.root, state) };
    });
  }

  private stageNamed(name: string): Stage | undefined {
    const lower = name.toLowerCase();
    return this.file.stages.find((s) => s.name === lower) ?? (/^\d+$/.test(name) ? this.file.stages[Number(name)] : undefined);
  }

  /** A stage's final state; the stages it needs first (a cycle is refused). */
  private async buildStage(index: number): Promise<BuildState> {
    const done = this.built.get(index);
    if (done) return done;
    if (this.building.has(index)) throw new BuildError(`circular dependency detected on stage: ${this.file.stages[index]!.name ?? index}`);
    this.building.add(index);
    const stage = this.file.stages[index]!;
    const run: StageRun = { stage, state: withPath(await this.baseState(stage)), args: new Map(), used: new Set(), cmdSet: false };
    const total = stage.instructions.length + 1;
    // An image's ONBUILD triggers run first, as its child's first instructions.
    for (const trigger of (run.state.config.OnBuild as string[] | undefined) ?? []) {
      const parsed = parseDockerfile(`FROM scratch\n${trigger}\n`).stages[0]!.instructions[0];
      if (parsed) await this.step(run, parsed, `${stage.name ?? `stage-${index}`} ONBUILD`);
    }
    if (run.state.config.OnBuild) run.state = { ...run.state, config: withoutKey(run.state.config, "OnBuild") };
    let n = 1;
    for (const instruction of stage.instructions) await this.step(run, instruction, `${stage.name ? `${stage.name} ` : ""}${++n}/${total}`);
    this.building.delete(index);
    this.built.set(index, run.state);
    return run.state;
  }

  private async baseState(stage: Stage): Promise<BuildState> {
    const base = expandWord(stage.base, (n) => this.globalArgs.get(n), this.file.escape);
    const label = `[${stage.name ? `${stage.name} ` : ""}1/${stage.instructions.length + 1}] FROM ${base}${stage.name ? ` AS ${stage.name}` : ""}`;
    if (base === "") throw new BuildError(`dockerfile line ${stage.from.line}: base name (${stage.base}) should not be blank`);
    const earlier = this.file.stages.find((s) => s.index < stage.index && s.name === base.toLowerCase());
    if (earlier) return this.buildStage(earlier.index);
    if (base === "scratch") return { layers: [], config: {}, history: [], key: "scratch" };
    return this.o.progress.step(label, async () => {
      let record = this.o.pull ? undefined : tryFindImage(this.o.store.root, base);
      if (!record) {
        await this.o.fetchImage(base);
        record = tryFindImage(this.o.store.root, base);
        if (!record) throw new BuildError(`${base}: image not found`);
      }
      return imageState(this.o.store.root, record);
    });
  }

  /** One instruction: from the cache when its key is there, else done and cached. */
  private async step(run: StageRun, i: Instruction, where: string): Promise<void> {
    this.stepCount++;
    const vars: Lookup = (name) => envValue(run.state.config.Env, name) ?? this.argValue(run, name);
    const label = `[${where}] ${i.original}`;
    switch (i.keyword) {
      case "ARG":
        for (const [name, value] of this.argPairs(i, vars)) run.args.set(name, this.o.buildArgs.get(name) ?? value ?? this.globalArgs.get(name));
        return this.metadata(run, i, {});
      case "ENV": {
        const pairs = this.pairs(i, vars);
        let env = run.state.config.Env ?? [];
        for (const [k, v] of pairs) env = [...env.filter((e) => !e.startsWith(`${k}=`)), `${k}=${v}`];
        return this.metadata(run, i, { Env: env });
      }
      case "LABEL": {
        const labels = { ...(run.state.config.Labels ?? {}) };
        for (const [k, v] of this.pairs(i, vars)) labels[k] = v;
        return this.metadata(run, i, { Labels: labels });
      }
      case "WORKDIR": {
        const dir = expandWord(i.args, vars, this.file.escape);
        const path = dir.startsWith("/") ? dir : join(run.state.config.WorkingDir || "/", dir);
        return this.metadata(run, i, { WorkingDir: path });
      }
      case "USER":
        return this.metadata(run, i, { User: expandWord(i.args, vars, this.file.escape) });
      case "EXPOSE": {
        const ports = { ...(run.state.config.ExposedPorts ?? {}) };
        for (const word of expandWords(i.args, vars, this.file.escape)) {
          const port = exposedPort(word);
          if (!port) throw new BuildError(`dockerfile line ${i.line}: invalid containerPort: ${word}`);
          ports[port] = {};
        }
        return this.metadata(run, i, { ExposedPorts: ports });
      }
      case "VOLUME": {
        const paths = i.args.startsWith("[") ? jsonArgs(i) : expandWords(i.args, vars, this.file.escape);
        if (!paths.length) throw new BuildError(`dockerfile line ${i.line}: VOLUME specified can not be an empty string`);
        const volumes = { ...(run.state.config.Volumes ?? {}) };
        for (const p of paths) volumes[p] = {};
        return this.metadata(run, i, { Volumes: volumes });
      }
      case "STOPSIGNAL":
        return this.metadata(run, i, configChange(`STOPSIGNAL ${expandWord(i.args, vars, this.file.escape)}`, i));
      case "HEALTHCHECK":
        return this.metadata(run, i, configChange(`HEALTHCHECK ${[...i.flags].flatMap(([k, vs]) => vs.map((v) => `--${k}=${v}`)).join(" ")} ${i.args}`.replace(/ +/, " "), i));
      case "SHELL":
        return this.metadata(run, i, { Shell: jsonArgs(i) });
      case "CMD":
        run.cmdSet = true;
        return this.metadata(run, i, { Cmd: this.command(run, i) });
      case "ENTRYPOINT":
        // Docker: a new ENTRYPOINT drops a CMD the stage did not set itself (the base image's).
        return this.metadata(run, i, { Entrypoint: this.command(run, i), ...(run.cmdSet ? {} : { Cmd: undefined }) });
      case "MAINTAINER":
        return this.metadata(run, i, {}, { author: i.args });
      case "ONBUILD": {
        const trigger = i.args.trim();
        if (/^(ONBUILD|FROM|MAINTAINER)\b/i.test(trigger)) throw new BuildError(`dockerfile line ${i.line}: ${trigger.split(/\s/)[0]!.toUpperCase()} isn't allowed as an ONBUILD trigger`);
        return this.metadata(run, i, { OnBuild: [...((run.state.config.OnBuild as string[] | undefined) ?? []), trigger] });
      }
      case "RUN": {
        const stages = new Map<string, { layers: string[]; key: string }>();
        for (const text of i.flags.get("mount") ?? []) {
          const from = /(?:^|,)from=([^,]+)/.exec(text)?.[1];
          if (from === undefined || stages.has(from)) continue;
          const state = await this.copySource(expandWord(from, vars, this.file.escape), i);
          stages.set(from, { layers: layerDirs(this.o.store.root, state), key: state.key });
        }
        const mounts = runMounts(this.o, i, run.state.config.WorkingDir || "/", (rel) => contextDigest(this.o, rel), stages);
        return this.layerStep(run, label, cacheKey(this.runKey(run, i), mounts.key), (log) => runStep(this.o, run.state, i, this.runEnvironment(run), this.shell(run), mounts, log));
      }
      case "COPY":
      case "ADD": {
        const from = i.flags.get("from")?.at(-1);
        const source = from === undefined ? undefined : await this.copySource(expandWord(from, vars, this.file.escape), i);
        const plan = await copyStep(this.o, run.state, i, vars, this.file.escape, source);
        try {
          return await this.layerStep(run, label, cacheKey(run.state.key, [i.keyword, plan.key]), (log) => plan.make(log));
        } finally {
          plan.cleanup();
        }
      }
    }
  }

  /** COPY --from: a stage of this Dockerfile (built first) or an image. */
  private async copySource(from: string, i: Instruction): Promise<BuildState> {
    const stage = this.stageNamed(from);
    if (stage) {
      if (this.building.has(stage.index)) throw new BuildError(`dockerfile line ${i.line}: circular dependency detected on stage: ${from}`);
      return this.buildStage(stage.index);
    }
    let record = tryFindImage(this.o.store.root, from);
    if (!record) {
      await this.o.fetchImage(from);
      record = tryFindImage(this.o.store.root, from);
    }
    if (!record) throw new BuildError(`dockerfile line ${i.line}: ${from}: image not found`);
    return imageState(this.o.store.root, record);
  }

  /**
   * A step that changes only the config: an empty layer in the history, as Docker's. Cached too
   * (its history entry, with its time), so that a rebuild of nothing new is the same image.
   */
  private metadata(run: StageRun, i: Instruction, change: ImageConfig, about: { author?: string } = {}): void {
    const config = canonical({ ...run.state.config, ...change });
    const key = cacheKey(run.state.key, ["config", i.original, JSON.stringify(change), ...[...run.used].map((n) => `${n}=${this.argValue(run, n) ?? ""}`)]);
    const cached = this.o.noCache ? undefined : loadCached(this.o.store.root, key);
    const history: History = cached?.history ?? { created: new Date().toISOString(), created_by: `/bin/sh -c #(nop)  ${i.original}`, empty_layer: true };
    if (!cached) saveCached(this.o.store.root, key, { history });
    run.state = { ...run.state, ...about, config, history: [...run.state.history, history], key };
  }

  /** A step that makes a layer: reused from the cache when its key is there. */
  private async layerStep(run: StageRun, label: string, key: string, make: (log: (line: string) => void) => Promise<{ layer: Layer; createdBy: string }>): Promise<void> {
    const cached = this.o.noCache ? undefined : loadCached(this.o.store.root, key);
    if (cached?.layer) {
      this.o.progress.cached(label);
      run.state = { ...run.state, layers: [...run.state.layers, cached.layer], history: [...run.state.history, cached.history], key };
      return;
    }
    const { layer, createdBy } = await this.o.progress.step(label, make);
    const history: History = { created: new Date().toISOString(), created_by: createdBy };
    saveCached(this.o.store.root, key, { layer, history });
    run.state = { ...run.state, layers: [...run.state.layers, layer], history: [...run.state.history, history], key };
  }

  private runKey(run: StageRun, i: Instruction): string {
    return cacheKey(run.state.key, ["RUN", i.original, ...i.heredocs.map((h) => h.body), JSON.stringify(this.runEnvironment(run)), JSON.stringify(this.shell(run)), run.state.config.User ?? "", run.state.config.WorkingDir ?? "", i.flags.get("network")?.at(-1) ?? this.o.network]);
  }

  /** RUN's environment: the config's, and the stage's ARGs (which ENV overrides), as Docker's. */
  private runEnvironment(run: StageRun): string[] {
    const env = [...(run.state.config.Env ?? [])];
    for (const [name, value] of run.args) if (value !== undefined && envValue(env, name) === undefined) env.push(`${name}=${value}`);
    for (const name of PREDEFINED_ARGS) if (this.o.buildArgs.has(name) && envValue(env, name) === undefined) env.push(`${name}=${this.o.buildArgs.get(name)}`);
    return env;
  }

  private shell(run: StageRun): string[] {
    return (run.state.config.Shell as string[] | undefined) ?? ["/bin/sh", "-c"];
  }

  /** CMD's and ENTRYPOINT's forms: a JSON array as it is, else the text under the stage's SHELL. */
  private command(run: StageRun, i: Instruction): string[] {
    return execForm(i) ?? [...this.shell(run), i.args];
  }

  private argValue(run: StageRun, name: string): string | undefined {
    if (!run.args.has(name)) return undefined;
    run.used.add(name);
    return run.args.get(name);
  }

  /** ARG NAME[=default] ...: the names and their defaults (expanded). */
  private argPairs(i: Instruction, vars: Lookup): [string, string | undefined][] {
    return expandWords(i.args, vars, this.file.escape).map((word) => {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word : word.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new BuildError(`dockerfile line ${i.line}: invalid ARG name "${name}"`);
      return [name, eq < 0 ? undefined : word.slice(eq + 1)];
    });
  }

  /** ENV and LABEL: KEY=VALUE words, or the old form KEY VALUE. */
  private pairs(i: Instruction, vars: Lookup): [string, string][] {
    const legacy = /^([^\s=]+)\s+(.*)$/s.exec(i.args);
    if (legacy && !legacy[1]!.includes("=") && i.keyword === "ENV") return [[legacy[1]!, expandWord(legacy[2]!, vars, this.file.escape)]];
    const words = expandWords(i.args, vars, this.file.escape);
    if (!words.length) throw new BuildError(`dockerfile line ${i.line}: ${i.keyword} requires at least one argument`);
    return words.map((w) => {
      const eq = w.indexOf("=");
      if (eq <= 0) throw new BuildError(`dockerfile line ${i.line}: ${i.keyword} names can not be blank`);
      return [w.slice(0, eq), w.slice(eq + 1)];
    });
  }

  private export(state: BuildState): ImageRecord {
    const labels = Object.keys(this.o.labels).length ? { Labels: { ...(state.config.Labels ?? {}), ...this.o.labels } } : {};
    const config = canonical({ ...state.config, ...labels });
    // The last step's time, as BuildKit's: a rebuild the cache answers whole is the same image.
    const created = state.history.at(-1)?.created ?? new Date().toISOString();
    const configBytes = configDocument(state.layers.map((l) => l.diffId), config, { created, history: state.history, ...(state.author ? { author: state.author } : {}) });
    return createImage(this.o.store.root, {
      configBytes,
      layerBlobs: state.layers.map((l) => l.blob),
      size: state.layers.reduce((n, l) => n + l.size, 0),
      tags: this.o.tags.map((t) => parseReference(t).ref),
    });
  }
}

/** An image of the store as a build's starting state. */
export function imageState(root: string, record: ImageRecord): BuildState {
  const blobs = imageManifest(root, record).layers;
  const doc = imageDocument(root, record.id);
  return {
    layers: record.layers.map((diffId, n) => ({ diffId, blob: blobs[n]!, size: layerSize(root, diffId) })),
    config: record.config,
    history: doc.history ?? [],
    ...(doc.author ? { author: doc.author } : {}),
    key: `image:${record.id}`,
  };
}

/** The state's layer directories, top first (what a container of it stacks). */
export function layerDirs(root: string, state: BuildState): string[] {
  return [...new Set(state.layers.map((l) => layerPath(root, l.diffId)).reverse())];
}

function envValue(env: string[] | undefined, name: string): string | undefined {
  const entry = env?.findLast((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

/** What an --change line of box import sets (STOPSIGNAL, HEALTHCHECK), with the line's errors. */
function configChange(line: string, i: Instruction): ImageConfig {
  try {
    const { ...changed } = applyChanges({}, [line]);
    return changed;
  } catch (e) {
    if (e instanceof UserError) throw new BuildError(`dockerfile line ${i.line}: ${e.message.replace(/^invalid --change "[^"]*": /, "")}`);
    throw e;
  }
}

function withoutKey(config: ImageConfig, key: string): ImageConfig {
  const { [key]: _, ...rest } = config;
  return rest;
}


