// The same Dockerfile and context through `docker build` (the private dockerd 20.10 the tests
// start, its classic builder) and `box build`, on the same busybox image: the image config and
// the files a container of the image sees (paths, modes, owners, contents) must be the same.
// Docker is the reference, not box's reading of its documentation.
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box } from "./helpers/box.ts";
import { dockerAndBox } from "./helpers/docker-pair.ts";

const pair = dockerAndBox(["-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);

/** A context directory with these files. */
function context(name: string, files: Record<string, string>): string {
  const dir = join(pair.s.dir, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const CONFIG = "{{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.Entrypoint}} {{.Config.WorkingDir}} {{.Config.User}} {{json .Config.Labels}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{.Config.StopSignal}} {{json .Config.Healthcheck}} {{json .Config.Shell}} {{json .Config.OnBuild}}";

/** The files below `paths` as a container of `image` sees them: path, type and mode, owner, size, sha256. */
const TREE = (paths: string) => `find ${paths} | sort | while read -r f; do printf '%s %s ' "$f" "$(stat -c '%A %u:%g' "$f")"; if [ -f "$f" ] && [ ! -L "$f" ]; then sha256sum < "$f" | cut -c1-16; elif [ -L "$f" ]; then readlink "$f"; else echo; fi; done`;

async function bothBuild(dir: string, tag: string): Promise<void> {
  const viaDocker = await pair.d.run(["build", "--network", "none", "-q", "-t", tag, dir]);
  expect(viaDocker.stderr).toBe("");
  expect(viaDocker.code).toBe(0);
  const viaBox = await box(pair.s, ["build", "--network", "none", "-q", "-t", tag, dir]);
  expect(viaBox.stderr).toBe("");
  expect(viaBox.code).toBe(0);
}

async function same(args: string[]): Promise<void> {
  const [viaDocker, viaBox] = await Promise.all([pair.d.run(args), box(pair.s, args)]);
  expect(viaDocker.code).toBe(0);
  expect(viaBox.stdout).toBe(viaDocker.stdout);
}

describe("docker build and box build, same Dockerfile, same image", () => {
  test("the base image's config, every field as Docker shows it", async () => {
    await same(["image", "inspect", "-f", "{{json .Config}}", "busybox:box"]);
  });

  test("config instructions, RUN, COPY of files and directories with --chown, ONBUILD", async () => {
    const dir = context("one", {
      Dockerfile: [
        "FROM busybox:box",
        "ARG VERSION=1.0",
        "ENV APP=/srv/app NAME=\"two words\"",
        "WORKDIR $APP",
        "RUN echo \"version $VERSION\" > version && mkdir -p /var/lib/app && chown 1000:1000 /var/lib/app && ln -s /srv/app/version /version",
        "COPY app.txt ./",
        "COPY conf /etc/app/",
        "COPY --chown=1000:1000 data/ /var/lib/app/",
        "LABEL org.example.name=app version=\"$VERSION\"",
        "EXPOSE 8080 53/udp",
        "VOLUME [\"/var/lib/app\"]",
        "STOPSIGNAL SIGINT",
        "HEALTHCHECK --interval=5s --retries=2 CMD test -f /srv/app/version",
        "SHELL [\"/bin/sh\", \"-ec\"]",
        "ONBUILD RUN echo child",
        "USER 1000:1000",
        "ENTRYPOINT [\"/bin/sh\", \"-c\"]",
        "CMD [\"cat version\"]",
      ].join("\n"),
      "app.txt": "app\n",
      "conf/a.conf": "a=1\n",
      "conf/sub/b.conf": "b=2\n",
      "data/seed": "seed\n",
    });
    await bothBuild(dir, "cmp-one");
    await same(["image", "inspect", "-f", CONFIG, "cmp-one"]);
    await same(["run", "--rm", "--network", "none", "--entrypoint", "sh", "-u", "0", "cmp-one", "-c", TREE("/srv/app /etc/app /var/lib/app /version")]);
    await same(["run", "--rm", "--network", "none", "cmp-one"]);
  }, 120000);

  test("multi-stage: COPY --from a stage, and a final stage on the same base", async () => {
    const dir = context("two", {
      Dockerfile: [
        "FROM busybox:box AS build",
        "RUN mkdir -p /out/bin && printf '#!/bin/sh\\necho built\\n' > /out/bin/tool && chmod 750 /out/bin/tool",
        "FROM busybox:box",
        "COPY --from=build /out/bin/ /usr/local/bin/",
        "COPY --from=build /out /opt/out",
        "CMD [\"tool\"]",
      ].join("\n"),
    });
    await bothBuild(dir, "cmp-two");
    await same(["image", "inspect", "-f", "{{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.Entrypoint}} {{json .Config.Volumes}} {{json .Config.OnBuild}}", "cmp-two"]);
    await same(["run", "--rm", "--network", "none", "cmp-two", "sh", "-c", TREE("/usr/local/bin /opt/out")]);
    await same(["run", "--rm", "--network", "none", "cmp-two"]);
  }, 120000);
});
