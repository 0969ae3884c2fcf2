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

    [Theory]
    [InlineData("edgegate.service")]
    [InlineData("edgegate-provision.service")]
    public void ServiceUnit_PassesSystemdAnalyzeVerify_WhereTheToolExists(string unitName)
    {
        if (!File.Exists("/usr/bin/systemd-analyze"))
        {
            output.WriteLine("SKIPPED: systemd-analyze is not installed");
            return;
        }
        var dir = Directory.CreateTempSubdirectory("edgegate-unit-").FullName;
        try
        {
            // Both units side by side, as installed: each names the other in its ordering.
            foreach (var name in new[] { "edgegate.service", "edgegate-provision.service" })
                File.Copy(RepoFile($"systemd/{name}"), Path.Combine(dir, name));
            var psi = new ProcessStartInfo("/usr/bin/systemd-analyze") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("verify");
            psi.ArgumentList.Add(Path.Combine(dir, unitName));
            using var p = Process.Start(psi)!;
            var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            output.WriteLine(text);
            Assert.Equal(0, p.ExitCode);
            Assert.DoesNotContain($"{unitName}:", text); // a unit warning names the file and line
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
                     "ReadWritePaths=/var/lib/edgegate", "DeviceAllow=char-gpiochip rw", "KillSignal=SIGTERM", "RestartPreventExitStatus=2",
                     "RestartSec=", "PrivateTmp=yes", "ProtectHome=yes", "DeviceAllow=char-video4linux rw", "DeviceAllow=char-media rw",
                     "SupplementaryGroups=gpio video", "After=network-online.target mosquitto.service edgegate-provision.service" })
            Assert.Contains(line, text);
    }

    [Fact]
    public void ProvisionUnit_RunsOnlyWithAFile_BeforeTheDaemon()
    {
        var text = File.ReadAllText(RepoFile("systemd/edgegate-provision.service"));
        foreach (var line in new[] { "Type=oneshot", "Before=edgegate.service", "ConditionPathExists=|/boot/firmware/edgegate-provision.json",
                     "ConditionPathExists=|/boot/edgegate-provision.json", "ConditionPathExists=|/etc/edgegate/provision.json",
                     "ExecStart=/usr/bin/dotnet /usr/lib/edgegate/EdgeGate.dll provision", "WantedBy=multi-user.target" })
            Assert.Contains(line, text);
    }
}
