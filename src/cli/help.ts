import { renderUsage, type CommandDef } from "citty";

export async function printHelp(cmd: CommandDef<any>, examples: string[] = [], parent?: CommandDef<any>): Promise<void> {
  let text = await renderUsage(cmd, parent);
  if (examples.length) text += `\n\nEXAMPLES\n\n${examples.map((e) => `  ${e}`).join("\n")}`;
  process.stdout.write(`${text}\n`);
}
