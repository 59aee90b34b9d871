// box login / logout: credentials for a registry, checked against it before they are kept.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { authFile, removeCredentials, saveCredentials } from "../image/auth.ts";
import { DOCKER_HUB } from "../image/reference.ts";
import { Registry } from "../image/registry.ts";
import { isTerminal } from "../sys/tty.ts";
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
    if (!username) throw new UserError(`"box login" needs --username (box asks for no input${isTerminal(0) ? "" : ", and stdin is no terminal"})`);
    if (!password) throw new UserError(`"box login" needs a password: --password-stdin or --password`);
    const creds = { username, password };
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

function registryHost(given: string | undefined): string {
  if (given === undefined) return DOCKER_HUB;
  const host = given.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  if (!/^[a-zA-Z0-9.-]+(:\d+)?$/.test(host)) throw new UserError(`invalid registry ${JSON.stringify(given)}`);
  return ["index.docker.io", "registry-1.docker.io"].includes(host) ? DOCKER_HUB : host;
}
