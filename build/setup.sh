#!/usr/bin/env bash
# Sets up box on a fresh Debian machine (as root): system packages, Bun, dependencies, the
# build, a busybox image, and a first container.
set -euo pipefail
cd "$(dirname "$0")/.."

BUN_VERSION=1.4.5
# gcc: builds the spawn trampoline; busybox-static: the test image; util-linux: script/ipcmk/
# mount for tests; tar: to pack the demo image; runc/crun/podman: the benchmark's reference runtimes;
# qemu-system-x86, cpio, xz-utils: the cgroup2 VM of `bun run test` (test/vm/); iproute2, nftables:
# the network tests inspect links and rules with ip and nft (box itself runs neither);
# docker-registry, skopeo: the pull tests' registry on localhost and what pushes to it; umoci, gzip,
# zstd, debootstrap: the image benchmark's reference unpacker, its Debian layer, and the tests'
# compressed archives; docker.io (dockerd, containerd and its runc shim): the client that drives
# box oci in the tests and the benchmark, as a private daemon each time (its service is not used);
# zsh, fish: the tests load box's completion scripts in them; buildah: the build benchmark's reference.
PACKAGES=(gcc busybox-static util-linux mount tar ca-certificates runc crun podman qemu-system-x86 cpio xz-utils iproute2 nftables docker-registry skopeo umoci gzip zstd debootstrap docker.io zsh fish buildah git)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ! command -v bun >/dev/null 2>&1 && ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  # No package's service starts (docker.io's would run a system dockerd, with its own bridge and
  # firewall rules): the tests start private daemons themselves.
  no_start=/usr/sbin/policy-rc.d
  if [ ! -e "$no_start" ]; then printf '#!/bin/sh\nexit 101\n' > "$no_start" && chmod +x "$no_start"; else no_start=""; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$no_start" ]; then rm -f "$no_start"; fi
fi
if ! command -v bun >/dev/null 2>&1 || [ "$(bun --version)" != "$BUN_VERSION" ]; then
  npm install -g --silent "bun@$BUN_VERSION"
fi

bun install --frozen-lockfile >/dev/null
bun run build

# A first container: busybox as an image, then `box run`.
image_dir=$(mktemp -d)
trap 'rm -rf "$image_dir"' EXIT
bun build/busybox-rootfs.ts "$image_dir/rootfs" >/dev/null
tar -C "$image_dir/rootfs" -cf "$image_dir/busybox.tar" .
./dist/box import "$image_dir/busybox.tar" busybox >/dev/null
# No network: set-up leaves no bridge or firewall rule on the host (the default network's bridge,
# box0, is made by the first container that uses it).
./dist/box run --rm --network none --hostname first busybox /bin/sh -c 'echo "hello from $(hostname), a box container"'
