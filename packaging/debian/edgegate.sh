#!/bin/sh
# /usr/bin/edgegate: runs the framework-dependent EdgeGate.dll on the .NET 10 runtime, which is not a Debian package
# (see /usr/share/doc/edgegate/README.Debian). exec keeps the PID, so under systemd the daemon is the unit's main
# process and its sd_notify READY/WATCHDOG messages are accepted (NotifyAccess=main).
app=/usr/lib/edgegate/EdgeGate.dll
dotnet=
for candidate in ${DOTNET_ROOT:+"$DOTNET_ROOT/dotnet"} "$(command -v dotnet 2>/dev/null)" /usr/lib/dotnet/dotnet /usr/share/dotnet/dotnet; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then dotnet=$candidate; break; fi
done
if [ -z "$dotnet" ]; then
  echo "edgegate: the .NET 10 runtime is not installed (no 'dotnet' on PATH, in \$DOTNET_ROOT, /usr/lib/dotnet or /usr/share/dotnet)." >&2
  echo "edgegate: install it as /usr/share/doc/edgegate/README.Debian describes, then run edgegate again." >&2
  exit 127
fi
exec "$dotnet" "$app" "$@"
