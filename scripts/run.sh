#!/usr/bin/env bash
# The README's run command. Sets up (idempotent, checksummed), builds, then runs the door daemon on a demo:
#   scripts/run.sh                       enrol the dev people, play demo videos through `edgegate run` with a
#                                        simulated relay and a local broker; prints decisions, relay transitions
#                                        and the MQTT events as they arrive
#   scripts/run.sh --video F --enrol D   the same with your own video and a folder-per-person photo tree
#   scripts/run.sh VERB ARGS             any CLI verb, e.g. scripts/run.sh identify photo.jpg --gallery g.db
# A broker already running elsewhere: EDGEGATE_MQTT_HOST / EDGEGATE_MQTT_PORT (else a private mosquitto on 127.0.0.1).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/EdgeGate -c Release -nologo -clp:NoSummary -v:q
edgegate() { dotnet "$repo/src/EdgeGate/bin/Release/net10.0/EdgeGate.dll" "$@"; }
# The embedder variants `auto` chooses from (skipped when current; see the README, "Model preparation").
bash scripts/prepare-models.sh || echo "prepare-models failed: running the original embedder" >&2

videos=() enrol_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --video) videos+=("$2"); shift 2 ;;
    --enrol) enrol_dir=$2; shift 2 ;;
    -*) echo "run: unknown option $1 (expected --video FILE, --enrol DIR, or a CLI verb)" >&2; exit 2 ;;
    *) edgegate "$@"; exit ;;
  esac
done

faces=${EDGEGATE_FACES:-$repo/../shared/faces}
if [ ${#videos[@]} -eq 0 ] || [ -z "$enrol_dir" ]; then
  if [ ! -d "$faces/people" ] || [ ! -d "$faces/video" ]; then
    echo "run: no demo data at $faces. Pass your own: scripts/run.sh --video door.mp4 --enrol photos/ (one folder per person)," >&2
    echo "     or set EDGEGATE_FACES to the dev face set." >&2
    exit 1
  fi
fi

state=$repo/.cache/demo
rm -rf "$state"; mkdir -p "$state"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

host=${EDGEGATE_MQTT_HOST:-127.0.0.1}
port=${EDGEGATE_MQTT_PORT:-}
if [ -z "${EDGEGATE_MQTT_HOST:-}" ]; then
  # A private broker on a free loopback port, so the demo never talks to (or collides with) a real one.
  for port in $(seq 18830 18930); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break; done
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" > "$state/mosquitto.conf"
  /usr/sbin/mosquitto -c "$state/mosquitto.conf" > "$state/mosquitto.log" 2>&1 & pids+=($!)
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  echo "== local mosquitto on 127.0.0.1:$port"
fi
port=${port:-1883}
# Process substitution keeps $! the subscriber's pid (a pipe would leave it waiting for its next message at exit).
mosquitto_sub -h "$host" -p "$port" -v -t 'edgegate/demo-gate/#' > >(sed -u 's/^/mqtt  /') & pids+=($!)

gallery=$state/gallery.db
if [ -n "$enrol_dir" ]; then
  echo "== enrolling $enrol_dir"
  edgegate import "$enrol_dir" --gallery "$gallery"
else
  echo "== enrolling the dev people (one folder each) and the GRID speaker from one frame of another clip"
  edgegate import "$faces/people" --gallery "$gallery"
  edgegate enrol --gallery "$gallery" --id grid_speaker --name "GRID speaker" --frame-at 1.0 "$faces/video/grid_pwij3p.mpg"
fi
if [ ${#videos[@]} -eq 0 ]; then
  # The enrolled GRID speaker in another recording (granted), a different GRID speaker who is not enrolled
  # (denied: unknown), and a crowded stage (several people, small and blurred faces).
  videos=("$faces/video/grid_id2_vcd_swwp2s.mpg" "$faces/video/grid_brbk7n.mpg" "$faces/video/hamilton_short_clip.mp4")
fi

for v in "${videos[@]}"; do
  echo "== playing $(basename "$v") through the daemon (real time, simulated relay)"
  edgegate run \
    --set DeviceId=demo-gate --set Storage:Path="$state" \
    --set Camera:Source="$v" --set Camera:ExitAtEnd=true \
    --set Door:Driver=sim --set Door:PulseMs=1500 \
    --set Mqtt:Host="$host" --set Mqtt:Port="$port" --set TelemetrySeconds=0
  sleep 0.3  # let mosquitto_sub print the last events before the next clip's log starts
done
echo "== done: gallery, event log and outbox are in $state; relay transitions in $state/sim-gpio"
