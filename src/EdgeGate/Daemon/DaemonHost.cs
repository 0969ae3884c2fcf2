using EdgeGate.Composition;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace EdgeGate.Daemon;

/// <summary>Exit codes of <c>edgegate run</c>: systemd's Restart=on-failure restarts on anything but 0 and 2.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;

    /// <summary>Bad configuration: restarting would not help (the unit's RestartPreventExitStatus=2).</summary>
    public const int Config = 2;
}

/// <summary>Builds and runs the daemon: configuration, options validated at start, one hosted service per concern.</summary>
public static class DaemonHost
{
    public const string SystemConfigFile = "/etc/edgegate/edgegate.json";

    public static IConfigurationRoot BuildConfiguration(IEnumerable<string> configFiles, IEnumerable<string> sets)
    {
        var cb = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false)
            .AddJsonFile(SystemConfigFile, optional: true, reloadOnChange: false);
        foreach (var f in configFiles) cb.AddJsonFile(Path.GetFullPath(f), optional: false, reloadOnChange: false);
        cb.AddEnvironmentVariables();
        var overrides = new Dictionary<string, string?>();
        foreach (var s in sets)
        {
            var eq = s.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--set expects Key=Value, got '{s}'");
            var key = s[..eq].Trim();
            // Let "--set Camera:Source=..." mean the EdgeGate section, which is the only one there is.
            if (!key.StartsWith(DaemonOptions.Section + ":", StringComparison.OrdinalIgnoreCase)) key = $"{DaemonOptions.Section}:{key}";
            overrides[key] = s[(eq + 1)..];
        }
        cb.AddInMemoryCollection(overrides);
        return cb.Build();
    }

    public static int Run(IEnumerable<string> configFiles, IEnumerable<string> sets, CancellationToken externalStop = default)
    {
        IConfigurationRoot config;
        try
        {
            config = BuildConfiguration(configFiles, sets);
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or InvalidDataException or FormatException)
        {
            Console.Error.WriteLine($"configuration error: {e.Message}");
            return ExitCodes.Config;
        }

        // Validate before the host exists: a bad key must stop the daemon with a message naming it, before the door,
        // the camera or the broker is touched (ValidateOnStart below is the second line of defence).
        try
        {
            var bound = new DaemonOptions();
            config.GetSection(DaemonOptions.Section).Bind(bound);
            var result = new DaemonOptionsValidator().Validate(null, bound);
            if (result.Failed)
            {
                foreach (var failure in result.Failures!) Console.Error.WriteLine($"configuration error: {failure}");
                return ExitCodes.Config;
            }
        }
        catch (InvalidOperationException e)
        {
            // The binder's "Failed to convert configuration value at 'EdgeGate:Door:RelayLine' to type ..." names the key.
            Console.Error.WriteLine($"configuration error: {e.Message}");
            return ExitCodes.Config;
        }

        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Configuration = new ConfigurationManager() });
        builder.Configuration.AddConfiguration(config);
        ConfigureLogging(builder.Logging);
        builder.Services.AddOptions<DaemonOptions>().Bind(config.GetSection(DaemonOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DaemonOptions>, DaemonOptionsValidator>();
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(10);
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        DaemonServices.Add(builder.Services);

        using var host = builder.Build();
        var state = host.Services.GetRequiredService<DaemonState>();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EdgeGate");
        try
        {
            host.RunAsync(externalStop).GetAwaiter().GetResult();
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures) Console.Error.WriteLine($"configuration error: {failure}");
            return ExitCodes.Config;
        }
        catch (Exception e) when (e is InvalidOperationException && e.InnerException is FormatException or InvalidOperationException)
        {
            // The binder's "Failed to convert configuration value at 'EdgeGate:Door:RelayLine' to type ..." names the key.
            Console.Error.WriteLine($"configuration error: {e.Message}");
            return ExitCodes.Config;
        }
        catch (Exception e)
        {
            logger.LogCritical(e, "daemon failed");
            return ExitCodes.Failure;
        }
        if (state.FatalError is { } fatal)
        {
            logger.LogCritical("daemon stopped: {Error}", fatal);
            return state.FatalIsConfiguration ? ExitCodes.Config : ExitCodes.Failure;
        }
        return ExitCodes.Ok;
    }

    private static void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Information);
        // The event recorder already writes one line per door event; the controller's own copy would double them.
        logging.AddFilter("EdgeGate.Door.DoorController", LogLevel.Warning);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        // Under systemd the journal adds time and unit; <6>-style priorities let it colour and filter by level.
        var underSystemd = Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null;
        if (underSystemd)
            logging.AddSystemdConsole(o => o.TimestampFormat = null);
        else
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.ColorBehavior = LoggerColorBehavior.Default;
            });
        // Console logging writes to stdout by default; the demo and tests read events from stdout, errors from stderr.
        logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Warning);
    }
}
