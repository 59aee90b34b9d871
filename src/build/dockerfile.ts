// A Dockerfile as box builds it: parser directives, stages and their instructions, each with its
// line, flags, argument text and heredocs. The text is parsed by dockerfile-ast (the parser of
// editors' Docker support: line continuations, comments, directives, flags, heredoc bodies);
// what an instruction means is the builder's (src/build/builder.ts). docs/ARCHITECTURE.md
// ("box build") says why that parser.
import { DockerfileParser } from "dockerfile-ast";
import { BuildError } from "./errors.ts";

export interface Heredoc {
  name: string;
  body: string;
  /** <<-: leading tabs are stripped from the body's lines. */
  stripTabs: boolean;
  /** <<"EOF" or <<'EOF': no variable expansion in the body. */
  quoted: boolean;
}

export interface Instruction {
  /** Upper case: RUN, COPY, ... */
  keyword: string;
  /** 1-based, the instruction's first line. */
  line: number;
  /** The arguments after the flags, continuation lines joined (heredoc bodies taken out). */
  args: string;
  /** --name=value flags, each name's values in order. */
  flags: Map<string, string[]>;
  heredocs: Heredoc[];
  /** The instruction as written (one line), for history and cache keys. */
  original: string;
}

export interface Stage {
  /** The FROM instruction's image, before ARG expansion. */
  base: string;
  /** AS name, lower case. */
  name?: string;
  platform?: string;
  index: number;
  from: Instruction;
  instructions: Instruction[];
}

export interface Dockerfile {
  escape: string;
  /** ARGs before the first FROM: they may be used in FROM lines. */
  globalArgs: Instruction[];
  stages: Stage[];
}

const KNOWN = new Set([
  "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
  "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
]);

/** A Dockerfile's text; a syntax error names its line, as Docker's parser does. */
export function parseDockerfile(text: string): Dockerfile {
  const parsed = DockerfileParser.parse(text);
  const escapeDirective = parsed.getDirectives().find((d) => d.getName().toLowerCase() === "escape");
  const escape = escapeDirective?.getValue() || "\\";
  if (escape !== "\\" && escape !== "`") throw new BuildError(`dockerfile parse error on line ${(escapeDirective?.getRange().start.line ?? 0) + 1}: invalid escape token '${escape}' does not match ` + "` or \\");
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const node of parsed.getInstructions()) {
    const keyword = node.getKeyword();
    const line = node.getRange().start.line + 1;
    if (!KNOWN.has(keyword)) throw new BuildError(`dockerfile parse error on line ${line}: unknown instruction: ${node.getInstruction()}`);
    const instruction = toInstruction(node, keyword, line, text);
    if (keyword === "FROM") {
      stages.push(fromStage(instruction, stages.length));
      continue;
    }
    if (stages.length === 0) {
      if (keyword !== "ARG") throw new BuildError(`dockerfile parse error on line ${line}: no build stage in current context (${keyword} before the first FROM)`);
      globalArgs.push(instruction);
      continue;
    }
    stages.at(-1)!.instructions.push(instruction);
  }
  if (!stages.length) throw new BuildError("the Dockerfile has no FROM: there is nothing to build");
  const names = new Set<string>();
  for (const s of stages) {
    if (s.name === undefined) continue;
    if (names.has(s.name)) throw new BuildError(`dockerfile parse error on line ${s.from.line}: duplicate stage name "${s.name}"`);
    names.add(s.name);
  }
  return { escape, globalArgs, stages };
}

interface AstInstruction {
  getArgumentsContent(): string | null;
  getRange(): { start: { line: number }; end: { line: number } };
  getFlags?: () => Array<{ getName(): string; getValue(): string | null }>;
}

function toInstruction(node: AstInstruction & { getInstruction(): string }, keyword: string, line: number, text: string): Instruction {
  const flags = new Map<string, string[]>();
  for (const f of node.getFlags?.() ?? []) flags.set(f.getName().toLowerCase(), [...(flags.get(f.getName().toLowerCase()) ?? []), f.getValue() ?? ""]);
  const content = node.getArgumentsContent() ?? "";
  const { args, heredocs } = takeHeredocs(content, keyword);
  const lines = text.split("\n").slice(node.getRange().start.line, node.getRange().end.line + 1);
  const original = heredocs.length ? lines[0]!.trim() : lines.map((l) => l.trim()).join(" ").replace(/\\ /g, " ").trim();
  return { keyword, line, args: args.trim(), flags, heredocs, original };
}

const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

/**
 * RUN, COPY and ADD may take heredocs (`<<EOF` ... `EOF`): their bodies follow the instruction's
 * first line, in order. The first line keeps the markers (the builder decides what they mean).
 */
function takeHeredocs(content: string, keyword: string): { args: string; heredocs: Heredoc[] } {
  if (!["RUN", "COPY", "ADD"].includes(keyword) || !content.includes("<<")) return { args: content, heredocs: [] };
  const [first, ...rest] = content.split("\n");
  const heredocs: Heredoc[] = [];
  for (const m of first!.matchAll(HEREDOC)) {
    const stripTabs = m[1] === "-";
    const body: string[] = [];
    let closed = false;
    while (rest.length) {
      const next = rest.shift()!;
      if ((stripTabs ? next.replace(/^\t+/, "") : next) === m[3]) {
        closed = true;
        break;
      }
      body.push(stripTabs ? next.replace(/^\t+/, "") : next);
    }
    if (!closed) break;
    heredocs.push({ name: m[3]!, body: body.length ? `${body.join("\n")}\n` : "", stripTabs, quoted: m[2] !== "" });
  }
  return { args: first!, heredocs };
}

function fromStage(from: Instruction, index: number): Stage {
  const words = from.args.split(/\s+/).filter(Boolean);
  const platform = from.flags.get("platform")?.at(-1);
  if (words.length === 1) return { base: words[0]!, index, from, instructions: [], ...(platform ? { platform } : {}) };
  if (words.length === 3 && words[1]!.toUpperCase() === "AS") {
    const name = words[2]!.toLowerCase();
    if (!/^[a-z][a-z0-9-_.]*$/.test(name)) throw new BuildError(`dockerfile parse error on line ${from.line}: invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
    return { base: words[0]!, name, index, from, instructions: [], ...(platform ? { platform } : {}) };
  }
  throw new BuildError(`dockerfile parse error on line ${from.line}: FROM requires either one or three arguments`);
}

/** The exec form of an instruction's arguments (a JSON array of strings); undefined for the shell form. */
export function execForm(i: Instruction): string[] | undefined {
  if (!i.args.startsWith("[")) return undefined;
  try {
    const parsed: unknown = JSON.parse(i.args);
    return Array.isArray(parsed) && parsed.every((s) => typeof s === "string") ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The arguments as a JSON array of strings, as SHELL, and VOLUME or COPY in that form, take them. */
export function jsonArgs(i: Instruction): string[] {
  const args = execForm(i);
  if (!args) throw new BuildError(`dockerfile line ${i.line}: ${i.keyword} requires a JSON array of strings`);
  return args;
}
