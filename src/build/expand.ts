// Variable substitution in a Dockerfile's instructions, as Docker's shell lexer does it (ADD,
// COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG; RUN, CMD and
// ENTRYPOINT are left to the shell): $VAR and ${VAR}, ${VAR:-word} and ${VAR-word}, ${VAR:+word}
// and ${VAR+word}, ${VAR:?msg}; single quotes keep everything, double quotes keep whitespace
// and expand; the escape character (\ or `) takes the next character as it is.
import { BuildError } from "./errors.ts";

export type Lookup = (name: string) => string | undefined;

/** The text as one word: quotes removed, variables expanded, whitespace kept. */
export function expandWord(text: string, vars: Lookup, escape = "\\"): string {
  return new Lexer(text, vars, escape).words(false).join("");
}

/** The text as words split at unquoted whitespace, each expanded. */
export function expandWords(text: string, vars: Lookup, escape = "\\"): string[] {
  return new Lexer(text, vars, escape).words(true);
}

class Lexer {
  private i = 0;

  constructor(
    private readonly text: string,
    private readonly vars: Lookup,
    private readonly escape: string,
  ) {}

  words(split: boolean): string[] {
    const out: string[] = [];
    let word = "";
    // A word made only of quotes ("") is a word still.
    let started = false;
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (split && /\s/.test(c)) {
        if (started) out.push(word);
        word = "";
        started = false;
        this.i++;
        continue;
      }
      started = true;
      word += this.piece();
    }
    if (started || !split) out.push(word);
    return out;
  }

  private single(): string {
    const end = this.text.indexOf("'", this.i + 1);
    if (end < 0) throw new BuildError(`unexpected end of statement while looking for matching single-quote: ${this.text}`);
    const s = this.text.slice(this.i + 1, end);
    this.i = end + 1;
    return s;
  }

  private double(): string {
    let s = "";
    this.i++;
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (c === '"') {
        this.i++;
        return s;
      }
      if (c === this.escape && this.i + 1 < this.text.length && ['"', "$", this.escape].includes(this.text[this.i + 1]!)) {
        s += this.text[this.i + 1];
        this.i += 2;
      } else if (c === "$") s += this.dollar();
      else {
        s += c;
        this.i++;
      }
    }
    throw new BuildError(`unexpected end of statement while looking for matching double-quote: ${this.text}`);
  }

  private dollar(): string {
    this.i++;
    const next = this.text[this.i];
    if (next !== "{") {
      const name = /^[A-Za-z0-9_]+/.exec(this.text.slice(this.i))?.[0];
      if (!name) return "$";
      this.i += name.length;
      return this.vars(name) ?? "";
    }
    this.i++;
    const name = /^[A-Za-z0-9_]+/.exec(this.text.slice(this.i))?.[0];
    if (!name) throw new BuildError(`failed to process "${this.text}": missing ':' in substitution`);
    this.i += name.length;
    if (this.text[this.i] === "}") {
      this.i++;
      return this.vars(name) ?? "";
    }
    const op = /^(:?[-+?])/.exec(this.text.slice(this.i))?.[1];
    if (!op) throw new BuildError(`failed to process "${this.text}": unsupported modifier (${this.text[this.i] ?? "end"}) in substitution`);
    this.i += op.length;
    const word = this.nested();
    const value = this.vars(name);
    const set = op.startsWith(":") ? value !== undefined && value !== "" : value !== undefined;
    switch (op.at(-1)) {
      case "-":
        return set ? value! : word;
      case "+":
        return set ? word : "";
      default:
        if (!set) throw new BuildError(`failed to process "${this.text}": ${name}: ${word || "is not allowed to be unset"}`);
        return value!;
    }
  }

  /** The word of ${VAR:-word} up to its closing brace, itself expanded. */
  private nested(): string {
    let s = "";
    while (this.i < this.text.length) {
      if (this.text[this.i] === "}") {
        this.i++;
        return s;
      }
      s += this.piece();
    }
    throw new BuildError(`failed to process "${this.text}": syntax error: missing '}'`);
  }

  /** One unit at the cursor: an escaped character, a quoted part, a variable, or a character. */
  private piece(): string {
    const c = this.text[this.i]!;
    if (c === this.escape) {
      this.i++;
      return this.i < this.text.length ? this.text[this.i++]! : c;
    }
    if (c === "'") return this.single();
    if (c === '"') return this.double();
    if (c === "$") return this.dollar();
    this.i++;
    return c;
  }
}
