#!/usr/bin/env bash
# Framework-dependent builds for a device: one portable publish (-p:UseAppHost=false; the NuGet mirror has no
# linux-arm64 runtime packs, so no self-contained arm64 build), then per architecture
# artifacts/edgegate-linux-{arm64,x64}/ holding EdgeGate.dll, only that architecture's SQLite native
# (runtimes/linux-<arch>/native/libe_sqlite3.so, from the NuGet package) and an assets/ folder (that architecture's
# libonnxruntime.so.1 from the npm package, and the models, checksummed by set-up); then the Debian packages and
# tarballs artifacts/edgegate_<version>_{arm64,amd64}.{deb,tar.gz} (scripts/package.sh).
# Run on the device with `edgegate <verb>` (the .deb) or `dotnet EdgeGate.dll <verb>`; it needs the .NET 10 runtime.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"
bash scripts/setup.sh
assets=${EDGEGATE_ASSETS:-$repo/.cache/edgegate}
archs=${*:-arm64 x64}
# Same configuration as the test build, so after scripts/test.sh's build this compiles nothing.
portable=artifacts/edgegate-portable
rm -rf "$portable"
dotnet publish src/EdgeGate -c Release -p:UseAppHost=false -o "$portable" -nologo -v:q
for arch in $archs; do
  out=artifacts/edgegate-linux-$arch
  rm -rf "$out"
  cp -a "$portable" "$out"
  # The host loads runtimes/<its RID>/native only; the other 20 RIDs' natives are dead weight on a card.
  find "$out/runtimes" -mindepth 1 -maxdepth 1 ! -name "linux-$arch" -exec rm -rf {} +
  [ -f "$out/runtimes/linux-$arch/native/libe_sqlite3.so" ] || { echo "publish: no SQLite native for linux-$arch" >&2; exit 1; }
  mkdir -p "$out/assets/models" "$out/assets/runtimes/linux-$arch"
  cp "$assets"/models/*.onnx "$assets"/models/LICENSE.* "$out/assets/models/"
  cp "$assets/runtimes/linux-$arch/libonnxruntime.so.1" "$out/assets/runtimes/linux-$arch/"
  (cd "$out" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
  echo "publish: $out"
done
bash scripts/package.sh $archs
