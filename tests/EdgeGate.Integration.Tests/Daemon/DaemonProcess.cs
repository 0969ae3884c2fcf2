using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeGate.Integration.Tests.Mqtt;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Daemon;

/// <summary>
/// <c>edgegate run</c> as systemd or a technician starts it: a separate process, configured with <c>--set</c> and the
/// environment, whose output lines are collected for assertions and copied to the test log.
/// </summary>
public sealed class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ITestOutputHelper _output;

    private DaemonProcess(Process process, ITestOutputHelper output)
    {
        _process = process;
        _output = output;
    }

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "EdgeGate.dll");

    public static DaemonProcess Start(ITestOutputHelper output, IEnumerable<string> sets, IDictionary<string, string>? env = null, params string[] extraArgs)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        psi.ArgumentList.Add("run");
        foreach (var s in sets) { psi.ArgumentList.Add("--set"); psi.ArgumentList.Add(s); }
        foreach (var a in extraArgs) psi.ArgumentList.Add(a);
        // The test host may run under systemd or with a notify socket of its own; the daemon must only see ours.
        psi.Environment.Remove("NOTIFY_SOCKET");
        psi.Environment.Remove("WATCHDOG_USEC");
        psi.Environment.Remove("JOURNAL_STREAM");
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var process = new Process { StartInfo = psi };
        var daemon = new DaemonProcess(process, output);
        process.OutputDataReceived += (_, e) => daemon.Add(e.Data, "out");
        process.ErrorDataReceived += (_, e) => daemon.Add(e.Data, "err");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return daemon;
    }

    /// <summary>Runs to exit (fails the test when it takes longer than <paramref name="timeout"/>); returns the exit code.</summary>
    public static int RunToExit(ITestOutputHelper output, IEnumerable<string> sets, TimeSpan timeout, out DaemonProcess daemon)
    {
        daemon = Start(output, sets);
        return daemon.WaitForExit(timeout);
    }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public IReadOnlyList<string> Lines => [.. _lines];
    public string Text => string.Join('\n', _lines);

    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the daemon did not exit within {timeout.TotalSeconds:0} s");
        }
        _process.WaitForExit(); // flush the asynchronous output readers
        return _process.ExitCode;
    }

    public string WaitForLine(Func<string, bool> match, string what, TimeSpan? timeout = null)
    {
        string? found = null;
        Wait.Until(() => (found = _lines.FirstOrDefault(match)) is not null || _process.HasExited && (found = _lines.FirstOrDefault(match)) is not null
                         || (_process.HasExited ? throw new InvalidOperationException($"the daemon exited ({_process.ExitCode}) before {what}") : false),
            what, timeout ?? TimeSpan.FromSeconds(60));
        return found!;
    }

    public int CountLines(Func<string, bool> match) => _lines.Count(match);

    /// <summary>Each output line as it arrives (on a reader thread), for counting without rescanning every line.</summary>
    public event Action<string>? LineReceived;

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString()]);
        kill.WaitForExit();
    }

    private void Add(string? line, string stream)
    {
        if (line is null) return;
        _lines.Enqueue(line);
        LineReceived?.Invoke(line);
        try { _output.WriteLine($"daemon {stream}: {line}"); }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
