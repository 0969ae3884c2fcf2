using System.Net.Sockets;
using System.Text;

namespace EdgeGate.Daemon;

/// <summary>The sd_notify protocol seam: the daemon says READY, WATCHDOG, STATUS and STOPPING through it.</summary>
public interface ISystemdNotifier
{
    /// <summary>True when started by systemd with Type=notify (NOTIFY_SOCKET set).</summary>
    bool IsEnabled { get; }

    /// <summary>How often systemd expects WATCHDOG=1 (WatchdogSec), when it does.</summary>
    TimeSpan? WatchdogInterval { get; }

    void Notify(string state);
}

/// <summary>
/// sd_notify written small (libsystemd is not a dependency): one datagram per state to $NOTIFY_SOCKET, a path or an
/// abstract socket ("@name"). Failures are swallowed after one log line: losing a status message must never stop the door.
/// </summary>
public sealed class SystemdNotifier : ISystemdNotifier, IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;
    private readonly Action<string>? _onError;
    private bool _reportedError;

    public SystemdNotifier(string? socketPath, TimeSpan? watchdogInterval = null, Action<string>? onError = null)
    {
        WatchdogInterval = watchdogInterval;
        _onError = onError;
        if (string.IsNullOrEmpty(socketPath)) return;
        // Abstract-namespace sockets are spelled with '@' in the environment and a leading NUL on the wire.
        _endpoint = new UnixDomainSocketEndPoint(socketPath[0] == '@' ? "\0" + socketPath[1..] : socketPath);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>From NOTIFY_SOCKET and WATCHDOG_USEC (honouring WATCHDOG_PID, as sd_watchdog_enabled does).</summary>
    public static SystemdNotifier FromEnvironment(Action<string>? onError = null)
    {
        TimeSpan? watchdog = null;
        if (long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), out var usec) && usec > 0)
        {
            var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
            if (pid is null || pid == Environment.ProcessId.ToString()) watchdog = TimeSpan.FromMicroseconds(usec);
        }
        return new SystemdNotifier(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"), watchdog, onError);
    }

    public bool IsEnabled => _socket is not null;
    public TimeSpan? WatchdogInterval { get; }

    public void Notify(string state)
    {
        if (_socket is null) return;
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), _endpoint!);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            if (_reportedError) return;
            _reportedError = true;
            _onError?.Invoke($"sd_notify to {_endpoint} failed: {e.Message}");
        }
    }

    public void Dispose() => _socket?.Dispose();
}
