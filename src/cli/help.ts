import { renderUsage, type CommandDef } from "citty";
import { isTerminal } from "../sys/tty.ts";

const BOX = { meta: { name: "box" } } as CommandDef<any>;

/**
 * citty's usage text plus examples; plain when stdout is no terminal or NO_COLOR is set.
 * `parent` names the usage line: `box CMD` for commands, nothing for the root command itself.
 */
export async function printHelp(cmd: CommandDef<any>, examples: string[] = [], parent: CommandDef<any> | null = BOX): Promise<void> {
  let text = await renderUsage(cmd, parent ?? undefined);
  // citty prints every alias with one dash; a long one (--net) takes two. No trailing blanks.
  text = text.replace(/(?<=^|\s|\x1b\[[0-9;]*m)-(?=[a-z][a-z-]+,)/gm, "--").replace(/[ \t]+$/gm, "");
  if (examples.length) text += `\n\nEXAMPLES\n\n${examples.map((e) => `  ${e}`).join("\n")}`;
  if (process.env.NO_COLOR || !isTerminal(1)) text = text.replace(/\x1b\[[0-9;]*m/g, "");
  process.stdout.write(`${text}\n`);
}
