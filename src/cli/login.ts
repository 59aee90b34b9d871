// box login / logout: credentials for a registry, checked against it before they are kept.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { authFile, removeCredentials, saveCredentials } from "../image/auth.ts";
import { DOCKER_HUB } from "../image/reference.ts";
import { Registry } from "../image/registry.ts";
import { isTerminal, makeRaw } from "../sys/tty.ts";
import { read } from "../sys/fs.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";

export const loginCommand = defineCommand({
  meta: { name: "login", description: "Log in to a registry (Docker Hub when none is named)" },
  args: {
    username: { type: "string", alias: "u", description: "Username", valueHint: "NAME" },
    password: { type: "string", alias: "p", description: "Password (visible to other users in ps: prefer --password-stdin)", valueHint: "PASSWORD" },
    "password-stdin": { type: "boolean", description: "Read the password from standard input" },
    insecure: { type: "boolean", description: "Allow plain HTTP, or HTTPS with any certificate, for this registry" },
    authfile: { type: "string", description: "Credentials file (default $XDG_CONFIG_HOME/box/auth.json)", valueHint: "FILE" },
    server: { type: "positional", description: "Registry host[:port]", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box login -u me registry.example.com", "echo \"$TOKEN\" | box login -u me --password-stdin localhost:5000"]);
    const domain = registryHost(flags.positionals[0]);
    const username = flags.values.username as string | undefined;
    let password = flags.values.password as string | undefined;
    if (flags.values["password-stdin"]) {
      if (password !== undefined) throw new UserError("--password and --password-stdin are mutually exclusive");
      password = (await Bun.stdin.text()).replace(/\r?\n$/, "");
    }
    // On a terminal, Docker's questions; a script gives the flags.
    const asked = !username || !password ? isTerminal(0) : false;
    const user = username || (asked ? ask("Username: ") : "");
    if (!user) throw new UserError(`"box login" needs --username${isTerminal(0) ? "" : " (stdin is no terminal to ask on)"}`);
    if (!password && asked) password = askHidden("Password: ");
    if (!password) throw new UserError(`"box login" needs a password: --password-stdin or --password`);
    const creds = { username: user, password };
    // The registry's /v2/ answers 401 to nobody and 200 to valid credentials, whatever its scheme.
    await new Registry(domain, { insecure: flags.values.insecure === true, credentials: creds }).ping();
    saveCredentials(domain, creds, authFile(flags.values.authfile as string | undefined));
    process.stdout.write("Login Succeeded\n");
  },
});

export const logoutCommand = defineCommand({
  meta: { name: "logout", description: "Forget the credentials of a registry" },
  args: {
    authfile: { type: "string", description: "Credentials file (default $XDG_CONFIG_HOME/box/auth.json)", valueHint: "FILE" },
    server: { type: "positional", description: "Registry host[:port]", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box logout localhost:5000"]);
    const domain = registryHost(flags.positionals[0]);
    const removed = removeCredentials(domain, authFile(flags.values.authfile as string | undefined));
    process.stdout.write(removed ? `Removing login credentials for ${domain}\n` : `Not logged in to ${domain}\n`);
  },
});

function ask(question: string): string {
  return (prompt(question.trimEnd()) ?? "").trim();
}

/** A line read from the terminal without echoing it (raw mode, so box handles the keys itself). */
function askHidden(question: string): string {
  process.stdout.write(question);
  const restore = makeRaw(0);
  const key = new Uint8Array(1);
  let line = "";
  try {
    for (;;) {
      if (read(0, key) === 0) break;
      const c = key[0]!;
      if (c === 0x0d || c === 0x0a) break;
      if (c === 0x03) throw new UserError("login interrupted");
      if (c === 0x7f || c === 0x08) line = line.slice(0, -1);
      else line += String.fromCharCode(c);
    }
  } finally {
    restore();
    process.stdout.write("\n");
  }
  return Buffer.from(line, "latin1").toString("utf8");
}

function registryHost(given: string | undefined): string {
  if (given === undefined) return DOCKER_HUB;
  const host = given.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  if (!/^[a-zA-Z0-9.-]+(:\d+)?$/.test(host)) throw new UserError(`invalid registry ${JSON.stringify(given)}`);
  return ["index.docker.io", "registry-1.docker.io"].includes(host) ? DOCKER_HUB : host;
}
