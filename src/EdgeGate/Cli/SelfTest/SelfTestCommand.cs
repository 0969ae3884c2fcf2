using System.CommandLine;
using EdgeGate.Core.Diagnostics;
using EdgeGate.Daemon;
using Microsoft.Extensions.Configuration;
using Spectre.Console;

namespace EdgeGate.Cli.SelfTest;

/// <summary>
/// <c>edgegate selftest</c>: is this device fit to run the door with this configuration? Reads the same configuration
/// as <c>edgegate run</c>, runs <see cref="Checks"/> in order and prints a table (or one JSON object with --json).
/// Exit code 0 only when every required check passed (warnings and skips do not fail it), else 1.
/// </summary>
public static class SelfTestCommand
{
    /// <summary>The checks in the order they run. The relay click comes last: it is the only one that asks the operator.</summary>
    public static IReadOnlyList<ISelfTestCheck> Checks() =>
    [
        new ConfigCheck(),
        new ClockCheck(),
        new DiskCheck(),
        new StorageCheck(),
        new ModelChecksumCheck(),
        new EmbedderVariantCheck(),
        new GpioCheck(),
        new DoorContactCheck(),
        new ExitButtonCheck(),
        new CameraCheck(),
        new InferenceCheck(),
        new LivenessModelCheck(),
        new SnapshotCheck(),
        new BrokerCheck(),
        new RelayClickCheck(),
    ];

    public static Command Build(Option<bool> json)
    {
        var configFiles = new Option<string[]>("--config") { Description = "extra JSON configuration file(s), as for `edgegate run`" };
        var sets = new Option<string[]>("--set") { Description = "override one key, as for `edgegate run` (repeatable)" };
        var snapshot = new Option<string?>("--snapshot") { Description = "where to write the PNG snapshot (default <Storage:Path>/selftest-snapshot.png)" };
        var clickRelay = new Option<bool>("--click-relay") { Description = "energise the relay once for Door:PulseMs (asks first: the door unlocks)" };
        var yes = new Option<bool>("--yes") { Description = "answer yes to the confirmation (non-interactive)" };
        var frames = new Option<int>("--frames") { Description = "camera frames to wait for", DefaultValueFactory = _ => 5 };
        var timeout = new Option<double>("--timeout") { Description = "seconds the camera, the broker and each wait may take", DefaultValueFactory = _ => 10 };
        var command = new Command("selftest", "check models, ONNX Runtime, camera, GPIO lines, broker, clock, disk and storage with the daemon's configuration")
            { configFiles, sets, snapshot, clickRelay, yes, frames, timeout };
        command.SetAction(r =>
        {
            var asJson = r.GetValue(json);
            if (r.GetValue(frames) is < 1 or > 1000) return CliOutput.Fail(asJson, "invalid_argument", "--frames must be 1..1000");
            if (r.GetValue(timeout) is < 0.5 or > 600) return CliOutput.Fail(asJson, "invalid_argument", "--timeout must be 0.5..600 seconds");
            var assumeYes = r.GetValue(yes);
            var interactive = !assumeYes && !Console.IsInputRedirected;
            var (options, errors, sources) = LoadConfiguration(r.GetValue(configFiles) ?? [], r.GetValue(sets) ?? []);
            using var context = new SelfTestContext
            {
                Options = options,
                ConfigErrors = errors,
                ConfigSources = sources,
                Timeout = TimeSpan.FromSeconds(r.GetValue(timeout)),
                CameraFrames = r.GetValue(frames),
                SnapshotRequest = r.GetValue(snapshot),
                ClickRelay = r.GetValue(clickRelay),
                Interactive = interactive,
                Confirm = assumeYes ? _ => true : interactive ? Ask : _ => false,
            };
            var checks = options is null ? [new ConfigCheck()] : Checks();
            var report = SelfTestRunner.Run(checks, context, asJson ? null : r => AnsiConsole.MarkupLine($"  {Status(r.Status)} {Markup.Escape(r.Name)}"));
            if (asJson) CliOutput.WriteJson(report.ToJson());
            else Print(report);
            return report.ExitCode;
        });
        return command;
    }

    /// <summary>
    /// The daemon's configuration, bound and validated exactly as <c>edgegate run</c> does it; a problem is returned, not
    /// thrown, so the self-test reports it as a failed check. Options is null only when nothing could be bound.
    /// </summary>
    public static (DaemonOptions? Options, IReadOnlyList<string> Errors, IReadOnlyList<string> Sources) LoadConfiguration(
        IReadOnlyList<string> configFiles, IReadOnlyList<string> sets)
    {
        var sources = new List<string>();
        var appsettings = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (File.Exists(appsettings)) sources.Add(appsettings);
        if (File.Exists(DaemonHost.SystemConfigFile)) sources.Add(DaemonHost.SystemConfigFile);
        sources.AddRange(configFiles.Select(Path.GetFullPath));
        if (Environment.GetEnvironmentVariables().Keys.Cast<string>().Any(k => k.StartsWith(DaemonOptions.Section + "__", StringComparison.OrdinalIgnoreCase)))
            sources.Add("environment");
        if (sets.Count > 0) sources.Add($"{sets.Count} --set");
        IConfigurationRoot config;
        try
        {
            config = DaemonHost.BuildConfiguration(configFiles, sets);
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or InvalidDataException or FormatException)
        {
            return (null, [e.Message], sources);
        }
        var bound = new DaemonOptions();
        try
        {
            config.GetSection(DaemonOptions.Section).Bind(bound);
        }
        catch (InvalidOperationException e)
        {
            // The binder's "Failed to convert configuration value at 'EdgeGate:Door:RelayLine' to type ..." names the key.
            return (null, [e.Message], sources);
        }
        var result = new DaemonOptionsValidator().Validate(null, bound);
        return (bound, result.Failed ? [.. result.Failures!] : [], sources);
    }

    private static bool Ask(string question)
    {
        // stderr, so a --json consumer's stdout holds only the report.
        Console.Error.Write($"{question} [y/N] ");
        var answer = Console.ReadLine()?.Trim();
        return answer is not null && (answer.Equals("y", StringComparison.OrdinalIgnoreCase) || answer.Equals("yes", StringComparison.OrdinalIgnoreCase));
    }

    private static string Status(CheckStatus status) => status switch
    {
        CheckStatus.Pass => "[green]pass[/]",
        CheckStatus.Warn => "[yellow]warn[/]",
        CheckStatus.Fail => "[red]FAIL[/]",
        _ => "[grey]skip[/]",
    };

    public static void Print(SelfTestReport report)
    {
        var table = new Table().AddColumns("check", "required", "status", "detail", "ms");
        foreach (var c in report.Checks)
            table.AddRow(Markup.Escape(c.Name), c.Required ? "yes" : "no", Status(c.Status), Markup.Escape(c.Detail), $"{c.Ms:0}");
        AnsiConsole.Write(table);
        if (report.SnapshotPath is { } snapshot) AnsiConsole.MarkupLine($"snapshot: {Markup.Escape(snapshot)}");
        AnsiConsole.MarkupLine(report.Ok ? $"[green]{Markup.Escape(report.Summary())}[/]" : $"[red]{Markup.Escape(report.Summary())}[/]");
    }
}
