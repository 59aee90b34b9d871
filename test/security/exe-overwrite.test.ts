// CVE-2019-5736 as it was exploited against runc: an image whose executable names
// /proc/self/exe as its interpreter (`#!/proc/self/exe`). Whoever execs it runs its own binary
// inside the container: were that box's, a process of the container could hold it open through
// /proc/PID/exe and write to it once it has exited, overwriting box on the host. The rootfs
// gets box's dynamic loader and libraries, so that box's binary could really start in there
// (without them the attack fails for a reason that a glibc-based image does not give).
import { describe, expect, test } from "bun:test";
import { copyFileSync, chmodSync, cpSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BOX, box, copyRootfs, sha256, storePerTest } from "../helpers/box.ts";

const t = storePerTest();

/**
 * Watches /proc for a process whose binary is the victim's; holds it open and, once that process
 * is gone, writes to it. Says what it got.
 */
const ATTACKER = `
end=$(( $(date +%s) + 4 ))
while [ $(date +%s) -lt $end ]; do
  for d in /proc/[0-9]*; do
    case "$(readlink $d/exe 2>/dev/null)" in
      *box-victim*) exec 3< $d/exe && { echo got-box; sleep 1; printf PWNED >> /proc/self/fd/3 && echo wrote; exit; } ;;
    esac
  done
done
echo nothing-found`;

/** A copy of the box under test, named so the attacker can spot it, with its arguments. */
function victim(): string[] {
  const copy = join(t.s.dir, "box-victim");
  copyFileSync(BOX[0]!, copy);
  chmodSync(copy, 0o755);
  return [copy, ...BOX.slice(1), "--root", t.s.root, "--runroot", t.s.runroot];
}

/** The test rootfs plus the dynamic loader and libraries the victim binary needs. */
function hostileRootfs(bin: string): string {
  const root = copyRootfs(t.s);
  const ldd = Bun.spawnSync(["ldd", bin]).stdout.toString();
  for (const lib of ldd.match(/\/\S+/g) ?? []) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    cpSync(lib, join(root, lib), { dereference: true });
  }
  writeFileSync(join(root, "evil"), "#!/proc/self/exe\n", { mode: 0o755 });
  writeFileSync(join(root, "attacker.sh"), ATTACKER);
  return root;
}

async function run(cmd: string[]): Promise<{ code: number; stdout: string }> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [code, stdout] = await Promise.all([p.exited, new Response(p.stdout).text()]);
  return { code, stdout };
}

describe("CVE-2019-5736: a #!/proc/self/exe executable cannot reach box's binary", () => {
  test("neither box exec nor the payload's start runs box's binary in the container, and the host's binary stays as it was", async () => {
    const bin = victim();
    const rootfs = hostileRootfs(bin[0]!);
    const before = sha256(bin[0]!);
    expect((await run([...bin, "run", "-d", "--name", "target", "--network", "none", "--rootfs", rootfs, "sh", "/attacker.sh"])).code).toBe(0);
    try {
      await Bun.sleep(200);
      // What an admin does with a container: exec into it, here running the image's /evil.
      const exec = await run([...bin, "exec", "target", "/evil"]);
      // As the payload of a new container too (the init's spawn).
      const payload = await run([...bin, "run", "--rm", "--network", "none", "--rootfs", rootfs, "/evil"]);
      // The shim, as /evil's interpreter, refuses an argv it did not make: nothing runs.
      expect(exec.code).toBe(127);
      expect(payload.code).toBe(127);
      const waited = await run([...bin, "wait", "target"]);
      expect(waited.stdout.trim()).toBe("0");
      const logs = await box(t.s, ["logs", "target"]);
      expect(logs.stdout).toBe("nothing-found\n");
      expect(sha256(bin[0]!)).toBe(before);
    } finally {
      // Also when an assertion failed: the store must be left empty.
      await box(t.s, ["rm", "-f", "target"]);
    }
  });
});
