#!/usr/bin/env bash
# End-to-end benchmark of the door daemon (`edgegate run`), as a person at the door experiences it:
#   - enrols the GRID speaker from one frame of grid_pwij3p.mpg into a temporary state directory;
#   - plays grid_id2_vcd_swwp2s.mpg (the same speaker, another recording: granted) through `edgegate run` in REAL time,
#     BENCH_RUNS times, each a fresh daemon with a simulated relay and a private mosquitto; per run it collects the
#     granted events' latency_ms (first frame with the face → relay energised), CPU time, peak RSS and frames/s;
#   - "warm" runs: the clip, 2 s of black (the track ends), the clip again ... in one daemon, so the later grants show
#     the latency of a daemon that has been running (every plain run's grant is its daemon's first: JIT, first model runs);
#   - fast runs (Camera:RealTime=false): every frame processed as fast as the daemon can: its frames/s capacity.
# Prints one line per run and a summary table. Safe to re-run: everything lives in a fresh temporary directory.
#
#   scripts/bench-daemon.sh                     build (scripts/setup.sh + dotnet build), then benchmark
#   BENCH_NO_BUILD=1 scripts/bench-daemon.sh    use the EdgeGate.dll already built (or EDGEGATE_DLL=path)
# Settings (environment): BENCH_RUNS (10), BENCH_WARM_RUNS (2), BENCH_WARM_PLAYS (3 plays per warm run),
#   BENCH_FAST_RUNS (3), BENCH_TIMEOUT (120 s per daemon), BENCH_SET ("Key=Value ..." extra --set for every run,
#   e.g. "Recognition:Threads=2"), BENCH_KEEP=1 (keep the state directory: logs, events.db, MQTT captures),
#   EDGEGATE_FACES (the dev face set; default ../shared/faces).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

runs=${BENCH_RUNS:-10}
warm_runs=${BENCH_WARM_RUNS:-2}
warm_plays=${BENCH_WARM_PLAYS:-3}
fast_runs=${BENCH_FAST_RUNS:-3}
run_timeout=${BENCH_TIMEOUT:-120}
read -r -a extra_sets <<< "${BENCH_SET:-}"
faces=${EDGEGATE_FACES:-$repo/../shared/faces}
clip=$faces/video/grid_id2_vcd_swwp2s.mpg
enrol_clip=$faces/video/grid_pwij3p.mpg
dll=${EDGEGATE_DLL:-$repo/src/EdgeGate/bin/Release/net10.0/EdgeGate.dll}

die() { echo "bench-daemon: $*" >&2; exit 1; }
for f in "$clip" "$enrol_clip"; do [ -f "$f" ] || die "missing $f (set EDGEGATE_FACES to the dev face set)"; done
for c in mosquitto_sub awk sort; do command -v "$c" >/dev/null || die "needs $c (apt-get install mosquitto-clients)"; done
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$mosquitto_bin" ] || die "needs mosquitto (apt-get install mosquitto)"
have_sqlite=$(command -v sqlite3 >/dev/null && echo 1 || echo 0)
have_jq=$(command -v jq >/dev/null && echo 1 || echo 0)
gnu_time=""
if [ -x /usr/bin/time ] && /usr/bin/time -f '%e' -o /dev/null true 2>/dev/null; then gnu_time=/usr/bin/time; fi
clk_tck=$(getconf CLK_TCK)

if [ "${BENCH_NO_BUILD:-0}" != 1 ] && [ -z "${EDGEGATE_DLL:-}" ]; then
  bash scripts/setup.sh
  dotnet build src/EdgeGate -c Release -nologo -clp:NoSummary -v:q
fi
[ -f "$dll" ] || die "no $dll: build it (dotnet build src/EdgeGate -c Release) or drop BENCH_NO_BUILD"

work=$(mktemp -d "${TMPDIR:-/tmp}/edgegate-bench.XXXXXX")
pids=()
daemon_pid="" sub_pid=""
exec {sleep_fd}<> <(:)   # `read -t` on this never returns data: a sleep without forking a process
cleanup() {
  local p
  for p in $daemon_pid $sub_pid "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench-daemon: state, logs and captures kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private broker on a free loopback port (as scripts/run.sh does), so nothing else hears the events.
port=""
for p in $(seq 18931 19030); do if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi; done
[ -n "$port" ] || die "no free port in 18931..19030"
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" > "$work/mosquitto.conf"
"$mosquitto_bin" -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "mosquitto did not start: $(cat "$work/mosquitto.log")"

mkdir -p "$work/enrol"
dotnet "$dll" enrol --gallery "$work/enrol/gallery.db" --id grid --name G --frame-at 1.0 "$enrol_clip" > "$work/enrol/out.log" 2>&1 \
  || die "enrol failed: $(cat "$work/enrol/out.log")"

# The warm source: the clip, then 2 s of black (the tracker ends a track unseen for 1 s) and the clip again, as one
# stream whose timestamps keep rising (identity single-segment), played in real time with the daemon's own file sink.
# The text starts with filesrc so the daemon treats it as a file (end of stream = end of input, not a camera failure).
caps='video/x-raw,format=I420,width=360,height=288,framerate=25/1'
clip_branch="filesrc location=\"$clip\" ! decodebin ! videoconvert ! videorate ! $caps ! c."
warm_source=$clip_branch
for _ in $(seq 2 "$warm_plays"); do warm_source+=" videotestsrc pattern=black num-buffers=50 ! $caps ! c. $clip_branch"; done
warm_source+=" concat name=c ! identity single-segment=true ! videoconvert ! video/x-raw,format=BGR ! appsink name=sink max-buffers=1 drop=true sync=true"

to_ms() { awk -F'[:.]' '{ printf "%d\n", (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }' <<< "$1"; }

# run_daemon NAME SOURCE [--set K=V ...]: one daemon from start to exit; writes NAME/result (key=value lines).
run_daemon() {
  local name=$1 source=$2; shift 2
  local dir=$work/$name sets=() s
  mkdir -p "$dir"
  cp "$work/enrol/"gallery.db* "$work/enrol/template.key" "$dir/"   # the key the CLI created beside the gallery
  for s in "${extra_sets[@]}" "$@"; do sets+=(--set "$s"); done
  mosquitto_sub -h 127.0.0.1 -p "$port" -v -t 'edgegate/bench/#' > "$dir/mqtt.log" 2>&1 & sub_pid=$!
  sleep 0.2
  local cmd=(dotnet "$dll" run
    --set Camera:Source="$source" --set Door:Driver=sim --set Camera:ExitAtEnd=true --set Storage:Path="$dir"
    --set Mqtt:Host=127.0.0.1 --set Mqtt:Port="$port" --set TelemetrySeconds=1 --set DeviceId=bench
    --set Access:CooldownSeconds=0 "${sets[@]}")
  local started=$EPOCHREALTIME
  if [ -n "$gnu_time" ]; then
    "$gnu_time" -f 'wall=%e user=%U sys=%S maxrss_kb=%M' -o "$dir/time.txt" "${cmd[@]}" > "$dir/stdout.log" 2> "$dir/stderr.log" &
  else
    "${cmd[@]}" > "$dir/stdout.log" 2> "$dir/stderr.log" &
  fi
  local top=$! pid="" i
  daemon_pid=$top
  if [ -n "$gnu_time" ]; then
    for i in $(seq 100); do pid=$(pgrep -P "$top" | head -1 || true); [ -n "$pid" ] && break; sleep 0.02; done
  else
    pid=$top
  fi
  daemon_pid="$pid $top"   # both: GNU time does not pass a TERM on to its child
  # Sample CPU ticks and peak RSS of the daemon every 25 ms until it exits (builtins only: no process per sample).
  local line rest f k v hwm=0 hms now secs stopping=0
  : > "$dir/samples"
  while [ -n "$pid" ] && read -r line 2>/dev/null < "/proc/$pid/stat"; do
    rest=${line##*) }
    read -r -a f <<< "$rest"
    while read -r k v _; do [ "$k" = VmHWM: ] && hwm=$v; done 2>/dev/null < "/proc/$pid/status" || true
    now=${EPOCHREALTIME/,/.}; secs=${now%.*}
    printf -v hms '%(%H:%M:%S)T' "$secs"
    printf '%s.%s %s %s\n' "$hms" "${now#*.}" "$((f[11] + f[12]))" "$hwm" >> "$dir/samples"
    if (( secs - ${started%[.,]*} > run_timeout + 10 )); then
      kill -KILL "$pid" 2>/dev/null || true
    elif (( secs - ${started%[.,]*} > run_timeout )) && [ "$stopping" = 0 ]; then
      echo "bench-daemon: $name still running after ${run_timeout}s: stopping it" >&2
      kill "$pid" 2>/dev/null || true; stopping=1
    fi
    read -r -t 0.025 -u "$sleep_fd" _ || true
  done
  local rc=0
  wait "$top" || rc=$?
  daemon_pid=""
  sleep 0.3   # the last messages reach the subscriber
  kill "$sub_pid" 2>/dev/null || true; wait "$sub_pid" 2>/dev/null || true; sub_pid=""

  {
    echo "rc=$rc"
    [ -f "$dir/time.txt" ] && tail -1 "$dir/time.txt" | tr ' ' '\n'
    echo "hwm_kb=$hwm"
    echo "last_ticks=$(tail -1 "$dir/samples" | awk '{print $2}')"
    local lat="" t0 t1 ready
    if [ "$have_sqlite" = 1 ] && [ -f "$dir/events.db" ]; then
      lat=$(sqlite3 "$dir/events.db" "select json_extract(json,'\$.latency_ms') from events where kind='access' and json_extract(json,'\$.decision')='granted' order by seq" | paste -sd, -)
      echo "latency_source=events.db"
    elif [ "$have_jq" = 1 ]; then
      lat=$(awk '$1 ~ /\/event\/access$/ { sub(/^[^ ]* /, ""); print }' "$dir/mqtt.log" | jq -r 'select(.decision=="granted") | .latency_ms' | paste -sd, -)
      echo "latency_source=mqtt"
    else
      lat=$(sed -n 's/.*access granted .* latency \([0-9.]*\) ms.*/\1/p' "$dir/stdout.log" | paste -sd, -)
      echo "latency_source=stdout"
    fi
    echo "latencies=$lat"
    echo "mqtt_granted=$(grep -c '/event/access .*"decision":"granted"' "$dir/mqtt.log" || true)"
    echo "denied=$(grep -c 'access denied' "$dir/stdout.log" || true)"
    echo "frames=$(sed -n 's/.*end of input: \([0-9]*\) frames.*/\1/p' "$dir/stdout.log" | head -1)"
    # The streaming window, from the daemon's log times: the first frame ("camera streaming") or the models being
    # ready ("gallery ..."), whichever is later (frames before that are not processed), to the end of the file.
    t0=$(grep -m1 'camera streaming' "$dir/stdout.log" | cut -c1-12 || true)
    ready=$(grep -m1 'RecognitionService.* gallery ' "$dir/stdout.log" | cut -c1-12 || true)
    t1=$(grep -m1 'camera: end of file' "$dir/stdout.log" | cut -c1-12 || true)
    if [ -n "$t0" ] && [ -n "$t1" ]; then
      t0=$(to_ms "$t0"); t1=$(to_ms "$t1")
      if [ -n "$ready" ]; then ready=$(to_ms "$ready"); [ "$ready" -gt "$t0" ] && t0=$ready; fi
      echo "stream_ms=$((t1 - t0))"
      # CPU ticks over the same window: the last sample at or before its start, the first at or after its end.
      awk -v a="$t0" -v b="$t1" -F'[ :.]' '
        { ms = (($1 * 60 + $2) * 60 + $3) * 1000 + int(substr($4, 1, 3)); ticks = $5 }
        ms <= a { ta = ms; ka = ticks } ms >= b && tb == "" { tb = ms; kb = ticks }
        END { if (ka != "" && tb != "") printf "window_ms=%d\nwindow_ticks=%d\n", tb - ta, kb - ka }' "$dir/samples"
    fi
    if [ "$have_jq" = 1 ]; then
      # Telemetry while frames flowed (fps > 0); frame_p50_ms is the pipeline's own time per frame (last 256 frames).
      awk '$1 ~ /\/telemetry$/ { sub(/^[^ ]* /, ""); print }' "$dir/mqtt.log" \
        | jq -rs 'map(select(.fps > 0)) | "telemetry_fps=\(map(.fps) | join(","))\nframe_p50_ms=\(last.frame_p50_ms // "")\nframe_p95_ms=\(last.frame_p95_ms // "")"' 2>/dev/null || true
    fi
  } > "$dir/result"
  if [ "$rc" != 0 ]; then
    echo "bench-daemon: $name: the daemon exited $rc" >&2
    tail -5 "$dir/stderr.log" "$dir/stdout.log" >&2
    exit 1
  fi
}

get() { sed -n "s/^$2=//p" "$work/$1/result" | head -1; }

# Per-run line: figures derived from one result file.
report_run() {
  local name=$1 wall user sys cpu rss frames stream fps wcpu
  wall=$(get "$name" wall); user=$(get "$name" user); sys=$(get "$name" sys)
  frames=$(get "$name" frames); stream=$(get "$name" stream_ms)
  rss=$(get "$name" maxrss_kb); [ -n "$rss" ] || rss=$(get "$name" hwm_kb)
  if [ -z "$wall" ]; then
    # No GNU time: the sampled ticks (the last ~25 ms are missed) over the sampling span.
    wall=$(awk -F'[ :.]' '{ b = (($1 * 60 + $2) * 60 + $3) * 1000 + int(substr($4, 1, 3)) } NR == 1 { a = b } END { printf "%.2f", (b - a) / 1000 }' "$work/$name/samples")
    user=$(awk -v t="$(get "$name" last_ticks)" -v h="$clk_tck" 'BEGIN{printf "%.2f", t/h}'); sys=0
  fi
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v fr="$frames" -v st="$stream" \
      -v wt="$(get "$name" window_ticks)" -v wm="$(get "$name" window_ms)" -v h="$clk_tck" -v lat="$(get "$name" latencies)" \
      -v mq="$(get "$name" mqtt_granted)" -v tf="$(get "$name" telemetry_fps)" -v fp="$(get "$name" frame_p50_ms)" 'BEGIN {
    fps = (st > 0) ? fr / (st / 1000) : 0
    wcpu = (wm > 0) ? 100 * wt / h / (wm / 1000) : -1
    printf "%-8s latency_ms %-22s (mqtt %s) frames %4s in %5.2f s = %5.1f fps | cpu %5.2f s / %5.2f s wall = %3.0f %%, streaming %s | peak RSS %5.1f MB | telemetry fps %s, frame p50 %s ms\n",
      n, (lat == "" ? "-" : lat), mq, fr, st / 1000, fps, u + s, w, 100 * (u + s) / w, (wcpu < 0 ? "-" : sprintf("%.0f %%", wcpu)), r / 1024, (tf == "" ? "-" : tf), (fp == "" ? "-" : fp)
  }'
}

# Nearest-rank percentile of a comma/newline separated list: the smallest value with at least q of them at or below it.
percentile() {
  tr ',' '\n' <<< "$1" | awk 'NF' | sort -g | awk -v q="$2" '{ v[NR] = $1 } END {
    if (NR == 0) { print "-"; exit } r = int(q * NR); if (r < q * NR) r++; if (r < 1) r = 1; printf "%.0f", v[r] }'
}
count() { tr ',' '\n' <<< "$1" | awk 'NF' | wc -l | tr -d ' '; }
median_of() { percentile "$1" 0.5; }
collect() { local out="" n; for n in "${@:2}"; do out+="$(get "$n" "$1"),"; done; echo "$out"; }

cores=$(nproc)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "== EdgeGate daemon benchmark: $(basename "$clip") (enrolled from $(basename "$enrol_clip") at 1.0 s), $cores cores${cpu_model:+, $cpu_model}"
echo "   $runs real-time runs, $warm_runs warm runs x $warm_plays plays, $fast_runs fast runs; broker 127.0.0.1:$port; ${BENCH_SET:+--set $BENCH_SET; }load $(cut -d' ' -f1-3 /proc/loadavg)"

rt_names=() warm_names=() fast_names=()
for i in $(seq "$runs"); do
  run_daemon "rt-$i" "$clip"; rt_names+=("rt-$i"); report_run "rt-$i"
done
for i in $(seq "$warm_runs"); do
  run_daemon "warm-$i" "$warm_source"; warm_names+=("warm-$i"); report_run "warm-$i"
done
for i in $(seq "$fast_runs"); do
  run_daemon "fast-$i" "$clip" Camera:RealTime=false; fast_names+=("fast-$i"); report_run "fast-$i"
done

# Summary. Latency: every grant of the plain runs (each its daemon's first decision), and the warm runs' later grants.
rt_lat=$(collect latencies "${rt_names[@]}")
warm_lat=""
for n in "${warm_names[@]}"; do warm_lat+="$(get "$n" latencies | cut -s -d, -f2-),"; done
cold_in_warm=""
for n in "${warm_names[@]}"; do cold_in_warm+="$(get "$n" latencies | cut -d, -f1),"; done
fps_of() {  # frames / streaming window per run
  local out="" n
  for n in "$@"; do out+="$(awk -v f="$(get "$n" frames)" -v s="$(get "$n" stream_ms)" 'BEGIN{ if (s > 0) printf "%.1f", f / (s / 1000) }'),"; done
  echo "$out"
}
cpu_of() {  # whole-process CPU % and streaming-window CPU % per run
  local out="" n
  for n in "$@"; do
    out+="$(awk -v u="$(get "$n" user)" -v s="$(get "$n" sys)" -v w="$(get "$n" wall)" 'BEGIN{ if (w > 0) printf "%.0f", 100 * (u + s) / w }'),"
  done
  echo "$out"
}
wcpu_of() {
  local out="" n
  for n in "$@"; do
    out+="$(awk -v t="$(get "$n" window_ticks)" -v m="$(get "$n" window_ms)" -v h="$clk_tck" 'BEGIN{ if (m > 0) printf "%.0f", 100 * t / h / (m / 1000) }'),"
  done
  echo "$out"
}
rss_max() {
  local n m=0 r
  for n in "$@"; do r=$(get "$n" maxrss_kb); [ -n "$r" ] || r=$(get "$n" hwm_kb); [ "${r:-0}" -gt "$m" ] && m=$r; done
  awk -v k="$m" 'BEGIN{ printf "%.0f", k / 1024 }'
}
rt_frames=$(collect frames "${rt_names[@]}")
all_names=("${rt_names[@]}" "${warm_names[@]}" "${fast_names[@]}")
tele_p50=$(collect frame_p50_ms "${rt_names[@]}")

echo
echo "== summary (medians over runs unless noted; CPU % is of one core, $cores cores here)"
printf '%-58s %s\n' "metric" "value"
printf '%-58s %s / %s ms (n=%s)\n' "latency p50 / p95, each daemon's first grant (cold)" \
  "$(percentile "$rt_lat" 0.5)" "$(percentile "$rt_lat" 0.95)" "$(count "$rt_lat")"
if [ "${#warm_names[@]}" -gt 0 ]; then
  printf '%-58s %s / %s ms (n=%s)\n' "latency p50 / p95, later grants in a running daemon (warm)" \
    "$(percentile "$warm_lat" 0.5)" "$(percentile "$warm_lat" 0.95)" "$(count "$warm_lat")"
fi
printf '%-58s %s fps (%s of %s frames; source 25 fps)\n' "frames/s real time (frames / streaming window)" \
  "$(median_of "$(fps_of "${rt_names[@]}")")" "$(median_of "$rt_frames")" "75"
if [ "${#fast_names[@]}" -gt 0 ]; then
  printf '%-58s %s fps (%s frames each)\n' "frames/s fast mode (every frame, one face in view)" \
    "$(median_of "$(fps_of "${fast_names[@]}")")" "$(median_of "$(collect frames "${fast_names[@]}")")"
fi
# Telemetry fps of full 1-s windows only (the first and last message of a run straddle its start and end).
inner_fps=""
for n in "${rt_names[@]}" "${warm_names[@]}"; do
  inner_fps+="$(get "$n" telemetry_fps | awk -F, '{ for (i = 2; i < NF; i++) printf "%s,", $i }')"
done
printf '%-58s %s fps (median of %s full 1-s windows, real-time and warm runs)\n' "frames/s real time (telemetry fps)" \
  "$(percentile "$inner_fps" 0.5)" "$(count "$inner_fps")"
printf '%-58s %s ms\n' "pipeline time per frame, p50 (telemetry frame_p50_ms)" "$(median_of "$tele_p50")"
printf '%-58s %s %% whole process, %s %% while streaming\n' "CPU real time (cpu s / wall s)" \
  "$(median_of "$(cpu_of "${rt_names[@]}")")" "$(median_of "$(wcpu_of "${rt_names[@]}")")"
if [ "${#fast_names[@]}" -gt 0 ]; then
  printf '%-58s %s %% whole process, %s %% while streaming\n' "CPU fast mode" \
    "$(median_of "$(cpu_of "${fast_names[@]}")")" "$(median_of "$(wcpu_of "${fast_names[@]}")")"
fi
printf '%-58s %s MB\n' "peak RSS (max over all runs)" "$(rss_max "${all_names[@]}")"
grants=$(count "$rt_lat"); mq=0
for n in "${rt_names[@]}"; do mq=$((mq + $(get "$n" mqtt_granted))); done
printf '%-58s %s granted in events.db/log, %s on MQTT, %s denied\n' "decisions in the real-time runs" "$grants" "$mq" \
  "$(collect denied "${rt_names[@]}" | tr ',' '\n' | awk '{s += $1} END {print s + 0}')"
