using System.Diagnostics;
using System.Text.RegularExpressions;
using EdgeGate.Daemon;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Packaging;

/// <summary>
/// The .deb files publish.sh built (scripts/test.sh builds them before the tests), read with dpkg-deb as a device would
/// see them. Missing packages fail under CI=true and skip locally (run publish.sh first).
/// </summary>
public sealed class DebianPackageTests(ITestOutputHelper output)
{
    private static string? RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EdgeGate.sln"))) return dir.FullName;
        return null;
    }

    private string? DebOrSkip(string debArch)
    {
        var artifacts = Path.Combine(RepoRoot() ?? "/nonexistent", "artifacts");
        var debs = Directory.Exists(artifacts) ? Directory.GetFiles(artifacts, $"edgegate_*_{debArch}.deb") : [];
        if (debs.Length == 1) return debs[0];
        var why = $"expected one edgegate_*_{debArch}.deb in {artifacts}, found {debs.Length} (run publish.sh)";
        if (TestData.IsCi) throw new InvalidOperationException(why + " (CI=true, so this is a failure, not a skip)");
        output.WriteLine("SKIPPED: " + why);
        return null;
    }

    private static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}: {stderr}");
        return stdout.Result;
    }

    [Theory]
    [InlineData("arm64")]
    [InlineData("amd64")]
    public void Control_NamesPackageVersionArchitecture_AndTheDebianDependencies_ButNotDotnet(string debArch)
    {
        if (DebOrSkip(debArch) is not { } deb) return;
        string Field(string name) => Run("dpkg-deb", "-f", deb, name).Trim();

        Assert.Equal("edgegate", Field("Package"));
        Assert.Equal(debArch, Field("Architecture"));
        var version = Field("Version");
        Assert.Matches(@"^\d+\.\d+\.\d+(\+git\d+\.[0-9a-f]{7,})?(\+dirty)?$", version);
        Assert.EndsWith($"edgegate_{version}_{debArch}.deb", deb);
        var depends = Field("Depends").Split(',').Select(d => Regex.Replace(d, @"\s*\(.*\)", "").Trim()).ToList();
        foreach (var p in new[] { "libmosquitto1", "libgstreamer1.0-0", "gstreamer1.0-plugins-base", "gstreamer1.0-plugins-good",
                     "gstreamer1.0-plugins-bad", "libssl3", "adduser" })
            Assert.Contains(p, depends);
        // The .NET 10 runtime is no Debian package: depending on one would make dpkg -i fail everywhere.
        Assert.DoesNotContain(depends, d => d.Contains("dotnet"));
        Assert.Contains("/etc/edgegate/edgegate.json", Run("dpkg-deb", "-I", deb, "conffiles"));
        foreach (var script in new[] { "postinst", "prerm", "postrm" })
            Assert.StartsWith("#!/bin/sh", Run("dpkg-deb", "-I", deb, script));
    }

    [Theory]
    [InlineData("arm64", "arm64", 0xB7)]
    [InlineData("amd64", "x64", 0x3E)]
    public void Files_AreTheExpectedOnes_ForThisArchitecture_OwnedByRoot_AndMatchTheirChecksums(string debArch, string rid, int elfMachine)
    {
        if (DebOrSkip(debArch) is not { } deb) return;
        var listing = Run("dpkg-deb", "-c", deb).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        var paths = listing.Select(f => f[^1]).ToHashSet();
        var expected = new[]
        {
            "./usr/bin/edgegate", "./usr/lib/edgegate/EdgeGate.dll", "./usr/lib/edgegate/EdgeGate.runtimeconfig.json",
            $"./usr/lib/edgegate/assets/runtimes/linux-{rid}/libonnxruntime.so.1", $"./usr/lib/edgegate/runtimes/linux-{rid}/native/libe_sqlite3.so",
            "./usr/lib/edgegate/assets/models/fr_detect.onnx", "./usr/lib/edgegate/assets/models/fr_landmark.onnx",
            "./usr/lib/edgegate/assets/models/fr_feature.onnx", "./usr/lib/edgegate/assets/models/LICENSE.faceplugin",
            "./usr/lib/edgegate/SHA256SUMS", "./lib/systemd/system/edgegate.service", "./lib/systemd/system/edgegate-provision.service",
            "./usr/lib/sysusers.d/edgegate.conf", "./usr/lib/tmpfiles.d/edgegate.conf", "./lib/udev/rules.d/60-edgegate-gpio.rules",
            "./etc/edgegate/edgegate.json", "./usr/share/doc/edgegate/README.Debian",
        };
        foreach (var path in expected) Assert.Contains(path, paths);
        var otherRid = rid == "x64" ? "arm64" : "x64";
        Assert.DoesNotContain(paths, p => p.Contains($"linux-{otherRid}/") || p.Contains("/win") || p.EndsWith(".pdb"));
        Assert.All(listing, f => Assert.Equal("root/root", f[1]));
        Assert.StartsWith("-rwxr-xr-x", listing.Single(f => f[^1] == "./usr/bin/edgegate")[0]);

        var root = Directory.CreateTempSubdirectory("edgegate-deb-").FullName;
        try
        {
            Run("dpkg-deb", "-x", deb, root);
            var lib = Path.Combine(root, "usr/lib/edgegate");
            // The natives are for this architecture (ELF e_machine at offset 18): a wrong copy would only fail on the device.
            foreach (var native in new[] { $"assets/runtimes/linux-{rid}/libonnxruntime.so.1", $"runtimes/linux-{rid}/native/libe_sqlite3.so" })
                Assert.Equal(elfMachine, File.ReadAllBytes(Path.Combine(lib, native))[18]);
            var check = new ProcessStartInfo("sha256sum", "--check --quiet SHA256SUMS") { WorkingDirectory = lib, RedirectStandardOutput = true };
            using (var p = Process.Start(check)!)
            {
                output.WriteLine(p.StandardOutput.ReadToEnd());
                p.WaitForExit();
                Assert.Equal(0, p.ExitCode);
            }
            // The commented default configuration loads as the daemon loads it and is valid as shipped.
            var config = DaemonHost.BuildConfiguration([Path.Combine(root, "etc/edgegate/edgegate.json")], []);
            var options = new DaemonOptions();
            config.GetSection(DaemonOptions.Section).Bind(options);
            Assert.Empty(DaemonOptionsValidator.Check(options));
            Assert.Contains("exec \"$dotnet\" \"$app\" \"$@\"", File.ReadAllText(Path.Combine(root, "usr/bin/edgegate")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Wrapper_WithoutDotnet_SaysWhatIsMissing_AndExits127()
    {
        var wrapper = Path.Combine(RepoRoot()!, "packaging/debian/edgegate.sh");
        // A PATH without dotnet, and DOTNET_ROOT pointing nowhere; /usr/lib/dotnet and /usr/share/dotnet are still
        // looked at, so this host's own SDK there makes the case untestable here.
        if (File.Exists("/usr/lib/dotnet/dotnet") || File.Exists("/usr/share/dotnet/dotnet"))
        {
            var copy = Path.Combine(Directory.CreateTempSubdirectory("edgegate-wrapper-").FullName, "edgegate");
            File.WriteAllText(copy, File.ReadAllText(wrapper).Replace(" /usr/lib/dotnet/dotnet /usr/share/dotnet/dotnet", ""));
            wrapper = copy;
        }
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(wrapper);
        psi.ArgumentList.Add("--help");
        psi.Environment["PATH"] = "/nonexistent";
        psi.Environment["DOTNET_ROOT"] = "/nonexistent";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(127, p.ExitCode);
        Assert.Contains(".NET 10 runtime is not installed", stderr);
        Assert.Contains("README.Debian", stderr);
    }
}
