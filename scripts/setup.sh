#!/usr/bin/env bash
# Installs everything EdgeGate needs on Debian 12 and verifies it. Idempotent: a second run only re-verifies.
#   apt: GStreamer 1.22 (+ plugins base/good/bad, libav), mosquitto broker/clients, libmosquitto1, libonnx-dev
#   npm: onnxruntime-node@1.30.0 (libonnxruntime.so.1 for x64 and arm64), faceplugin-face-recognition-js@0.0.1 (models)
# Every downloaded archive and every extracted native library / model is checked against scripts/assets.sha256.
# Downloads go to .cache/edgegate (git-ignored); EDGEGATE_ASSETS overrides the location.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
assets=${EDGEGATE_ASSETS:-$repo/.cache/edgegate}
manifest=$repo/scripts/assets.sha256

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

apt_packages=(
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-libav libgstreamer1.0-0 libgstreamer-plugins-base1.0-0
  mosquitto mosquitto-clients libmosquitto1 libonnx-dev
)

install_apt() {
  local missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && { say "apt packages present"; return; }
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing apt packages: ${missing[*]}"
  $sudo apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
}

# Expected hash of a manifest entry (path relative to $assets).
expected() { awk -v f="$1" '$2 == f { print $1 }' "$manifest"; }

verify() {
  local rel=$1 want got
  want=$(expected "$rel")
  [ -n "$want" ] || die "$rel is not listed in scripts/assets.sha256"
  [ -f "$assets/$rel" ] || return 1
  got=$(sha256sum "$assets/$rel" | cut -d' ' -f1)
  [ "$got" = "$want" ] || die "checksum mismatch for $rel: expected $want, got $got (delete it and re-run to download again)"
}

# npm pack downloads the registry tarball without running any install script (onnxruntime-node's tries to fetch CUDA).
fetch_npm() {
  local spec=$1 tgz=$2
  verify "downloads/$tgz" && return 0
  say "downloading $spec"
  mkdir -p "$assets/downloads"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent --ignore-scripts "$spec" >/dev/null) || { rm -rf "$tmp"; die "npm could not download $spec"; }
  [ -f "$tmp/$tgz" ] || { rm -rf "$tmp"; die "npm pack of $spec did not produce $tgz"; }
  mv "$tmp/$tgz" "$assets/downloads/$tgz"; rm -rf "$tmp"
  verify "downloads/$tgz" || die "downloads/$tgz missing after download"
}

# Extract one member of a tarball to a destination (relative to $assets), then verify it.
extract() {
  local tgz=$1 member=$2 rel=$3
  verify "$rel" && return 0
  mkdir -p "$(dirname "$assets/$rel")"
  tar -xzf "$assets/downloads/$tgz" -O "$member" > "$assets/$rel.part" || die "cannot extract $member from $tgz"
  mv "$assets/$rel.part" "$assets/$rel"
  verify "$rel" || die "$rel missing after extraction"
}

install_apt
command -v npm >/dev/null || die "npm is required (Node.js) to fetch ONNX Runtime and the models"

ort=onnxruntime-node-1.30.0.tgz
fp=faceplugin-face-recognition-js-0.0.1.tgz
fetch_npm onnxruntime-node@1.30.0 "$ort"
fetch_npm faceplugin-face-recognition-js@0.0.1 "$fp"
for arch in x64 arm64; do
  extract "$ort" "package/bin/napi-v6/linux/$arch/libonnxruntime.so.1" "runtimes/linux-$arch/libonnxruntime.so.1"
done
for m in fr_detect fr_landmark fr_feature fr_liveness fr_eye fr_pose; do
  extract "$fp" "package/model/$m.onnx" "models/$m.onnx"
done
extract "$fp" "package/LICENSE" "models/LICENSE.faceplugin"
say "all assets verified in $assets"
