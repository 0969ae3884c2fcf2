#!/usr/bin/env bash
# The image recipe's test: builds the root filesystem (scripts/build-image.sh) for each architecture with a
# provisioning file, and checks inside it what a device would have: `dpkg -s edgegate`, the installed files (natives
# of the right architecture), the units enabled, the account and its groups, modes of the state and config folders.
# On the host's own architecture it goes on to run the installed package in the chroot (the host's .NET runtime
# bind-mounted read-only at /usr/lib/dotnet, nothing installed on the host): --help, `edgegate provision` with the
# real edgegate account, `edgegate list --json`, the daemon on a file camera with the simulated door, then
# dpkg -r (gallery and configuration kept) and dpkg -P (both deleted).
# Ends with "image test: PASS (N checks)" or "image test: FAIL (...)"; the exit code says the same.
#   scripts/test-image.sh [arm64] [amd64]      (default: both; needs root and the .deb files from publish.sh)
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
archs=${*:-arm64 amd64}
work=$(mktemp -d /tmp/edgegate-image-test-XXXX)
passed=0 failed=0 mounted=()

cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  if grep -q " $work/" /proc/mounts; then echo "test-image: $work still has mounts: left in place" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "  ok   $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
equals() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$3', got '$2'"; fi; }
elf_machine() { od -An -tx1 -j18 -N2 "$1" | tr -d ' \n'; }

provision=$work/provision.json
cat > "$provision" <<EOF
{
  "device_id": "image-test",
  "broker": { "url": "mqtt://broker.example.net", "username": "image-test", "password": "pw" },
  "command_key": "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')",
  "door": { "driver": "sim", "chip": "gpiochip0", "relay_line": 17, "contact_line": 27 },
  "camera": { "preset": "v4l2:/dev/video0" }
}
EOF

# A cold base (debootstrap + apt; arm64 under qemu) is most of the time, and each mostly keeps one core busy: build
# the missing ones side by side. The tools are installed first so two apt-get runs never race for the dpkg lock.
tools=()
for p in debootstrap qemu-user-static binfmt-support; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || tools+=("$p")
done
if [ ${#tools[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tools[@]}" >/dev/null \
    || echo "image test: could not install ${tools[*]}" >&2
fi
warming=()
for arch in $archs; do
  bash "$repo/scripts/build-image.sh" --arch "$arch" --base-only --out "$work/base-$arch" > "$work/base-$arch.log" 2>&1 &
  warming+=($!)
done
for pid in "${warming[@]}"; do wait "$pid" || true; done # a failure shows again, with its log, in the build below
cat "$work"/base-*.log 2>/dev/null

for arch in $archs; do
  case $arch in arm64) rid=arm64 machine=b700 ;; amd64) rid=x64 machine=3e00 ;; *) echo "unknown arch $arch" >&2; exit 2 ;; esac
  echo "== image $arch"
  start=$(date +%s)
  if ! bash "$repo/scripts/build-image.sh" --arch "$arch" --provision "$provision" --out "$work/$arch" --keep-rootfs; then
    bad "build-image.sh --arch $arch"
    continue
  fi
  echo "  (built in $(( $(date +%s) - start )) s)"
  r=$work/$arch/rootfs-$arch
  in_root() { chroot "$r" "$@"; }
  deb_version=$(dpkg-deb -f "$(ls "$repo"/artifacts/edgegate_*_"$arch".deb)" Version)

  status=$(in_root dpkg-query -W -f='${Status} ${Version} ${Architecture}' edgegate 2>&1)
  equals "dpkg -s edgegate: installed, this version and architecture" "$status" "install ok installed $deb_version $arch"
  check "dpkg -s edgegate exits 0" in_root dpkg -s edgegate
  check "conffile registered" sh -c "chroot '$r' dpkg-query -W -f='\${Conffiles}' edgegate | grep -q /etc/edgegate/edgegate.json"
  for f in usr/bin/edgegate usr/lib/edgegate/EdgeGate.dll usr/lib/edgegate/assets/models/fr_feature.onnx \
           lib/systemd/system/edgegate.service lib/systemd/system/edgegate-provision.service usr/lib/sysusers.d/edgegate.conf \
           usr/lib/tmpfiles.d/edgegate.conf lib/udev/rules.d/60-edgegate-gpio.rules usr/share/doc/edgegate/README.Debian; do
    check "installed: /$f" test -s "$r/$f"
  done
  check "/usr/bin/edgegate is executable" test -x "$r/usr/bin/edgegate"
  equals "libonnxruntime.so.1 is for $arch" "$(elf_machine "$r/usr/lib/edgegate/assets/runtimes/linux-$rid/libonnxruntime.so.1" 2>/dev/null)" "$machine"
  equals "libe_sqlite3.so is for $arch" "$(elf_machine "$r/usr/lib/edgegate/runtimes/linux-$rid/native/libe_sqlite3.so" 2>/dev/null)" "$machine"
  check "packaged checksums match" sh -c "cd '$r/usr/lib/edgegate' && sha256sum --check --quiet SHA256SUMS"
  for unit in edgegate.service edgegate-provision.service; do
    check "$unit enabled (wants symlink)" test -L "$r/etc/systemd/system/multi-user.target.wants/$unit"
    equals "systemctl is-enabled $unit" "$(in_root systemctl is-enabled "$unit" 2>&1)" "enabled"
  done
  check "account edgegate exists" in_root getent passwd edgegate
  groups=" $(in_root id -nG edgegate 2>/dev/null) "
  check "edgegate is in group gpio" grep -q ' gpio ' <<<"$groups"
  check "edgegate is in group video" grep -q ' video ' <<<"$groups"
  equals "/var/lib/edgegate mode and owner" "$(stat -c '%a %u:%g' "$r/var/lib/edgegate" 2>&1)" \
    "700 $(in_root id -u edgegate):$(in_root id -g edgegate)"
  equals "/etc/edgegate mode" "$(stat -c '%a %u %g' "$r/etc/edgegate")" "750 0 $(in_root id -g edgegate)"
  equals "/etc/edgegate/edgegate.json mode" "$(stat -c '%a %u %g' "$r/etc/edgegate/edgegate.json")" "640 0 $(in_root id -g edgegate)"
  equals "provisioning file placed for first boot, root-only" "$(stat -c '%a %u %g' "$r/etc/edgegate/provision.json" 2>&1)" "600 0 0"
  image=$(ls "$work/$arch"/edgegate-rootfs_*_"$arch".tar.gz 2>/dev/null)
  check "rootfs tarball holds the package" sh -c "tar -tzf '$image' | grep -qx './usr/lib/edgegate/EdgeGate.dll'"

  if [ "$arch" = "$(dpkg --print-architecture)" ]; then
    # Run the installed package in the chroot on the host's .NET runtime (read-only; the image itself has none).
    dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    mkdir -p "$r/usr/lib/dotnet"
    mount --bind -o ro "$dotnet_root" "$r/usr/lib/dotnet" && mounted+=("$r/usr/lib/dotnet")
    mount -t proc proc "$r/proc" && mounted+=("$r/proc")
    mount --bind /dev "$r/dev" && mounted+=("$r/dev")
    ln -sf /usr/lib/dotnet/dotnet "$r/usr/bin/dotnet"
    # A clean environment: the packaged layout must be found without EDGEGATE_ASSETS.
    run() { chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DOTNET_CLI_TELEMETRY_OPTOUT=1 "$@"; }
    as_daemon() { chroot "$r" env -i PATH=/usr/bin:/bin HOME=/var/lib/edgegate DOTNET_CLI_TELEMETRY_OPTOUT=1 setpriv \
      --reuid="$(in_root id -u edgegate)" --regid="$(in_root id -g edgegate)" --init-groups "$@"; }

    check "edgegate --help" sh -c "chroot '$r' env -i PATH=/usr/bin:/bin edgegate --help | grep -q provision"
    out=$(run edgegate provision --json 2>&1)
    check "edgegate provision applies /etc/edgegate/provision.json" grep -q '"provisioned":true' <<<"$out"
    check "provisioning file removed" test ! -e "$r/etc/edgegate/provision.json"
    equals "command key 0600, owned by edgegate" "$(stat -c '%a %u' "$r/etc/edgegate/command.key" 2>&1)" "600 $(in_root id -u edgegate)"
    equals "provisioned config 0640 root:edgegate" "$(stat -c '%a %u %g' "$r/etc/edgegate/edgegate.json")" "640 0 $(in_root id -g edgegate)"
    check "provisioned device id in /etc/edgegate/edgegate.json" grep -q '"DeviceId": "image-test"' "$r/etc/edgegate/edgegate.json"
    out=$(as_daemon edgegate list --json --gallery /var/lib/edgegate/gallery.db 2>&1)
    equals "edgegate list --json as user edgegate (SQLite native)" "$out" '{"count":0,"persons":[]}'

    # The daemon as systemd would run it: user edgegate, the provisioned config (sim door), models and ORT from
    # /usr/lib/edgegate/assets, a file camera (MJPEG in Matroska: plugins-good decodes it, no libav needed), no broker.
    gst-launch-1.0 -q videotestsrc num-buffers=20 ! video/x-raw,width=320,height=240,framerate=10/1 ! jpegenc ! matroskamux \
      ! filesink location="$r/tmp/camera.mkv" >/dev/null 2>&1
    chmod 644 "$r/tmp/camera.mkv"
    log=$work/daemon-$arch.log
    as_daemon edgegate run --set Camera:Source=/tmp/camera.mkv --set Camera:ExitAtEnd=true --set Camera:RealTime=false \
      --set Mqtt:Host= > "$log" 2>&1
    rc=$?
    equals "edgegate run (sim door, file camera) exits 0" "$rc" "0"
    check "the daemon loaded the models (ORT from /usr/lib/edgegate/assets)" grep -q "ONNX Runtime" "$log"
    check "the daemon played the file to its end" grep -q "end of input: 20 frames" "$log"
    [ "$rc" = 0 ] || tail -20 "$log"
    # The technician's check on the installed package: `edgegate selftest --json` as the service user, against the
    # provisioned config (sim door), with a file camera showing a face (a dev clip re-encoded to MJPEG on the host,
    # which has libav) and no broker. Exit 0 and "ok":true only when every required check passed.
    faces=${EDGEGATE_FACES:-$repo/../shared/faces}
    camera=/tmp/camera.mkv
    if [ -f "$faces/video/grid_pwij3p.mpg" ] && gst-launch-1.0 -q filesrc location="$faces/video/grid_pwij3p.mpg" ! decodebin \
        ! videoconvert ! videorate ! video/x-raw,framerate=10/1 ! jpegenc ! matroskamux ! filesink location="$r/tmp/face.mkv" >/dev/null 2>&1; then
      chmod 644 "$r/tmp/face.mkv"; camera=/tmp/face.mkv
    fi
    out=$(as_daemon edgegate selftest --json --set Camera:Source=$camera --set Mqtt:Host= --snapshot /tmp/selftest.png 2>&1)
    rc=$?
    equals "edgegate selftest --json as user edgegate exits 0" "$rc" "0"
    check "selftest: every required check passed" grep -q '"ok": *true' <<<"$out"
    check "selftest: models and checksums from the package" grep -q '"name": *"models"' <<<"$out"
    check "selftest: snapshot written" test -s "$r/tmp/selftest.png"
    [ "$rc" = 0 ] || echo "$out" | tail -40

    # Removal keeps what the door learnt (gallery, events, configuration); only purge deletes it.
    check "dpkg -r edgegate" in_root dpkg -r edgegate
    equals "after remove: config files state" "$(in_root dpkg-query -W -f='${Status}' edgegate 2>&1)" "deinstall ok config-files"
    check "after remove: gallery kept" test -s "$r/var/lib/edgegate/gallery.db"
    check "after remove: provisioned config kept" grep -q image-test "$r/etc/edgegate/edgegate.json"
    check "after remove: program gone" test ! -e "$r/usr/lib/edgegate/EdgeGate.dll"
    check "dpkg -P edgegate" in_root dpkg -P edgegate
    check "after purge: state deleted" test ! -e "$r/var/lib/edgegate"
    check "after purge: configuration and keys deleted" test ! -e "$r/etc/edgegate"
    check "after purge: units no longer enabled" test ! -e "$r/etc/systemd/system/multi-user.target.wants/edgegate.service"
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}"; done
    mounted=()
  fi
done

if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then
  echo "image test: PASS ($passed checks)"
  exit 0
fi
echo "image test: FAIL ($failed of $((passed + failed)) checks failed)"
exit 1
