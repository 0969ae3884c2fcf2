#!/usr/bin/env bash
# Framework-dependent builds for a device: artifacts/edgegate-linux-{arm64,x64}/ with EdgeGate.dll, the SQLite
# native for that architecture (from the NuGet package) and an assets/ folder (this architecture's
# libonnxruntime.so.1 from the npm package, and the models, checksummed by set-up); then the Debian packages and
# tarballs artifacts/edgegate_<version>_{arm64,amd64}.{deb,tar.gz} (scripts/package.sh).
# Run on the device with `edgegate <verb>` (the .deb) or `dotnet EdgeGate.dll <verb>`; it needs the .NET 10 runtime.
# The NuGet mirror has no linux-arm64 runtime packs, hence no self-contained arm64 build (and no apphost).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"
bash scripts/setup.sh
assets=${EDGEGATE_ASSETS:-$repo/.cache/edgegate}
archs=${*:-arm64 x64}
for arch in $archs; do
  out=artifacts/edgegate-linux-$arch
  rm -rf "$out"
  # ContinuousIntegrationBuild maps source paths to /_/, so the dll's bytes do not depend on where the clone is.
  dotnet publish src/EdgeGate -c Release -r "linux-$arch" --self-contained false -p:UseAppHost=false \
    -p:ContinuousIntegrationBuild=true -o "$out" -nologo -v:q
  mkdir -p "$out/assets/models" "$out/assets/runtimes/linux-$arch"
  cp "$assets"/models/*.onnx "$assets"/models/LICENSE.* "$out/assets/models/"
  cp "$assets/runtimes/linux-$arch/libonnxruntime.so.1" "$out/assets/runtimes/linux-$arch/"
  (cd "$out" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
  echo "publish: $out"
done
bash scripts/package.sh $archs
