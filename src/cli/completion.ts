// box completion bash|zsh|fish: a completion script made from box's own command definitions:
// commands and families, every spelling of every flag, files for flags that take a path, and
// container and image names, which the script asks box for (`box ps -a --format ...`) as the
// user presses TAB.
import { defineCommand, type ArgDef, type CommandDef } from "citty";
import { UserError } from "../container/errors.ts";
import { aliasesOf, parseFlags } from "./flags.ts";
import { printHelp, resolve } from "./help.ts";

/** What the script knows of one command: the words that may follow it. */
interface Spec {
  subs: string[];
  flags: string[];
  /** The flags (of `flags`) that take a value; `files`: those whose value is a path. */
  valued: string[];
  files: string[];
  /** What each positional is: container, image, rest (the payload's words: no more of box's), or
   * any; the last one repeats. */
  args: string[];
}

const SHELLS = { bash, zsh, fish } as const;

export const completionCommand = defineCommand({
  meta: { name: "completion", description: "Print a completion script for bash, zsh or fish" },
  args: { shell: { type: "positional", description: "bash, zsh or fish", required: false } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["source <(box completion bash)", "box completion zsh > \"${fpath[1]}/_box\"", "box completion fish > ~/.config/fish/completions/box.fish"]);
    const [shell, extra] = flags.positionals;
    if (!shell || extra !== undefined) throw new UserError(`"box completion" requires exactly 1 argument: bash, zsh or fish`);
    if (!Object.hasOwn(SHELLS, shell)) throw new UserError(`unsupported shell "${shell}": bash, zsh or fish`);
    const { rootCommand } = await import("./main.ts");
    const specs = new Map<string, Spec>();
    await collect(rootCommand, [], specs);
    process.stdout.write(SHELLS[shell as keyof typeof SHELLS](group(specs)));
  },
});

/** Every command, by the words that name it ("" for box itself, "container ls"). */
async function collect(cmd: CommandDef<any>, path: string[], out: Map<string, Spec>): Promise<void> {
  const args = Object.entries((await resolve(cmd.args)) ?? {}) as [string, ArgDef][];
  const table = (await resolve(cmd.subCommands)) ?? {};
  const spec: Spec = { subs: Object.keys(table), flags: ["--help", "-h"], valued: [], files: [], args: [] };
  for (const [name, arg] of args) {
    if (arg.type === "positional") {
      spec.args.push(arg.valueHint ? "rest" : name === "container" || name === "image" ? name : "any");
      continue;
    }
    const spellings = [`--${name}`, ...aliasesOf(arg).map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
    spec.flags.push(...spellings);
    if (arg.type === "boolean") continue;
    spec.valued.push(...spellings);
    if (/DIR|FILE|PATH/.test(arg.valueHint ?? "")) spec.files.push(...spellings);
  }
  out.set(path.join(" "), spec);
  for (const [name, sub] of Object.entries(table)) await collect((await resolve(sub)) as CommandDef<any>, [...path, name], out);
}

/** Commands with the same spec (`container ls`, `ps`) share one arm of the script's case. */
function group(specs: Map<string, Spec>): [string[], Spec][] {
  const arms = new Map<string, [string[], Spec]>();
  for (const [path, spec] of specs) {
    const key = JSON.stringify(spec);
    const arm = arms.get(key) ?? [[], spec];
    arm[0].push(path);
    arms.set(key, arm);
  }
  return [...arms.values()];
}

const words = (list: string[]) => list.join(" ");

/** `case` arms that set _box_subs, _box_flags, ... for a command path (bash and zsh alike). */
function shCases(arms: [string[], Spec][]): string {
  return arms
    .map(([paths, s]) => {
      const vars = [`_box_subs="${words(s.subs)}"`, `_box_flags="${words(s.flags)}"`, `_box_vflags="${words(s.valued)}"`, `_box_files="${words(s.files)}"`, `_box_args="${words(s.args)}"`];
      return `    ${paths.map((p) => `"${p}"`).join("|")})\n      ${vars.join("\n      ")} ;;`;
    })
    .join("\n");
}

/**
 * The scripts' way through the words typed so far (bash's and zsh's differ in the names of the
 * words and the cursor's, and where the words start): flags (and the value of one that takes one)
 * are passed over, a family's command word selects its spec, anything else is a positional. box's
 * own global flags (--root, --runroot) go to the box the script runs for names.
 */
function shWalk(words: string, first: number, current: string): string {
  return `  local cur=\${${words}[${current}]} prev=\${${words}[${current}-1]} cmdpath="" word kind i n=0
  local _box_subs _box_flags _box_vflags _box_files _box_args
  local -a global kinds
  _box_spec ""
  for ((i = ${first}; i < ${current}; i++)); do
    word=\${${words}[i]}
    if [[ $word == -* ]]; then
      [[ -z $cmdpath ]] && global+=("$word")
      if [[ $word != *=* && " $_box_vflags " == *" $word "* ]]; then
        ((i++))
        [[ -z $cmdpath ]] && global+=("\${${words}[i]}")
      fi
    elif ((n == 0)) && [[ " $_box_subs " == *" $word "* ]]; then
      cmdpath=\${cmdpath:+$cmdpath }$word
      _box_spec "$cmdpath"
    else
      ((n++))
    fi
  done`;
}

function bash(arms: [string[], Spec][]): string {
  return `# bash completion for box (made by \`box completion bash\`). Load it with
#   source <(box completion bash)
# or save it as /etc/bash_completion.d/box.

_box_spec() {
  case "$1" in
${shCases(arms)}
    *) _box_subs="" _box_flags="" _box_vflags="" _box_files="" _box_args="" ;;
  esac
}

_box() {
${shWalk("COMP_WORDS", 1, "COMP_CWORD")}
  COMPREPLY=()
  if [[ $prev == -* && $prev != *=* && " $_box_vflags " == *" $prev "* ]]; then
    [[ " $_box_files " == *" $prev "* ]] && compopt -o default 2>/dev/null
    return
  fi
  kinds=($_box_args)
  if ((\${#kinds[@]})); then
    kind=\${kinds[n < \${#kinds[@]} ? n : \${#kinds[@]} - 1]}
  fi
  if [[ $kind == rest ]]; then
    compopt -o default 2>/dev/null
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$_box_flags" -- "$cur"))
  elif ((n == 0)) && [[ -n $_box_subs ]]; then
    COMPREPLY=($(compgen -W "$_box_subs" -- "$cur"))
  elif [[ $kind == container ]]; then
    COMPREPLY=($(compgen -W "$("\${COMP_WORDS[0]}" "\${global[@]}" ps -a --format '{{.Names}} {{.ID}}' 2>/dev/null)" -- "$cur"))
  elif [[ $kind == image ]]; then
    COMPREPLY=($(compgen -W "$("\${COMP_WORDS[0]}" "\${global[@]}" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>')" -- "$cur"))
  else
    compopt -o default 2>/dev/null
  fi
}

complete -F _box box
`;
}

function zsh(arms: [string[], Spec][]): string {
  return `#compdef box
# zsh completion for box (made by \`box completion zsh\`). Load it with
#   source <(box completion zsh)
# (after compinit), or save it as _box in a directory of $fpath.

_box_spec() {
  case "$1" in
${shCases(arms)}
    *) _box_subs="" _box_flags="" _box_vflags="" _box_files="" _box_args="" ;;
  esac
}

_box() {
${shWalk("words", 2, "CURRENT")}
  if [[ $prev == -* && $prev != *=* && " $_box_vflags " == *" $prev "* ]]; then
    [[ " $_box_files " == *" $prev "* ]] && _files
    return
  fi
  kinds=(\${=_box_args})
  if ((\${#kinds})); then
    kind=\${kinds[n < \${#kinds} ? n + 1 : \${#kinds}]}
  fi
  if [[ $kind == rest ]]; then
    _files
  elif [[ $cur == -* ]]; then
    compadd -- \${=_box_flags}
  elif ((n == 0)) && [[ -n $_box_subs ]]; then
    compadd -- \${=_box_subs}
  elif [[ $kind == container ]]; then
    compadd -- \${=$("\${words[1]}" "\${global[@]}" ps -a --format '{{.Names}} {{.ID}}' 2>/dev/null)}
  elif [[ $kind == image ]]; then
    compadd -- \${=$("\${words[1]}" "\${global[@]}" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>')}
  else
    _files
  fi
}

if [[ "\${funcstack[1]}" == _box ]]; then
  _box "$@"
else
  compdef _box box
fi
`;
}

function fish(arms: [string[], Spec][]): string {
  const cases = arms
    .map(([paths, s]) => {
      const set = (name: string, list: string[]) => `set -g __box_${name} ${words(list)}`.trimEnd();
      return `    case ${paths.map((p) => `'${p}'`).join(" ")}\n        ${[set("subs", s.subs), set("flags", s.flags), set("vflags", s.valued), set("files", s.files), set("args", s.args)].join("\n        ")}`;
    })
    .join("\n");
  return `# fish completion for box (made by \`box completion fish\`). Load it with
#   box completion fish | source
# or save it as ~/.config/fish/completions/box.fish.

function __box_spec
    set -g __box_subs
    set -g __box_flags
    set -g __box_vflags
    set -g __box_files
    set -g __box_args
    switch "$argv[1]"
${cases}
    end
end

function __box_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l cmdpath ''
    set -l n 0
    set -l global
    __box_spec ''
    set -l i 2
    while test $i -le (count $words)
        set -l word $words[$i]
        if string match -q -- '-*' $word
            test -z "$cmdpath"; and set -a global $word
            if not string match -q -- '*=*' $word; and contains -- $word $__box_vflags
                set i (math $i + 1)
                test -z "$cmdpath"; and set -a global $words[$i]
            end
        else if test $n -eq 0; and contains -- $word $__box_subs
            set cmdpath (string trim -- "$cmdpath $word")
            __box_spec $cmdpath
        else
            set n (math $n + 1)
        end
        set i (math $i + 1)
    end
    set -l prev $words[-1]
    if string match -q -- '-*' $prev; and not string match -q -- '*=*' $prev; and contains -- $prev $__box_vflags
        contains -- $prev $__box_files; and __fish_complete_path $cur
        return
    end
    set -l kind
    set -l count (count $__box_args)
    if test $count -gt 0
        set kind $__box_args[(math "min($n + 1, $count)")]
    end
    if test "$kind" = rest
        __fish_complete_path $cur
    else if string match -q -- '-*' $cur
        printf '%s\\n' $__box_flags
    else if test $n -eq 0; and test (count $__box_subs) -gt 0
        printf '%s\\n' $__box_subs
    else if test "$kind" = container
        $words[1] $global ps -a --format '{{.Names}} {{.ID}}' 2>/dev/null | string split ' '
    else if test "$kind" = image
        $words[1] $global images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | string match -v '*<none>*'
    else
        __fish_complete_path $cur
    end
end

complete -c box -f -a '(__box_complete)'
`;
}
