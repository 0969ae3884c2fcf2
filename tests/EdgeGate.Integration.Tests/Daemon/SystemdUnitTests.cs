using System.Diagnostics;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Daemon;

public sealed class SystemdUnitTests(ITestOutputHelper output)
{
    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EdgeGate.sln"))) return Path.Combine(dir.FullName, relative);
        throw new InvalidOperationException("EdgeGate.sln not found above the test binaries");
    }

    [Fact]
    public void ServiceUnit_PassesSystemdAnalyzeVerify_WhereTheToolExists()
    {
        if (!File.Exists("/usr/bin/systemd-analyze"))
        {
            output.WriteLine("SKIPPED: systemd-analyze is not installed");
            return;
        }
        var unit = RepoFile("systemd/edgegate.service");
        var dir = Directory.CreateTempSubdirectory("edgegate-unit-").FullName;
        try
        {
            File.Copy(unit, Path.Combine(dir, "edgegate.service"));
            var psi = new ProcessStartInfo("/usr/bin/systemd-analyze") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("verify");
            psi.ArgumentList.Add(Path.Combine(dir, "edgegate.service"));
            using var p = Process.Start(psi)!;
            var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            output.WriteLine(text);
            Assert.Equal(0, p.ExitCode);
            Assert.DoesNotContain("edgegate.service:", text); // a unit warning names the file and line
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ServiceUnit_IsNotifyTyped_WithWatchdog_AndFailSecureStop()
    {
        var text = File.ReadAllText(RepoFile("systemd/edgegate.service"));
        foreach (var line in new[] { "Type=notify", "WatchdogSec=", "Restart=on-failure", "ProtectSystem=strict", "NoNewPrivileges=yes",
                     "ReadWritePaths=/var/lib/edgegate", "DeviceAllow=char-gpiochip rw", "KillSignal=SIGTERM", "RestartPreventExitStatus=2" })
            Assert.Contains(line, text);
    }
}
