#!/usr/bin/env bash
# Prepares the embedder variants (edgegate model prepare: fp32-fast, int8 with its accuracy gate, and a first
# embedder-bench.json for `auto`) when they are missing or stale and the dev faces are available. Idempotent:
# a model whose card names the installed fr_feature.onnx and its own SHA-256 is kept. Needs the built CLI, so
# scripts/run.sh and scripts/test.sh call it after the build. Measured on 2 shared cores: about 3 minutes the
# first time (int8's sensitivity search is most of it), under a second afterwards.
# Output: $EDGEGATE_PREPARED or <assets>/prepared. Faces: $EDGEGATE_FACES or ../shared/faces.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
assets=${EDGEGATE_ASSETS:-$repo/.cache/edgegate}
prepared=${EDGEGATE_PREPARED:-$assets/prepared}
faces=${EDGEGATE_FACES:-$repo/../shared/faces}
original=$assets/models/fr_feature.onnx
cli=$repo/src/EdgeGate/bin/Release/net10.0/EdgeGate.dll
say() { printf 'prepare-models: %s\n' "$*" >&2; }

[ -f "$cli" ] || { say "no built CLI at $cli; build first"; exit 1; }
[ -f "$original" ] || { say "no $original; run scripts/setup.sh"; exit 1; }
if [ ! -d "$faces/people" ]; then
  say "no faces at $faces/people: nothing prepared (the daemon runs the original embedder)"
  exit 0
fi

source_sha=$(sha256sum "$original" | cut -d' ' -f1)
card_field() { grep -o "\"$2\": *\"[0-9a-f]*\"" "$1" 2>/dev/null | head -1 | sed 's/.*"\([0-9a-f]*\)"$/\1/'; }
# A variant is current when its model and card exist, the card names this original, and the model is the card's.
current() {
  local model=$prepared/fr_feature.$1.onnx card=$prepared/fr_feature.$1.card.json
  [ -f "$model" ] && [ -f "$card" ] &&
    [ "$(card_field "$card" source_sha256)" = "$source_sha" ] &&
    [ "$(card_field "$card" sha256)" = "$(sha256sum "$model" | cut -d' ' -f1)" ]
}

wanted=()
current fp32-fast || wanted+=(fp32-fast)
# An int8 model the gate refused for this original is not retried on every run (delete the marker to retry).
refused=$prepared/int8.refused
if ! current int8 && [ "$(cat "$refused" 2>/dev/null)" != "$source_sha" ]; then wanted+=(int8); fi
if [ ${#wanted[@]} -eq 0 ] && [ -f "$prepared/embedder-bench.json" ]; then
  say "prepared models in $prepared are current"
  exit 0
fi
[ ${#wanted[@]} -gt 0 ] || wanted=(fp32-fast) # only the bench file is missing: re-verifying fp32-fast rewrites it

say "preparing ${wanted[*]} into $prepared (faces $faces)"
mkdir -p "$prepared"
start=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if dotnet "$cli" model prepare --faces "$faces/people" --pairs "$faces/pairs.csv" --out "$prepared" --variants "${wanted[@]}" --json >"$log" 2>&1; then
  rm -f "$refused"
  say "done in $((SECONDS - start)) s"
elif grep -q '"model_refused"' "$log" && current fp32-fast; then
  # The gate refused int8 (the message has its figures); fp32-fast is prepared, so auto still has it.
  echo "$source_sha" >"$refused"
  say "int8 refused by the accuracy gate (not retried for this original): $(grep -o '"message": *"[^"]*"' "$log" | head -1)"
else
  cat "$log" >&2
  say "model prepare failed after $((SECONDS - start)) s"
  exit 1
fi
