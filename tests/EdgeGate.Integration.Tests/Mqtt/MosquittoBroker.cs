using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Mqtt;

/// <summary>
/// A real mosquitto broker (<c>/usr/sbin/mosquitto</c>) on a free 127.0.0.1 port, for one test or one fixture.
/// </summary>
/// <remarks>
/// <para>
/// Usage: <c>using var broker = MosquittoBroker.Start(output);</c> then connect to <see cref="Host"/>:<see cref="Port"/>.
/// <see cref="Kill"/> (SIGKILL, a crash), <see cref="Stop"/> (SIGTERM, a clean shutdown that saves the persistence file)
/// and <see cref="Restart"/> (after either, same port and same data directory) simulate outages. Each start waits until
/// the port accepts connections. <see cref="Dispose"/> stops the broker, copies its log to the test output and deletes
/// the temporary directory.
/// </para>
/// <para>
/// Configuration (generated as mosquitto.conf in <see cref="Directory"/>): one listener, anonymous clients allowed,
/// persistence on in the temporary directory with <see cref="MosquittoBrokerOptions.AutosaveInterval"/>, no limit on
/// queued messages per client (mosquitto's default of 1000 silently drops messages for slow or offline persistent
/// sessions, which would hide bugs), log to stderr. <see cref="MosquittoBrokerOptions.ExtraConfig"/> appends lines,
/// e.g. a password file or TLS settings (paths may point anywhere readable).
/// </para>
/// </remarks>
public sealed class MosquittoBroker : IDisposable
{
    private const string Executable = "/usr/sbin/mosquitto";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly ITestOutputHelper? _output;
    private readonly StringBuilder _log = new();
    private Process? _process;
    private bool _disposed;

    private MosquittoBroker(ITestOutputHelper? output, MosquittoBrokerOptions options)
    {
        _output = output;
        Options = options;
        Directory = System.IO.Directory.CreateTempSubdirectory("edgegate-mosquitto-").FullName;
        Port = FreePort();
        ConfigPath = Path.Combine(Directory, "mosquitto.conf");
        File.WriteAllText(ConfigPath, BuildConfig());
    }

    public MosquittoBrokerOptions Options { get; }

    public string Host => "127.0.0.1";

    public int Port { get; }

    /// <summary>Temporary directory with the config, the persistence file and anything a test puts there.</summary>
    public string Directory { get; }

    public string ConfigPath { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Everything the broker printed so far, across restarts.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Starts a broker and waits until it accepts connections.</summary>
    /// <param name="output">Receives the broker log on <see cref="Dispose"/> (optional).</param>
    public static MosquittoBroker Start(ITestOutputHelper? output = null, MosquittoBrokerOptions? options = null)
    {
        var broker = new MosquittoBroker(output, options ?? new MosquittoBrokerOptions());
        try
        {
            broker.Launch();
            return broker;
        }
        catch
        {
            broker.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL, like a crash or power cut: nothing is saved beyond the last autosave.</summary>
    public void Kill()
    {
        var process = RequireRunning();
        process.Kill();
        WaitForExit(process);
        Append("---- broker killed (SIGKILL) ----");
    }

    /// <summary>SIGTERM: clients are dropped (their wills are sent) and the persistence file is written.</summary>
    public void Stop()
    {
        var process = RequireRunning();
        if (NativeMethods.kill(process.Id, NativeMethods.SigTerm) != 0)
            throw new InvalidOperationException($"kill(SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        NativeMethods.kill(process.Id, NativeMethods.SigCont); // a paused broker would never act on the SIGTERM
        WaitForExit(process);
        Append($"---- broker stopped (SIGTERM), exit code {process.ExitCode} ----");
    }

    /// <summary>
    /// SIGSTOP: the broker freezes with its connections open, as an overloaded or hung broker would look: clients stay
    /// connected (until their keepalive runs out) but nothing is answered. <see cref="Resume"/> undoes it.
    /// </summary>
    public void Pause() => Signal(NativeMethods.SigStop, "paused (SIGSTOP)");

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => Signal(NativeMethods.SigCont, "resumed (SIGCONT)");

    /// <summary>Starts the broker again on the same port with the same data directory (stops it first if running).</summary>
    public void Restart()
    {
        if (IsRunning) Stop();
        Launch();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (IsRunning)
            {
                _process!.Kill();
                WaitForExit(_process);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process?.Dispose();
        if (_output is not null)
        {
            try
            {
                _output.WriteLine($"---- mosquitto log (port {Port}) ----{Environment.NewLine}{Log}");
            }
            catch (InvalidOperationException)
            {
                // The test has already finished; the output helper no longer accepts lines.
            }
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private void Launch()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _process?.Dispose();
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(ConfigPath);
        var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Append(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Append(e.Data); };
        if (!process.Start())
            throw new InvalidOperationException($"could not start {Executable}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"mosquitto exited with code {process.ExitCode} during start:{Environment.NewLine}{Log}");
            if (Accepts())
                return;
            if (deadline.Elapsed > StartTimeout)
                throw new TimeoutException($"mosquitto did not accept connections on port {Port} within {StartTimeout}:{Environment.NewLine}{Log}");
            Thread.Sleep(20);
        }
    }

    private bool Accepts()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void Signal(int signal, string what)
    {
        var process = RequireRunning();
        if (NativeMethods.kill(process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        Append($"---- broker {what} ----");
    }

    private Process RequireRunning()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!IsRunning)
            throw new InvalidOperationException("The broker is not running.");
        return _process!;
    }

    private static void WaitForExit(Process process)
    {
        if (!process.WaitForExit(TimeSpan.FromSeconds(15)))
            throw new TimeoutException($"mosquitto (pid {process.Id}) did not exit");
        process.WaitForExit(); // flushes the redirected output
    }

    private void Append(string line)
    {
        lock (_log) _log.AppendLine(line);
    }

    private string BuildConfig()
    {
        var config = new StringBuilder();
        config.AppendLine($"listener {Port} 127.0.0.1");
        config.AppendLine("allow_anonymous true");
        config.AppendLine("persistence true");
        config.AppendLine($"persistence_location {Directory}/");
        config.AppendLine("persistence_file mosquitto.db");
        config.AppendLine($"autosave_interval {Options.AutosaveInterval}");
        config.AppendLine($"autosave_on_changes {(Options.AutosaveOnChanges ? "true" : "false")}");
        config.AppendLine("max_queued_messages 0");
        config.AppendLine("log_dest stderr");
        config.AppendLine("log_type error");
        config.AppendLine("log_type warning");
        config.AppendLine("log_type notice");
        config.AppendLine("log_type information");
        config.AppendLine("connection_messages true");
        config.AppendLine("log_timestamp_format %H:%M:%S");
        // Started as root, mosquitto would switch to user "mosquitto", which cannot write the temporary directory.
        if (Environment.IsPrivilegedProcess)
            config.AppendLine("user root");
        if (!string.IsNullOrEmpty(Options.ExtraConfig))
            config.AppendLine(Options.ExtraConfig);
        return config.ToString();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal static partial class NativeMethods
{
    public const int SigTerm = 15;
    public const int SigStop = 19;
    public const int SigCont = 18;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);
}

/// <summary>Knobs of <see cref="MosquittoBroker"/>; the defaults suit most tests.</summary>
public sealed record MosquittoBrokerOptions
{
    /// <summary>Seconds between saves of the in-memory state (or, with <see cref="AutosaveOnChanges"/>, changes between saves).</summary>
    public int AutosaveInterval { get; init; } = 1;

    /// <summary>True: save after <see cref="AutosaveInterval"/> changes (messages, subscriptions) instead of seconds.</summary>
    public bool AutosaveOnChanges { get; init; }

    /// <summary>Lines appended to the generated mosquitto.conf (e.g. <c>allow_anonymous false</c> + <c>password_file ...</c>).</summary>
    public string? ExtraConfig { get; init; }
}
