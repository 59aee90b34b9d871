#!/usr/bin/env bash
# Runs a command in a small cgroup2-only VM: Debian's 6.1 kernel under qemu TCG, booted with
# cgroup_no_v1=all, seeing this host's files (its / read-only over 9p with a tmpfs overlay on
# top, the repo read-write at the same path). cwd is the repo; the exit code is the command's.
#   test/vm/run-in-vm.sh [COMMAND...]      e.g. BOX_BIN=dist/box test/vm/run-in-vm.sh bun test test/cgroups.test.ts
# Exit codes of its own: 124 timed out, 125 the VM failed. See test/vm/README.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${BOX_VM_CACHE:-${XDG_CACHE_HOME:-/var/cache}/box-vm}
TIMEOUT=${BOX_VM_TIMEOUT:-3600}   # seconds, for the whole VM
CPUS=${BOX_VM_CPUS:-2}
MEM=${BOX_VM_MEM:-2G}
# The initramfs loads these (and their dependencies); everything else loads on demand.
INIT_MODULES="virtio_mmio 9pnet_virtio 9p overlay virtio_blk"

say() { echo "run-in-vm: $*" >&2; }
die() { say "$*"; exit 125; }
[ "$(id -u)" = 0 ] || die "must run as root (9p export of /, apt-get)"
[[ $REPO != *[[:space:],]* ]] || die "the repo's path must have no spaces or commas: $REPO"
[ $# -gt 0 ] || set -- sh -c 'echo "kernel $(uname -r), cgroup fs: $(stat -fc %T /sys/fs/cgroup)"
  echo "controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"; echo "bun $(bun --version)"'

# ---- host packages ----
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2; }
}
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v cpio >/dev/null || missing+=(cpio)
command -v xz >/dev/null || missing+=(xz-utils)
dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
[ ${#missing[@]} = 0 ] || { say "installing ${missing[*]}"; apt_install "${missing[@]}" || die "apt-get install ${missing[*]} failed"; }
BUSYBOX=$(readlink -f /bin/busybox)

# ---- the kernel: $CACHE/kernel/{vmlinux,release,lib/modules/RELEASE} ----
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9   # one preparer at a time, until the VM starts

# The uncompressed ELF inside a bzImage (what scripts/extract-vmlinux does): find a
# compressed stream that decompresses to an ELF file.
extract_vmlinux() { # bzImage out
  local magic tool off
  for magic in '\xfd7zXZ\x00:xz -dcq --single-stream' '\x28\xb5\x2f\xfd:zstd -dcq' '\x1f\x8b\x08:gzip -dcq'; do
    tool=${magic#*:}
    for off in $(LC_ALL=C grep -obUaP "${magic%%:*}" "$1" | cut -d: -f1); do
      tail -c +$((off + 1)) "$1" | $tool >"$2" 2>/dev/null || true
      [ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && return 0
    done
  done
  return 1
}

if [ ! -e "$CACHE/kernel/release" ]; then
  pkg=${BOX_VM_KERNEL_PKG:-}
  newest() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1; }
  [ -n "$pkg" ] || pkg=$(newest)
  [ -n "$pkg" ] || { apt-get update -q >&2; pkg=$(newest); }
  [ -n "$pkg" ] || die "cannot find Debian's linux-image-amd64"
  say "fetching $pkg into $CACHE/kernel"
  tmp="$CACHE/kernel.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp/deb"
  (cd "$tmp/deb" && apt-get download -q "$pkg" 2>&1 | grep -v unsandboxed >&2) || true
  dpkg-deb -x "$tmp/deb/"*.deb "$tmp/deb/x" || die "could not download/unpack $pkg"
  release=$(ls "$tmp/deb/x/lib/modules")
  extract_vmlinux "$tmp/deb/x/boot/vmlinuz-$release" "$tmp/vmlinux" || die "no vmlinux inside vmlinuz-$release"
  mkdir -p "$tmp/lib/modules"
  mv "$tmp/deb/x/lib/modules/$release" "$tmp/lib/modules/"
  # Drop hardware drivers no VM uses (~250 MB), then index what is left.
  (cd "$tmp/lib/modules/$release/kernel" && rm -rf sound drivers/{gpu,media,infiniband,usb,scsi,iio,hwmon,staging,hid,platform,net/wireless,net/ethernet,bluetooth,input,mfd,gnss})
  busybox depmod -b "$tmp" "$release"
  rm -rf "$tmp/deb"
  echo "$release" >"$tmp/release"
  rm -rf "$CACHE/kernel" && mv "$tmp" "$CACHE/kernel"
fi
KERNEL="$CACHE/kernel"
RELEASE=$(cat "$KERNEL/release")
MODDIR="$KERNEL/lib/modules/$RELEASE"

# ---- the initramfs: busybox, a few modules, /init (below). Cached by content. ----
read -r -d '' INIT <<'EOF' || true
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
fail() { echo "box-vm init: $*" >&2; poweroff -f; }
mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev || fail "proc/sys/dev"
stty -F /dev/console -onlcr 2>/dev/null   # output goes to the host as it is written
modprobe -a $(cat /modules) || fail "modprobe $(cat /modules)"
o9p="trans=virtio,version=9p2000.L,msize=262144"
mount -t 9p -o "$o9p,cache=none" run /run || fail "9p run"
. /run/vm.conf   # REPO, CACHE, BUSYBOX
mount -t 9p -o "$o9p,ro,cache=loose" hostroot /host || fail "9p hostroot"
mount -t tmpfs -o mode=755 tmpfs /rw && mkdir /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail "overlay root"
N=/newroot
for d in /tmp /var/lib/box /var/tmp; do mkdir -p "$N$d" && mount -t tmpfs -o mode=1777 tmpfs "$N$d"; done
# After the tmpfs mounts: a checkout under /tmp (CI's, say) must not be hidden by them.
mkdir -p "$N$REPO" && mount -t 9p -o "$o9p,cache=loose" repo "$N$REPO" || fail "9p repo $REPO"
chmod 755 "$N/var/lib/box"
mount -t tmpfs -o mode=755 tmpfs "$N/run" && mkdir "$N/run/box-vm" && mount --move /run "$N/run/box-vm"
mount --move /proc "$N/proc" && mount --move /sys "$N/sys" && mount --move /dev "$N/dev"
mkdir -p "$N/dev/pts" "$N/dev/shm" && mount -t devpts -o ptmxmode=0666 devpts "$N/dev/pts" && mount -t tmpfs tmpfs "$N/dev/shm"
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 "$N/sys/fs/cgroup" || fail "cgroup2"
for c in $(cat "$N/sys/fs/cgroup/cgroup.controllers"); do echo "+$c" >"$N/sys/fs/cgroup/cgroup.subtree_control"; done
mount -t bpf bpf "$N/sys/fs/bpf" 2>/dev/null
# Modules on demand (overlay for box, veth, nf_tables, ...): busybox modprobe over the cached tree.
mkdir -p "$N/lib/modules" && ln -s "$CACHE/kernel/lib/modules/$(uname -r)" "$N/lib/modules/$(uname -r)"
ln -s "$BUSYBOX" "$N/run/modprobe" && echo /run/modprobe >"$N/proc/sys/kernel/modprobe"
hostname box-vm
# A machine's loopback is up (the network tests talk to 127.0.0.1); it has no other link.
ip link set lo up || fail "lo up"
# PID 1 in the new root: run the command in its own cgroup (as under systemd), record its
# exit code in the shared run directory, power off.
exec switch_root "$N" /bin/sh -c '
  mkdir /sys/fs/cgroup/cmd.scope && echo $$ >/sys/fs/cgroup/cmd.scope/cgroup.procs
  echo "$(cut -d" " -f1 /proc/uptime)" >/run/box-vm/started
  /bin/bash /run/box-vm/cmd </dev/null; echo $? >/run/box-vm/rc
  echo 0 >/proc/sys/kernel/printk   # no "reboot: Power down"
  exec "$0" poweroff -f' "$BUSYBOX"
EOF

mods=""
for m in $INIT_MODULES; do
  line=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$MODDIR/modules.dep") || { grep -qE "(^|/)$m\.ko" "$MODDIR/modules.builtin" && continue; die "module $m not in $RELEASE"; }
  mods+=" $(echo "$line" | tr -d :)"
done
mods=$(echo $mods | tr ' ' '\n' | sort -u)
key=$( { echo "$INIT"; echo "$RELEASE $mods"; sha256sum <"$BUSYBOX"; } | sha256sum | cut -c1-16)
INITRD="$CACHE/initramfs-$key.cpio"
if [ ! -e "$INITRD" ]; then
  rm -f "$CACHE"/initramfs-*.cpio
  d=$(mktemp -d)
  mkdir -p "$d"/{bin,dev,proc,sys,run,host,rw,newroot,lib/modules/"$RELEASE"}
  cp "$BUSYBOX" "$d/bin/busybox"
  for f in $mods; do mkdir -p "$d/lib/modules/$RELEASE/$(dirname "$f")" && cp "$MODDIR/$f" "$d/lib/modules/$RELEASE/$f"; done
  grep -E "^($(echo $mods | sed 's/ /|/g')):" "$MODDIR/modules.dep" >"$d/lib/modules/$RELEASE/modules.dep"
  echo $INIT_MODULES >"$d/modules"
  printf '%s\n' "$INIT" >"$d/init" && chmod 755 "$d/init"
  (cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$INITRD.tmp" && mv "$INITRD.tmp" "$INITRD"
  rm -rf "$d"
fi
exec 9>&-   # unlock

# ---- the run: a shared directory with the command, its environment, and later its exit code ----
RUN=$(mktemp -d "${TMPDIR:-/tmp}/box-vm-run.XXXXXX")
QPID=
cleanup() { [ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT
printf 'REPO=%q\nCACHE=%q\nBUSYBOX=%q\n' "$REPO" "$CACHE" "$BUSYBOX" >"$RUN/vm.conf"
{
  while IFS= read -r -d '' kv; do
    name=${kv%%=*}
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    case $name in PWD | OLDPWD | SHLVL | _) continue ;; esac
    printf 'export %q\n' "$kv"
  done < <(env -0)
  [ -t 1 ] || [ -n "${NO_COLOR+x}" ] || echo "export NO_COLOR=1"   # the VM's console is a tty
  printf 'cd %q || exit 125\nexec' "$REPO"
  printf ' %q' "$@"
  echo
} >"$RUN/cmd"

# The TSC's rate: a TCG guest reads the host's TSC, and calibrating it on a busy host can hang.
tsc_khz=${BOX_VM_TSC_KHZ:-$(dmesg 2>/dev/null | sed -nE 's/.*tsc: (Refined TSC clocksource calibration|Detected): ([0-9]+)\.([0-9]{3}).*MHz.*/\2\3/p' | tail -1)}
[ -n "$tsc_khz" ] || tsc_khz=$(awk -F': *' '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
[ -n "$tsc_khz" ] || die "cannot tell the TSC's rate: set BOX_VM_TSC_KHZ"

append="console=ttyS0 panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 psi=1"
append+=" tsc_early_khz=$tsc_khz tsc=reliable mitigations=off rdinit=/init"
[ -n "${BOX_VM_DEBUG:-}" ] || append+=" quiet loglevel=3"
fs() { echo "-fsdev local,id=$1,path=$2,security_model=$3,multidevs=remap${4:-} -device virtio-9p-device,fsdev=$1,mount_tag=$1"; }
T0=$(date +%s%N)
# shellcheck disable=SC2046
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
  -machine microvm -accel tcg,thread=multi -cpu max -smp "$CPUS" -m "$MEM" \
  -kernel "$KERNEL/vmlinux" -initrd "$INITRD" -append "$append" \
  -chardev stdio,id=con -serial chardev:con \
  -blockdev driver=null-co,node-name=null,size=1073741824 -device virtio-blk-device,drive=null \
  $(fs hostroot / none ,readonly=on) $(fs repo "$REPO" passthrough) $(fs run "$RUN" passthrough) </dev/null &
QPID=$!
stopped=
trap 'stopped=1; kill $QPID 2>/dev/null' INT TERM HUP
while :; do # wait returns early when a trapped signal arrives
  wait "$QPID" && qrc=0 || qrc=$?
  kill -0 "$QPID" 2>/dev/null || break
done
QPID=
[ -z "${BOX_VM_VERBOSE:-}" ] || [ ! -e "$RUN/started" ] ||
  say "the command started $(cat "$RUN/started") s after the kernel did; qemu ran $((($(date +%s%N) - T0) / 1000000)) ms"
if [ -s "$RUN/rc" ]; then exit "$(cat "$RUN/rc")"; fi
[ -z "$stopped" ] || { say "interrupted"; exit 130; }
[ "$qrc" = 124 ] && { say "timed out after ${TIMEOUT}s (BOX_VM_TIMEOUT)"; exit 124; }
[ -e "$RUN/started" ] && die "the VM stopped before the command finished (qemu exit $qrc)"
die "the VM did not boot (qemu exit $qrc): rerun with BOX_VM_DEBUG=1 for the kernel's log"
