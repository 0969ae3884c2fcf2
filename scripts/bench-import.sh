#!/usr/bin/env bash
# Enrol throughput over MQTT: `edgegate admin import` of a folder-per-person tree (default $EDGEGATE_FACES/people)
# into a freshly started daemon (test camera, simulated door, private broker on a free 127.0.0.1 port).
# Prints people, images, seconds and images/s; the daemon's state (encrypted gallery, key) is left in the work dir.
#   scripts/bench-import.sh [PEOPLE_DIR]      (after scripts/test.sh or a Release build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dll=$root/src/EdgeGate/bin/Release/net10.0/EdgeGate.dll
people=${1:-${EDGEGATE_FACES:-$root/../shared/faces}/people}
work=$(mktemp -d /tmp/edgegate-bench-import-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 & broker=$!
(umask 077; head -c 32 /dev/urandom | xxd -p -c 64 > "$work/command.key")
dotnet "$dll" run --set Storage:Path="$work/state" --set Door:Driver=sim --set Camera:Source=testsrc --set Mqtt:Port="$port" \
  --set Commands:KeyFile="$work/command.key" --set DeviceId=bench --set TelemetrySeconds=0 > "$work/daemon.log" 2>&1 & daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true; kill $broker 2>/dev/null || true' EXIT
for _ in $(seq 90); do grep -q "ready:" "$work/daemon.log" && break; sleep 1; done
dotnet "$dll" admin --json --port "$port" --device bench --key-file "$work/command.key" --timeout 120 import "$people" > "$work/import.json"
python3 - "$work/import.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
print(f'{r["people"]} people, {r["images"]} images in {r["seconds"]} s = {r["images_per_second"]} images/s; '
      f'{len(r["skipped_images"])} photos skipped, {len(r["failed"])} people refused')
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); details in $work"
