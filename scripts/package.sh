#!/usr/bin/env bash
# Builds the Debian packages and tarballs from the framework-dependent publish folders (publish.sh calls this):
#   artifacts/edgegate_<version>_{arm64,amd64}.deb and artifacts/edgegate_<version>_{arm64,amd64}.tar.gz
# Layout: /usr/bin/edgegate (wrapper), /usr/lib/edgegate/EdgeGate.dll + SQLite native + assets/ (this
# architecture's libonnxruntime.so.1, the models, SHA256SUMS), systemd units, sysusers/tmpfiles, a udev rule,
# /etc/edgegate/edgegate.json (conffile). AssetLocator finds /usr/lib/edgegate/assets next to the dll.
# Reproducible: version and SOURCE_DATE_EPOCH from git, every mtime set to it, owner root:root, sorted tar members.
# Usage: scripts/package.sh [arm64|x64]...   (expects artifacts/edgegate-linux-<arch>/ from publish.sh)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

say() { printf 'package: %s\n' "$*" >&2; }
die() { printf 'package: ERROR: %s\n' "$*" >&2; exit 1; }
command -v dpkg-deb >/dev/null || die "dpkg-deb is required"

# Debian version from git: tag vX.Y.Z exactly -> X.Y.Z; N commits after it -> X.Y.Z+git<N>.<sha>; no tag ->
# 0.1.0+git<commits>.<sha>. Uncommitted changes add +dirty, so such a package is never mistaken for the commit's.
debian_version() {
  local described base count sha
  sha=$(git rev-parse --short=7 HEAD)
  if described=$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
    base=${described%-*-g*}; base=${base#v}; base=${base//-/\~}   # v1.2.0-rc1 -> 1.2.0~rc1 (sorts before 1.2.0)
    count=${described%-g*}; count=${count##*-}
    [ "$count" = 0 ] && printf '%s' "$base" || printf '%s+git%s.%s' "$base" "$count" "$sha"
  else
    printf '0.1.0+git%s.%s' "$(git rev-list --count HEAD)" "$sha"
  fi
  git diff --quiet HEAD -- src systemd packaging scripts publish.sh 2>/dev/null || printf '+dirty'
}

version=${EDGEGATE_VERSION:-$(debian_version)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
[[ $version =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "'$version' is not a Debian version"

build_one() {
  local arch=$1 debarch
  case $arch in arm64) debarch=arm64 ;; x64) debarch=amd64 ;; *) die "unknown architecture '$arch' (arm64 or x64)" ;; esac
  local published=artifacts/edgegate-linux-$arch
  [ -f "$published/EdgeGate.dll" ] || die "$published/EdgeGate.dll missing: run publish.sh $arch"
  [ -f "$published/assets/runtimes/linux-$arch/libonnxruntime.so.1" ] || die "$published has no libonnxruntime.so.1 for $arch"
  [ -f "$published/runtimes/linux-$arch/native/libe_sqlite3.so" ] || die "$published has no SQLite native for linux-$arch"

  local stage=artifacts/pkg/$debarch root
  root=$stage/root
  rm -rf "$stage"
  mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/edgegate" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" \
    "$root/usr/lib/tmpfiles.d" "$root/lib/udev/rules.d" "$root/etc/edgegate" "$root/usr/share/doc/edgegate"
  # The publish folder minus debug symbols (not needed on the device; saves space on a card).
  cp -a "$published/." "$root/usr/lib/edgegate/"
  find "$root/usr/lib/edgegate" \( -name '*.pdb' -o -name SHA256SUMS \) -delete
  find "$root/usr/lib/edgegate" -type f -exec chmod 0644 {} +   # publish leaves the SQLite native 0744
  # Written outside the tree first: find would otherwise list the half-written SHA256SUMS on some runs.
  (cd "$root/usr/lib/edgegate" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum > ../edgegate.SHA256SUMS) \
    && mv "$root/usr/lib/edgegate.SHA256SUMS" "$root/usr/lib/edgegate/SHA256SUMS"
  install -m 0755 packaging/debian/edgegate.sh "$root/usr/bin/edgegate"
  install -m 0644 systemd/edgegate.service systemd/edgegate-provision.service "$root/lib/systemd/system/"
  install -m 0644 systemd/edgegate.sysusers.conf "$root/usr/lib/sysusers.d/edgegate.conf"
  install -m 0644 systemd/edgegate.tmpfiles.conf "$root/usr/lib/tmpfiles.d/edgegate.conf"
  install -m 0644 packaging/debian/60-edgegate-gpio.rules "$root/lib/udev/rules.d/"
  install -m 0640 packaging/debian/edgegate.json "$root/etc/edgegate/edgegate.json"
  install -m 0644 packaging/debian/README.Debian README.md "$root/usr/share/doc/edgegate/"
  install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
  echo /etc/edgegate/edgegate.json > "$root/DEBIAN/conffiles"
  chmod 0644 "$root/DEBIAN/conffiles"
  (cd "$root" && find usr lib etc -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums)
  local size
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$debarch/" -e "s/@SIZE@/$size/" packaging/debian/control.in > "$root/DEBIAN/control"
  find "$root" -type d -exec chmod 0755 {} +
  find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

  local deb=artifacts/edgegate_${version}_${debarch}.deb tgz=artifacts/edgegate_${version}_${debarch}.tar.gz
  rm -f artifacts/edgegate_*_"${debarch}".deb artifacts/edgegate_*_"${debarch}".tar.gz
  dpkg-deb --root-owner-group -Zgzip -z9 --build "$root" "$deb" >/dev/null
  # The tarball is the same tree without the maintainer scripts: for devices without dpkg (unpack at /, then run
  # the steps of packaging/debian/postinst by hand).
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --exclude=./DEBIAN \
    -C "$root" -cf - . | gzip -6n > "$tgz"
  say "$deb ($(du -h "$deb" | cut -f1)), $tgz"
}

for arch in ${*:-arm64 x64}; do build_one "$arch"; done
