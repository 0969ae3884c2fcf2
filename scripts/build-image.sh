#!/usr/bin/env bash
# Builds a Debian 12 root filesystem with EdgeGate installed, packed as a tarball to write onto a card's root
# partition (the boot partition, kernel and firmware come from the board's own image, e.g. Raspberry Pi OS).
#   scripts/build-image.sh --arch arm64 [--deb FILE] [--provision FILE] [--dotnet TARBALL] [--out DIR] [--keep-rootfs] [--base-only]
# 1. debootstrap --variant=minbase of bookworm, then apt-get installs the .deb's Depends plus systemd, systemd-sysv
#    and udev; a foreign architecture runs its second stage and apt under qemu-user-static through binfmt_misc. The result is cached in
#    .cache/image (EDGEGATE_IMAGE_CACHE) keyed by architecture and package list, so only the first run is slow.
# 2. The .deb is installed with dpkg inside the chroot (its dependencies are already there, so a missing one fails).
# 3. --dotnet: a .NET 10 runtime tarball (Microsoft.NETCore.App, this architecture) unpacked to /usr/lib/dotnet.
# 4. --provision: the provisioning file goes to /etc/edgegate/provision.json (0600 root), applied at first boot by
#    edgegate-provision.service.
# Output: DIR/edgegate-rootfs_<version>_<arch>.tar.gz (and DIR/rootfs-<arch>/ with --keep-rootfs). Needs root.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf 'build-image: %s\n' "$*" >&2; }
die() { printf 'build-image: ERROR: %s\n' "$*" >&2; exit 1; }

arch=arm64 deb="" provision="" dotnet_tgz="" out=$repo/artifacts/image keep=0 base_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=$2; shift 2 ;;
    --deb) deb=$2; shift 2 ;;
    --provision) provision=$2; shift 2 ;;
    --dotnet) dotnet_tgz=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep-rootfs) keep=1; shift ;;
    --base-only) base_only=1; shift ;; # only make sure the cached base exists (scripts/test-image.sh warms both at once)
    *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
done
case $arch in arm64|aarch64) arch=arm64 ;; amd64|x64) arch=amd64 ;; *) die "--arch must be arm64 or amd64" ;; esac
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot)"
suite=bookworm
mirror=${EDGEGATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${EDGEGATE_IMAGE_CACHE:-$repo/.cache/image}

# Tools, installed when missing (like scripts/setup.sh does for the build).
need=(debootstrap)
[ "$arch" = "$(dpkg --print-architecture)" ] || need+=(qemu-user-static binfmt-support)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "could not install ${missing[*]}"
fi
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
  # The F (fix-binary) flag of qemu-user-static's registration loads the interpreter now, so it works inside the chroot.
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || die "binfmt_misc is not available: cannot run $arch programs (try on a host or VM, not a restricted container)"
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || die "qemu-aarch64 is not registered with binfmt_misc"
fi

if [ -z "$deb" ]; then
  shopt -s nullglob; debs=("$repo"/artifacts/edgegate_*_"$arch".deb); shopt -u nullglob
  [ ${#debs[@]} -eq 1 ] || die "expected one artifacts/edgegate_*_$arch.deb (found ${#debs[@]}): run publish.sh, or pass --deb"
  deb=${debs[0]}
fi
[ -f "$deb" ] || die "$deb does not exist"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || die "$deb is not an $arch package"
version=$(dpkg-deb -f "$deb" Version)
[ -z "$provision" ] || [ -f "$provision" ] || die "provisioning file $provision does not exist"
[ -z "$dotnet_tgz" ] || [ -f "$dotnet_tgz" ] || die "$dotnet_tgz does not exist"

# The base: minbase plus the package's dependencies (first of each alternative, no version) and what a device boots with.
packages=$( { dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g'; printf '%s\n' systemd systemd-sysv udev; } \
  | grep -v '^$' | LC_ALL=C sort -u | paste -sd, -)
key=$(printf '%s %s %s %s minbase' "$suite" "$arch" "$mirror" "$packages" | sha256sum | cut -c1-16)
base=$cache/base-$arch-$key.tar
mkdir -p "$cache" "$out"
work=$(mktemp -d "$out/.work-XXXX")
rootfs=$work/rootfs
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  # Never delete through a mount that is still there (/dev is bind-mounted into the root filesystem).
  if grep -q " $work/" /proc/mounts; then say "$work still has mounts: left in place"; else rm -rf "$work"; fi
}
trap cleanup EXIT

bind() { mkdir -p "$rootfs$2"; mount "${@:3}" --bind "$1" "$rootfs$2"; mounted+=("$rootfs$2"); }
mount_chroot() {
  mount -t proc proc "$rootfs/proc"; mounted+=("$rootfs/proc")
  bind /dev /dev
}
unmount_chroot() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}"; done
  mounted=()
}
# No init runs in a chroot: policy-rc.d forbids starting services (the package's postinst only enables its units).
no_services() { printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"; chmod 755 "$rootfs/usr/sbin/policy-rc.d"; }

if [ ! -f "$base" ]; then
  say "no cached base for $arch ($key): debootstrap $suite minbase, then apt-get install $packages (slow under qemu)"
  start=$(date +%s)
  debootstrap --variant=minbase --arch="$arch" "$suite" "$rootfs" "$mirror" > "$out/debootstrap-$arch.log" 2>&1 \
    || { tail -20 "$out/debootstrap-$arch.log" >&2; die "debootstrap failed (log: $out/debootstrap-$arch.log)"; }
  say "debootstrap done after $(( $(date +%s) - start )) s"
  # apt, not debootstrap --include, installs the dependencies: debootstrap does not resolve alternatives and virtual
  # packages (dconf-service's dbus-session-bus), so a large --include fails to configure.
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite" > "$rootfs/etc/apt/sources.list"
  mount_chroot; no_services
  chroot "$rootfs" apt-get update -qq > "$out/apt-$arch.log" 2>&1 \
    && chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages//,/ } >> "$out/apt-$arch.log" 2>&1 \
    || { tail -20 "$out/apt-$arch.log" >&2; die "apt-get install in the $arch root filesystem failed (log: $out/apt-$arch.log)"; }
  chroot "$rootfs" apt-get clean
  rm -f "$rootfs/usr/sbin/policy-rc.d"
  unmount_chroot
  tar --numeric-owner --xattrs -C "$rootfs" -cf "$base.part" . && mv "$base.part" "$base"
  say "base cached in $base after $(( $(date +%s) - start )) s"
  rm -rf "$rootfs"
fi
[ "$base_only" = 0 ] || { say "base for $arch ready: $base"; exit 0; }
mkdir -p "$rootfs"
tar --numeric-owner --xattrs -C "$rootfs" -xf "$base"

mount_chroot; no_services
cp "$deb" "$rootfs/tmp/edgegate.deb"
say "installing $(basename "$deb") in the $arch root filesystem"
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/edgegate.deb > "$work/dpkg.log" 2>&1 \
  || { cat "$work/dpkg.log" >&2; die "dpkg -i failed inside the image"; }
rm -f "$rootfs/tmp/edgegate.deb" "$rootfs/usr/sbin/policy-rc.d"

if [ -n "$dotnet_tgz" ]; then
  mkdir -p "$rootfs/usr/lib/dotnet"
  tar -xzf "$dotnet_tgz" -C "$rootfs/usr/lib/dotnet"
  ln -sf /usr/lib/dotnet/dotnet "$rootfs/usr/bin/dotnet"
else
  say "no --dotnet tarball: the image has no .NET runtime; install it on the device (README.Debian) before the daemon can start"
fi
if [ -n "$provision" ]; then
  install -m 0600 -o 0 -g 0 "$provision" "$rootfs/etc/edgegate/provision.json"
fi
echo edgegate > "$rootfs/etc/hostname"

unmount_chroot
image=$out/edgegate-rootfs_${version}_${arch}.tar.gz
tar --numeric-owner --xattrs -C "$rootfs" -czf "$image.part" . && mv "$image.part" "$image"
if [ "$keep" = 1 ]; then rm -rf "$out/rootfs-$arch"; mv "$rootfs" "$out/rootfs-$arch"; fi
say "$image ($(du -h "$image" | cut -f1))"
