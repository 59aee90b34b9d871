// `--format '{{range .Mounts}}{{.Source}} {{end}}'`: Go's text/template, as Docker's CLI runs
// it, over box's values (template-values.ts says how JavaScript data stands for Go's). Three
// steps: lex the text into text and action tokens, parse them into a tree (checking functions
// and variables as Go does), execute the tree over the data.
import { UserError } from "../container/errors.ts";
import { CallError, FUNCS, type TemplateFunc } from "./template-funcs.ts";
import { isMap, printValue, structType, truth, typeName, type Value } from "./template-values.ts";

// ---- Lexing ---------------------------------------------------------------------------------

type TokenKind = "field" | "var" | "ident" | "literal" | "dot" | "(" | ")" | "|" | ":=" | "=" | ",";

interface Token {
  kind: TokenKind;
  pos: number;
  text: string;
  /** field and var: the names after the dot or the variable */
  path?: string[];
  value?: Value;
  /** no space before it: `(index . 0).Name` chains the field onto the parenthesis */
  adjacent: boolean;
}

type Item = { kind: "text"; text: string } | { kind: "action"; pos: number; tokens: Token[] };

class ParseError extends Error {}

const SPACE = /[ \t\r\n]/;
const IDENT = /[A-Za-z0-9_]/;

function lineOf(src: string, pos: number): number {
  return 1 + (src.slice(0, pos).match(/\n/g)?.length ?? 0);
}

/** Go's escapes in an interpreted string literal. */
function unquote(body: string): string {
  const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", "\\": "\\", '"': '"', "'": "'" };
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    if (e.length > 1) return String.fromCodePoint(parseInt(/^[0-7]/.test(e) ? e : e.slice(1), /^[0-7]/.test(e) ? 8 : 16));
    if (!(e in simple)) throw new ParseError(`invalid syntax`);
    return simple[e]!;
  });
}

const NUMBER = /^[+-]?(?:0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/;

function parseNumber(text: string): number {
  const sign = text.startsWith("-") ? -1 : 1;
  const body = text.replace(/^[+-]/, "").replaceAll("_", "");
  const radix = /^0[xX]/.test(body) ? 16 : /^0[bB]/.test(body) ? 2 : /^0[oO]/.test(body) || /^0\d+$/.test(body) ? 8 : 10;
  return sign * (radix === 10 ? Number(body) : parseInt(body.replace(/^0[xXbBoO]?/, "") || "0", radix));
}

/** The text between `{{` and `}}` as tokens; returns them and where the action ends. */
function lexAction(src: string, start: number): { tokens: Token[]; end: number; trimAfter: boolean } {
  const tokens: Token[] = [];
  let p = start;
  let adjacent = true;
  const push = (kind: TokenKind, from: number, extra: Partial<Token> = {}) => {
    tokens.push({ kind, pos: from, text: src.slice(from, p), adjacent, ...extra });
    adjacent = true;
  };
  const names = () => {
    const path: string[] = [];
    while (src[p] === "." && IDENT.test(src[p + 1] ?? "") && !/\d/.test(src[p + 1]!)) {
      const from = ++p;
      while (IDENT.test(src[p] ?? "")) p++;
      path.push(src.slice(from, p));
    }
    return path;
  };
  for (;;) {
    if (p >= src.length) throw new ParseError("unclosed action");
    const c = src[p]!;
    if (src.startsWith("}}", p)) return { tokens, end: p + 2, trimAfter: false };
    if (SPACE.test(c)) {
      if (src.startsWith("-}}", p + 1)) return { tokens, end: p + 4, trimAfter: true };
      p++;
      adjacent = false;
      continue;
    }
    const from = p;
    if (c === '"') {
      p++;
      while (p < src.length && src[p] !== '"') {
        if (src[p] === "\n") throw new ParseError("unterminated quoted string");
        p += src[p] === "\\" ? 2 : 1;
      }
      if (p >= src.length) throw new ParseError("unterminated quoted string");
      p++;
      push("literal", from, { value: unquote(src.slice(from + 1, p - 1)) });
    } else if (c === "`") {
      const close = src.indexOf("`", p + 1);
      if (close < 0) throw new ParseError("unterminated raw quoted string");
      p = close + 1;
      push("literal", from, { value: src.slice(from + 1, close) });
    } else if (c === "'") {
      const m = /^'(\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)|[^\\'\n])'/u.exec(src.slice(p));
      if (!m) throw new ParseError("unterminated character constant");
      p += m[0].length;
      push("literal", from, { value: unquote(m[1]!).codePointAt(0) });
    } else if (c === "." && IDENT.test(src[p + 1] ?? "") && !/\d/.test(src[p + 1]!)) {
      push("field", from, { path: names() });
    } else if (c === "$") {
      p++;
      while (IDENT.test(src[p] ?? "")) p++;
      const name = src.slice(from, p);
      push("var", from, { text: name, path: names() });
    } else if (NUMBER.test(src.slice(p)) && (c !== "." || /\d/.test(src[p + 1] ?? ""))) {
      p += NUMBER.exec(src.slice(p))![0].length;
      if (IDENT.test(src[p] ?? "")) throw new ParseError(`bad number syntax: "${src.slice(from, p + 1)}"`);
      push("literal", from, { value: parseNumber(src.slice(from, p)) });
    } else if (c === ".") {
      p++;
      push("dot", from);
    } else if (/[A-Za-z_]/.test(c)) {
      while (IDENT.test(src[p] ?? "")) p++;
      const word = src.slice(from, p);
      if (word === "true" || word === "false") push("literal", from, { value: word === "true" });
      else if (word === "nil") push("literal", from, { value: null });
      else push("ident", from);
    } else if (src.startsWith(":=", p)) {
      p += 2;
      push(":=", from);
    } else if ("()|=,".includes(c)) {
      p++;
      push(c as TokenKind, from);
    } else {
      throw new ParseError(`bad character U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} '${c}'`);
    }
  }
}

/** Text and actions; `{{- ` and ` -}}` trim the whitespace beside them, comments vanish. */
function lex(src: string): Item[] {
  const items: Item[] = [];
  let p = 0;
  let trimNext = false;
  for (;;) {
    const open = src.indexOf("{{", p);
    let text = src.slice(p, open < 0 ? undefined : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, "");
    let start = open + 2;
    if (open >= 0 && src[start] === "-" && SPACE.test(src[start + 1] ?? "")) {
      text = text.replace(/[ \t\r\n]+$/, "");
      start += 2;
    }
    if (text) items.push({ kind: "text", text });
    if (open < 0) return items;
    try {
      if (src.startsWith("/*", start)) {
        const close = src.indexOf("*/", start);
        if (close < 0) throw new ParseError("unclosed comment");
        const after = src.slice(close + 2);
        const m = /^(?:[ \t\r\n]-)?\}\}/.exec(after);
        if (!m) throw new ParseError("comment ends before closing delimiter");
        trimNext = m[0].length > 2;
        p = close + 2 + m[0].length;
        continue;
      }
      const { tokens, end, trimAfter } = lexAction(src, start);
      items.push({ kind: "action", pos: start, tokens });
      trimNext = trimAfter;
      p = end;
    } catch (e) {
      if (e instanceof ParseError) throw new ParseError(`${lineOf(src, open)}: ${e.message}`);
      throw e;
    }
  }
}

// ---- Parsing --------------------------------------------------------------------------------

type Operand =
  | { kind: "field"; path: string[]; pos: number; src: string }
  | { kind: "var"; name: string; path: string[]; pos: number; src: string }
  | { kind: "ident"; name: string; pos: number; src: string }
  | { kind: "literal"; value: Value; pos: number; src: string }
  | { kind: "dot"; pos: number; src: string }
  | { kind: "pipe"; pipe: Pipe; pos: number; src: string }
  | { kind: "chain"; of: Operand; path: string[]; pos: number; src: string };

interface Command {
  args: Operand[];
  pos: number;
  src: string;
}

interface Pipe {
  /** variables it declares (`$x :=`) or assigns (`$x =`) */
  vars: string[];
  assign: boolean;
  commands: Command[];
}

type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pipe: Pipe }
  | { kind: "if" | "with" | "range"; pipe: Pipe; list: Node[]; otherwise: Node[] }
  | { kind: "break" | "continue" };

class Parser {
  private vars: string[] = ["$"];
  private ranges = 0;
  private at = 0;

  constructor(
    private readonly src: string,
    private readonly items: Item[],
  ) {}

  fail(pos: number, message: string): never {
    throw new ParseError(`${lineOf(this.src, pos)}: ${message}`);
  }

  /** Nodes up to an {{else}} or {{end}} (which one, and the else's tokens), or the end of the text. */
  list(): { nodes: Node[]; stop?: { word: "else" | "end"; item: Extract<Item, { kind: "action" }> } } {
    const nodes: Node[] = [];
    while (this.at < this.items.length) {
      const item = this.items[this.at++]!;
      if (item.kind === "text") {
        nodes.push({ kind: "text", text: item.text });
        continue;
      }
      const [first] = item.tokens;
      const word = first?.kind === "ident" ? first.text : undefined;
      if (word === "else" || word === "end") {
        if (word === "end" && item.tokens.length > 1) this.fail(item.pos, `unexpected ${describeToken(item.tokens[1]!)} in end`);
        return { nodes, stop: { word, item } };
      }
      if (word === "if" || word === "with" || word === "range") nodes.push(this.control(word, item, item.tokens.slice(1)));
      else if (word === "break" || word === "continue") {
        if (!this.ranges) this.fail(item.pos, `{{${word}}} outside {{range}}`);
        if (item.tokens.length > 1) this.fail(item.pos, `unexpected ${describeToken(item.tokens[1]!)} in {{${word}}}`);
        nodes.push({ kind: word });
      } else if (word === "define" || word === "template" || word === "block") this.fail(item.pos, `{{${word}}} is not supported in --format`);
      else nodes.push({ kind: "action", pipe: this.pipeline(item.tokens, item.pos, "command", false) });
    }
    return { nodes };
  }

  /** {{if|with|range PIPE}} LIST [{{else [if|with PIPE]}} LIST] {{end}} */
  control(kind: "if" | "with" | "range", item: Extract<Item, { kind: "action" }>, tokens: Token[]): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(tokens, item.pos, kind, kind === "range");
    if (kind === "range") this.ranges++;
    const body = this.list();
    if (kind === "range") this.ranges--;
    let otherwise: Node[] = [];
    if (!body.stop) this.fail(item.pos, "unexpected EOF");
    if (body.stop.word === "else") {
      const rest = body.stop.item.tokens.slice(1);
      const chained = rest[0]?.kind === "ident" ? rest[0].text : undefined;
      if (chained === "if" || chained === "with") {
        // {{else if}} is an {{if}} inside the else, sharing this {{end}}.
        otherwise = [this.control(chained, body.stop.item, rest.slice(1))];
      } else {
        if (rest.length) this.fail(body.stop.item.pos, `unexpected ${describeToken(rest[0]!)} in else`);
        const tail = this.list();
        if (tail.stop?.word !== "end") this.fail(item.pos, tail.stop ? "expected end; found {{else}}" : "unexpected EOF");
        otherwise = tail.nodes;
      }
    }
    this.vars.length = mark;
    return { kind, pipe, list: body.nodes, otherwise };
  }

  /** [$a [, $b] := | $a =] COMMAND [| COMMAND...] */
  pipeline(tokens: Token[], pos: number, context: string, ranging: boolean): Pipe {
    let t = 0;
    const vars: string[] = [];
    let assign = false;
    const declared = (i: number) => tokens[i]?.kind === "var" && !tokens[i]!.path!.length;
    if (declared(0) && (tokens[1]?.kind === ":=" || tokens[1]?.kind === "=")) {
      vars.push(tokens[0]!.text);
      assign = tokens[1]!.kind === "=";
      t = 2;
    } else if (ranging && declared(0) && tokens[1]?.kind === "," && declared(2) && tokens[3]?.kind === ":=") {
      vars.push(tokens[0]!.text, tokens[2]!.text);
      t = 4;
    } else if (tokens[1]?.kind === ",") {
      this.fail(pos, `too many declarations in ${context}`);
    }
    if (assign && !this.vars.includes(vars[0]!)) this.fail(pos, `undefined variable "${vars[0]}"`);
    const commands: Command[] = [];
    const stop = (tok: Token | undefined) => tok === undefined || tok.kind === ")";
    for (;;) {
      const start = t;
      const args: Operand[] = [];
      while (!stop(tokens[t]) && tokens[t]!.kind !== "|") {
        const [operand, next] = this.operand(tokens, t);
        args.push(operand);
        t = next;
      }
      if (!args.length) this.fail(pos, `missing value for ${context}`);
      const last = tokens[t - 1]!;
      commands.push({ args, pos: tokens[start]!.pos, src: this.src.slice(tokens[start]!.pos, last.pos + last.text.length) });
      if (tokens[t]?.kind !== "|") break;
      t++;
    }
    if (t < tokens.length) this.fail(pos, `unexpected ${describeToken(tokens[t]!)} in ${context}`);
    commands.forEach((c, i) => {
      const first = c.args[0]!;
      if (first.kind === "literal" && first.value === null) this.fail(pos, "nil is not a command");
      if (i > 0 && (first.kind === "literal" || first.kind === "dot" || (first.kind === "var" && !first.path.length))) {
        this.fail(pos, `non executable command in pipeline stage ${i + 1}`);
      }
    });
    if (!assign) this.vars.push(...vars);
    return { vars, assign, commands };
  }

  /** One operand at tokens[t], with a field chain after a parenthesis; returns it and the next index. */
  operand(tokens: Token[], t: number): [Operand, number] {
    const tok = tokens[t]!;
    const src = tok.text;
    let op: Operand;
    switch (tok.kind) {
      case "field":
        op = { kind: "field", path: tok.path!, pos: tok.pos, src };
        break;
      case "var":
        if (!this.vars.includes(tok.text)) this.fail(tok.pos, `undefined variable "${tok.text}"`);
        op = { kind: "var", name: tok.text, path: tok.path!, pos: tok.pos, src };
        break;
      case "dot":
        op = { kind: "dot", pos: tok.pos, src };
        break;
      case "literal":
        op = { kind: "literal", value: tok.value, pos: tok.pos, src };
        break;
      case "ident":
        if (!Object.hasOwn(FUNCS, tok.text)) this.fail(tok.pos, `function "${tok.text}" not defined`);
        op = { kind: "ident", name: tok.text, pos: tok.pos, src };
        break;
      case "(": {
        let depth = 0;
        let close = t;
        for (; close < tokens.length; close++) {
          if (tokens[close]!.kind === "(") depth++;
          if (tokens[close]!.kind === ")" && --depth === 0) break;
        }
        if (close >= tokens.length) this.fail(tok.pos, "unclosed left paren");
        const pipe = this.pipeline(tokens.slice(t + 1, close), tok.pos, "parenthesized pipeline", false);
        const end = tokens[close]!;
        op = { kind: "pipe", pipe, pos: tok.pos, src: this.src.slice(tok.pos, end.pos + 1) };
        t = close;
        break;
      }
      default:
        this.fail(tok.pos, `unexpected ${describeToken(tok)} in operand`);
    }
    const next = tokens[t + 1];
    if (next?.kind === "field" && next.adjacent && (op.kind === "pipe" || op.kind === "dot")) {
      return [{ kind: "chain", of: op, path: next.path!, pos: op.pos, src: op.src + next.text }, t + 2];
    }
    return [op, t + 1];
  }
}

function describeToken(tok: Token): string {
  return tok.kind === "ident" ? `<${tok.text}>` : `"${tok.text}"`;
}

// ---- Execution ------------------------------------------------------------------------------

class ExecError extends Error {
  constructor(
    readonly at: { pos: number; src: string },
    message: string,
  ) {
    super(message);
  }
}

/** {{break}} and {{continue}} unwind to their {{range}}. */
class LoopSignal {
  constructor(readonly kind: "break" | "continue") {}
}

/** No value piped in: the first command of a pipeline. */
const NONE = Symbol("no final value");
type Final = Value | typeof NONE;

export interface RenderOptions {
  /** the functions' implementations (a table's header row uses Docker's stand-ins) */
  funcs?: Record<string, TemplateFunc>;
  /** a map's missing key: Go's default "<no value>", or an error (docker inspect's raw fallback) */
  missingKey?: "zero" | "error";
}

class Executor {
  private vars: { name: string; value: Value }[];
  out = "";

  constructor(
    root: Value,
    private readonly funcs: Record<string, TemplateFunc>,
    private readonly missingKey: "zero" | "error",
  ) {
    this.vars = [{ name: "$", value: root }];
  }

  walk(nodes: Node[], dot: Value): void {
    for (const node of nodes) {
      switch (node.kind) {
        case "text":
          this.out += node.text;
          break;
        case "action": {
          const v = this.pipeline(node.pipe, dot, true);
          if (!node.pipe.vars.length) this.out += printValue(v);
          break;
        }
        case "if":
        case "with": {
          const mark = this.vars.length;
          const v = this.pipeline(node.pipe, dot, true);
          if (truth(v)) this.walk(node.list, node.kind === "with" ? v : dot);
          else this.walk(node.otherwise, dot);
          this.vars.length = mark;
          break;
        }
        case "range":
          this.range(node, dot);
          break;
        case "break":
        case "continue":
          throw new LoopSignal(node.kind);
      }
    }
  }

  range(node: { pipe: Pipe; list: Node[]; otherwise: Node[] }, dot: Value): void {
    const mark = this.vars.length;
    const v = this.pipeline(node.pipe, dot, false);
    let entries: [Value, Value][];
    if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
    else if (isMap(v)) entries = Object.keys(v).sort().map((k) => [k, v[k]]);
    else if (Number.isInteger(v)) entries = Array.from({ length: Math.max(0, v as number) }, (_, i) => [i, i]);
    else if (v === undefined || v === null) entries = [];
    else throw new ExecError(node.pipe.commands[0]!, `range can't iterate over ${printValue(v)}`);
    for (const [key, elem] of entries) {
      const [first, second] = node.pipe.vars;
      if (second !== undefined) this.vars.push({ name: first!, value: key }, { name: second, value: elem });
      else if (first !== undefined) this.vars.push({ name: first, value: elem });
      try {
        this.walk(node.list, elem);
      } catch (e) {
        if (!(e instanceof LoopSignal)) throw e;
        if (e.kind === "break") break;
      } finally {
        this.vars.length = mark;
      }
    }
    if (!entries.length) this.walk(node.otherwise, dot);
  }

  /** Runs the commands, each one's value the last argument of the next; `declare`: set its variables. */
  pipeline(pipe: Pipe, dot: Value, declare: boolean): Value {
    let value: Final = NONE;
    for (const cmd of pipe.commands) value = this.command(cmd, dot, value);
    const v = value === NONE ? undefined : value;
    if (declare) {
      for (const name of pipe.vars) {
        if (pipe.assign) {
          const slot = this.vars.findLast((x) => x.name === name);
          if (slot) slot.value = v;
        } else this.vars.push({ name, value: v });
      }
    }
    return v;
  }

  command(cmd: Command, dot: Value, final: Final): Value {
    const [first, ...args] = cmd.args as [Operand, ...Operand[]];
    const notAFunction = () => {
      if (args.length || final !== NONE) throw new ExecError(first, `can't give argument to non-function ${first.src}`);
    };
    switch (first.kind) {
      case "field":
        return this.fields(dot, first.path, first, args, dot, final);
      case "chain":
        return this.fields(this.arg(first.of, dot), first.path, first, args, dot, final);
      case "var":
        if (!first.path.length) {
          notAFunction();
          return this.variable(first.name);
        }
        return this.fields(this.variable(first.name), first.path, first, args, dot, final);
      case "ident":
        return this.call(first.name, cmd, args, dot, final);
      default:
        notAFunction();
        return this.arg(first, dot);
    }
  }

  arg(op: Operand, dot: Value): Value {
    switch (op.kind) {
      case "field":
        return this.fields(dot, op.path, op, [], dot, NONE);
      case "chain":
        return this.fields(this.arg(op.of, dot), op.path, op, [], dot, NONE);
      case "var":
        return this.fields(this.variable(op.name), op.path, op, [], dot, NONE);
      case "ident":
        return this.call(op.name, { args: [op], pos: op.pos, src: op.src }, [], dot, NONE);
      case "pipe": {
        const mark = this.vars.length;
        const v = this.pipeline(op.pipe, dot, true);
        this.vars.length = mark;
        return v;
      }
      case "dot":
        return dot;
      case "literal":
        return op.value;
    }
  }

  variable(name: string): Value {
    return this.vars.findLast((x) => x.name === name)!.value;
  }

  /** receiver.A.B...: the last name may be a method, given `args` and the piped value. */
  fields(receiver: Value, path: string[], at: Operand, args: Operand[], dot: Value, final: Final): Value {
    let v = receiver;
    path.forEach((name, i) => {
      const last = i === path.length - 1;
      v = this.field(v, name, at, last ? args : [], dot, last ? final : NONE);
    });
    return v;
  }

  /** A struct's field or method, or a map's key (a header row's map has a method too: Label). */
  field(receiver: Value, name: string, at: Operand, args: Operand[], dot: Value, final: Final): Value {
    const hasArgs = args.length > 0 || final !== NONE;
    const type = structType(receiver);
    if (type === undefined && !isMap(receiver)) {
      if (receiver === undefined || receiver === null) throw new ExecError(at, `nil pointer evaluating interface {}.${name}`);
      throw new ExecError(at, `can't evaluate field ${name} in type ${typeName(receiver)}`);
    }
    const members = receiver as Record<string, Value>;
    if (!Object.hasOwn(members, name)) {
      if (type !== undefined) throw new ExecError(at, `can't evaluate field ${name} in type ${type}`);
      if (hasArgs) throw new ExecError(at, `${name} is not a method but has arguments`);
      if (this.missingKey === "error") throw new ExecError(at, `map has no entry for key "${name}"`);
      return undefined;
    }
    const member = members[name];
    if (typeof member !== "function") {
      if (hasArgs) throw new ExecError(at, type !== undefined ? `${name} has arguments but cannot be invoked as function` : `${name} is not a method but has arguments`);
      return member;
    }
    const values = [...args.map((a) => this.arg(a, dot)), ...(final === NONE ? [] : [final])];
    if (values.length !== member.length) throw new ExecError(at, `wrong number of args for ${name}: want ${member.length} got ${values.length}`);
    return member.apply(receiver, values);
  }

  call(name: string, cmd: Command, argOps: Operand[], dot: Value, final: Final): Value {
    const f = this.funcs[name]!;
    const count = argOps.length + (final === NONE ? 0 : 1);
    const [least, most] = f.arity;
    if (count < least || count > most) {
      throw new ExecError(cmd, `wrong number of args for ${name}: want ${least === most ? least : `at least ${least}`} got ${count}`);
    }
    const values: Value[] = [];
    const pending = [...argOps.map((op) => () => this.arg(op, dot)), ...(final === NONE ? [] : [() => final])];
    for (const next of pending) {
      const v = next();
      values.push(v);
      // and/or stop at the first operand that decides them, as Go's do.
      if ((name === "and" && !truth(v)) || (name === "or" && truth(v))) return v;
    }
    try {
      return f.call(values);
    } catch (e) {
      if (!(e instanceof CallError)) throw e;
      throw new ExecError(cmd, e.bare ? e.message : `error calling ${name}: ${e.message}`);
    }
  }
}

// ---- Interface ------------------------------------------------------------------------------

export interface Template {
  render(data: Value, options?: RenderOptions): string;
}

/** A parsed template; a syntax error is one line and exit 125, in Docker's words. */
export function parseTemplate(src: string): Template {
  let nodes: Node[];
  try {
    const parser = new Parser(src, lex(src));
    const { nodes: top, stop } = parser.list();
    if (stop) parser.fail(stop.item.pos, `unexpected {{${stop.word}}}`);
    nodes = top;
  } catch (e) {
    if (e instanceof ParseError) throw new UserError(`template parsing error: template: :${e.message}`);
    throw e;
  }
  return {
    render(data, options = {}) {
      const run = new Executor(data, options.funcs ?? FUNCS, options.missingKey ?? "zero");
      try {
        run.walk(nodes, data);
      } catch (e) {
        if (!(e instanceof ExecError)) throw e;
        const before = src.slice(0, e.at.pos);
        const column = e.at.pos - (before.lastIndexOf("\n") + 1);
        throw new UserError(`template parsing error: template: :${lineOf(src, e.at.pos)}:${column}: executing "" at <${e.at.src}>: ${e.message}`);
      }
      return run.out;
    },
  };
}

export function renderTemplate(src: string, data: Value, options?: RenderOptions): string {
  return parseTemplate(src).render(data, options);
}
