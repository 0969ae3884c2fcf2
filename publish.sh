#!/usr/bin/env bash
# Framework-dependent builds for a device: artifacts/edgegate-linux-{arm64,x64}/ with EdgeGate.dll and an assets/
# folder (this architecture's libonnxruntime.so.1 and the models, checksummed by set-up). Run on the device with
# `dotnet EdgeGate.dll <verb>`; it needs the .NET 10 runtime and the Debian packages scripts/setup.sh lists.
# The NuGet mirror has no linux-arm64 runtime packs, hence no self-contained arm64 build (and no apphost).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"
bash scripts/setup.sh
assets=${EDGEGATE_ASSETS:-$repo/.cache/edgegate}
for arch in ${*:-arm64 x64}; do
  out=artifacts/edgegate-linux-$arch
  rm -rf "$out"
  dotnet publish src/EdgeGate -c Release -r "linux-$arch" --self-contained false -p:UseAppHost=false -o "$out" -nologo -v:q
  mkdir -p "$out/assets/models" "$out/assets/runtimes/linux-$arch"
  cp "$assets"/models/*.onnx "$assets"/models/LICENSE.* "$out/assets/models/"
  cp "$assets/runtimes/linux-$arch/libonnxruntime.so.1" "$out/assets/runtimes/linux-$arch/"
  (cd "$out" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
  echo "publish: $out"
done
