#!/usr/bin/env bash
# The README's run command. Sets up (idempotent, checksummed), builds, then runs EdgeGate.
#   scripts/run.sh              demo on the dev photos: enrol one photo of each of five people, identify other
#                               photos of them and of strangers, then evaluate the dev verification pairs
#   scripts/run.sh VERB ARGS    any CLI verb, e.g. scripts/run.sh identify photo.jpg --gallery g.db
# (The gate daemon — camera, relay, MQTT — is `edgegate run`, arriving with the daemon work.)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/EdgeGate -c Release -nologo -clp:NoSummary -v:q
edgegate() { dotnet "$repo/src/EdgeGate/bin/Release/net10.0/EdgeGate.dll" "$@"; }

if [ $# -gt 0 ]; then edgegate "$@"; exit; fi

faces=${EDGEGATE_FACES:-$repo/../shared/faces}
[ -d "$faces/people" ] || { echo "run: no dev photos at $faces (set EDGEGATE_FACES)" >&2; exit 1; }
gallery=$repo/.cache/demo/gallery.db
rm -f "$gallery"*; mkdir -p "$(dirname "$gallery")"
people=(Tony_Blair Colin_Powell Gerhard_Schroeder Hugo_Chavez Ariel_Sharon)
echo "== enrolling ${#people[@]} people (one photo each) into $gallery"
for p in "${people[@]}"; do edgegate enrol --gallery "$gallery" --id "$p" --name "${p//_/ }" "$faces/people/$p/2.jpg"; done
edgegate list --gallery "$gallery"
echo "== identifying other photos of them, then strangers"
for p in "${people[@]}" Jacques_Chirac Vladimir_Putin Nancy_Pelosi; do
  printf '%-40s ' "$p/3.jpg"; edgegate identify --gallery "$gallery" "$faces/people/$p/3.jpg"
done
echo "== verification on the dev pairs"
edgegate eval --pairs "$faces/pairs.csv"
