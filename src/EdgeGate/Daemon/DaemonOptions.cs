using EdgeGate.Core.Liveness;
using EdgeGate.Core.Access;
using Microsoft.Extensions.Options;

namespace EdgeGate.Daemon;

/// <summary>
/// The daemon's configuration, section <c>EdgeGate</c>. Sources, later ones winning: appsettings.json beside the program,
/// /etc/edgegate/edgegate.json, <c>--config FILE</c>, environment (<c>EdgeGate__Camera__Source=...</c>), <c>--set Key=Value</c>.
/// Key names are a public contract (installers, provisioning and outside checks use them).
/// </summary>
public sealed class DaemonOptions
{
    public const string Section = "EdgeGate";

    /// <summary>This door's id: the MQTT topic level and the <c>device</c> field of every event.</summary>
    public string DeviceId { get; set; } = "gate-1";

    public CameraSettings Camera { get; set; } = new();
    public MqttSettings Mqtt { get; set; } = new();
    public DoorSettings Door { get; set; } = new();
    public StorageSettings Storage { get; set; } = new();
    public AccessSettings Access { get; set; } = new();
    public RecognitionSettings Recognition { get; set; } = new();
    public LivenessSettings Liveness { get; set; } = new();
    public CommandSettings Commands { get; set; } = new();
    public SiteSettings Site { get; set; } = new();

    /// <summary>Seconds between telemetry messages (0 = none).</summary>
    public int TelemetrySeconds { get; set; } = 30;
}

public sealed class CameraSettings
{
    /// <summary>A preset (<c>v4l2:/dev/video0</c>, <c>libcamera</c>, <c>argus</c>, <c>testsrc</c>), rtsp:// or other URI, a file, or a pipeline ending in <c>appsink name=sink</c>.</summary>
    public string Source { get; set; } = "v4l2:/dev/video0";
    public int Width { get; set; } = 1280;
    public int Height { get; set; } = 720;
    public int Fps { get; set; } = 15;

    /// <summary>Files play at their own rate (like a camera: stale frames dropped). False = every frame, as fast as possible.</summary>
    public bool RealTime { get; set; } = true;

    /// <summary>For files: start again at the end instead of stopping.</summary>
    public bool Loop { get; set; }

    /// <summary>For files that do not loop: stop the daemon once the file has been played and its events delivered (demo, tests).</summary>
    public bool ExitAtEnd { get; set; }

    /// <summary>No frame for this long → the pipeline is rebuilt (with back-off) and the systemd watchdog is no longer fed.</summary>
    public double WatchdogSeconds { get; set; } = 5;
}

public sealed class MqttSettings
{
    /// <summary>Broker host; empty = MQTT off (events are still logged and kept in the outbox).</summary>
    public string Host { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 1883;
    public string TopicPrefix { get; set; } = "edgegate";

    /// <summary>Home Assistant MQTT discovery prefix; empty = no discovery messages.</summary>
    public string HomeAssistantPrefix { get; set; } = "homeassistant";

    /// <summary>
    /// Offer Home Assistant a lock entity that can unlock the door. Off by default: HA cannot sign, so anyone who can
    /// publish to <c>&lt;prefix&gt;/&lt;device&gt;/ha/lock/set</c> could then open the door. Turn on only with a broker ACL
    /// that lets nothing but Home Assistant publish there.
    /// </summary>
    public bool HomeAssistantAllowUnlock { get; set; }
    public string? ClientId { get; set; }
    public string? Username { get; set; }
    public string? Password { get; set; }
    public int KeepAliveSeconds { get; set; } = 30;
    public TlsSettings Tls { get; set; } = new();

    /// <summary>Upper bound of the outbox; beyond it the oldest events are dropped (and counted in telemetry).</summary>
    public int OutboxMaxMessages { get; set; } = 10_000;
}

public sealed class TlsSettings
{
    public bool Enabled { get; set; }
    public string? CaFile { get; set; }
    public string? CaPath { get; set; }
    public string? CertFile { get; set; }
    public string? KeyFile { get; set; }
}

public sealed class DoorSettings
{
    /// <summary><c>gpio</c> (Linux GPIO character device) or <c>sim</c> (simulated chip, for the demo and tests).</summary>
    public string Driver { get; set; } = "gpio";
    public string Chip { get; set; } = "gpiochip0";
    public int RelayLine { get; set; } = 17;
    public bool RelayActiveLow { get; set; }
    public int PulseMs { get; set; } = 3000;
    public int? ContactLine { get; set; }
    public bool ContactActiveLow { get; set; }

    /// <summary>True when the contact's active level means "door open" (a reed switch that opens with the door reads the other way).</summary>
    public bool ContactOpenWhenActive { get; set; } = true;
    public int HeldOpenSeconds { get; set; } = 30;
    public int? ExitButtonLine { get; set; }
    public bool ExitButtonActiveLow { get; set; } = true;
    public int ExitButtonDebounceMs { get; set; } = 50;

    /// <summary>For <c>sim</c>: directory where the simulated chip exposes line ownership and levels to other processes.</summary>
    public string? SimulationStateDirectory { get; set; }
}

public sealed class SiteSettings
{
    /// <summary>IANA time zone (e.g. <c>Europe/Berlin</c>) that people's weekly schedules are read in; unset = the system's.</summary>
    public string? TimeZone { get; set; }

    /// <exception cref="TimeZoneNotFoundException">an unknown id.</exception>
    /// <exception cref="InvalidTimeZoneException">tzdata for the id is corrupt.</exception>
    public TimeZoneInfo ResolveTimeZone() =>
        string.IsNullOrWhiteSpace(TimeZone) ? TimeZoneInfo.Local : TimeZoneInfo.FindSystemTimeZoneById(TimeZone.Trim());
}

public sealed class StorageSettings
{
    /// <summary>Directory for gallery.db, events.db and outbox.db. Created if missing.</summary>
    public string Path { get; set; } = "/var/lib/edgegate";

    /// <summary>
    /// Key file the gallery's templates are encrypted with (AES-256-GCM; README "Privacy at rest"). Default
    /// <c>&lt;Path&gt;/template.key</c>; created (0600) when missing and the gallery holds no encrypted template.
    /// </summary>
    public string? TemplateKeyPath { get; set; }

    public string TemplateKeyFile => string.IsNullOrWhiteSpace(TemplateKeyPath) ? System.IO.Path.Combine(Path, "template.key") : TemplateKeyPath;
}

public sealed class AccessSettings
{
    public int UnknownAfterEmbeddings { get; set; } = 3;
    public double DecisionBudgetSeconds { get; set; } = 3;
    public double LowQualityAfterSeconds { get; set; } = 2;
    public double CooldownSeconds { get; set; } = 5;
    public int MaxEmbeddingsPerFrame { get; set; } = 2;
    public float ConfirmBelow { get; set; } = 0.55f;

    public AccessOptions ToOptions() => new()
    {
        UnknownAfterEmbeddings = UnknownAfterEmbeddings,
        DecisionBudget = TimeSpan.FromSeconds(DecisionBudgetSeconds),
        LowQualityAfter = TimeSpan.FromSeconds(LowQualityAfterSeconds),
        Cooldown = TimeSpan.FromSeconds(CooldownSeconds),
        MaxEmbeddingsPerFrame = MaxEmbeddingsPerFrame,
        ConfirmBelow = ConfirmBelow,
    };
}

public sealed class CommandSettings
{
    /// <summary>The HMAC key for commands (hex or base64, ≥ 16 bytes), in a file only its owner can read. Unset = commands off.</summary>
    public string? KeyFile { get; set; }

    /// <summary>Larger command payloads are dropped unread (enrol images are base64 inside the JSON).</summary>
    public int MaxPayloadBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>How far a command's timestamp may be from the device clock, either way.</summary>
    public int MaxSkewSeconds { get; set; } = 60;

    /// <summary>Images per enrol / add_images command.</summary>
    public int MaxImages { get; set; } = 20;

    /// <summary>Refused commands sent as event/security per minute (the rest are only logged), so a flood cannot evict real events.</summary>
    public int SecurityEventsPerMinute { get; set; } = 60;
}

public sealed class RecognitionSettings
{
    /// <summary>ONNX Runtime intra-op threads per model (0 = one per core).</summary>
    public int Threads { get; set; } = 1;

    /// <summary>Where the models and ONNX Runtime are (default: found as the CLI finds them).</summary>
    public string? AssetsPath { get; set; }

    /// <summary>
    /// <c>auto</c> (the fastest verified variant measured in embedder-bench.json; without it fp32-fast when
    /// prepared, else the original), <c>original</c> (old name <c>fp32</c>, still accepted), <c>fp32-fast</c> or <c>int8</c>.
    /// </summary>
    public string EmbedderVariant { get; set; } = EdgeGate.Onnx.EmbedderVariants.Auto;

    /// <summary>ORT graph optimisation level for the embedder (0, 1, 2, 99); unset = the variant's measured default (99).</summary>
    public int? EmbedderGraphOptimizationLevel { get; set; }

    /// <summary>Where `edgegate model prepare` wrote its models (default: EDGEGATE_PREPARED or &lt;assets&gt;/prepared).</summary>
    public string? PreparedPath { get; set; }
}

/// <summary>
/// <c>EdgeGate:Liveness:*</c>. On by default: on the dev data the default policy (passive, then blink or lip movement)
/// rejects both spoof images and every synthetic replay and accepts all 5 live videos within 2 s of the face's track
/// (README "Liveness"). <c>Enabled=false</c> turns it off (events then say "disabled"). Unset keys take
/// <see cref="LivenessPolicy"/>'s defaults.
/// </summary>
public sealed class LivenessSettings
{
    public bool Enabled { get; set; } = true;

    /// <summary>Checks that must all pass: passive, blink, motion, mouth. Default passive.</summary>
    public string[]? Required { get; set; }

    /// <summary>Checks of which one must pass (besides the required ones). Default blink, mouth when Required is not set either, else none; ["none"] = none.</summary>
    public string[]? AnyOf { get; set; }

    public int? BudgetMs { get; set; }
    public double? PassiveThreshold { get; set; }
    public int? PassiveFrames { get; set; }
    public int? PassiveMaxFrames { get; set; }
    public double? BlinkClosedRatio { get; set; }
    public double? BlinkOpenRatio { get; set; }
    public int? BlinkMaxClosedMs { get; set; }
    public int? BlinkMinClosedFrames { get; set; }
    public double? MotionThreshold { get; set; }
    public int? MotionFrames { get; set; }
    public double? MotionFailAfterGlobal { get; set; }
    public double? MouthClosed { get; set; }
    public double? MouthOpen { get; set; }

    /// <summary>The policy, or the problems with the keys (each message names its key).</summary>
    public (LivenessPolicy? Policy, List<string> Errors) ToPolicy(string prefix)
    {
        var errors = new List<string>();
        var d = new LivenessPolicy();
        IReadOnlyList<LivenessCheck> Parse(string[]? names, IReadOnlyList<LivenessCheck> fallback, string key)
        {
            if (names is null) return fallback;
            var list = new List<LivenessCheck>();
            foreach (var n in names)
            {
                if (Enum.TryParse<LivenessCheck>(n, ignoreCase: true, out var c) && Enum.IsDefined(c)) { if (!list.Contains(c)) list.Add(c); }
                else errors.Add($"{prefix}:{key} has unknown check '{n}' (use passive, blink, motion, mouth)");
            }
            return list;
        }
        var required = Parse(Required, d.Required, nameof(Required));
        var policy = d with
        {
            Required = required,
            // A site that lists its required checks gets exactly those unless it lists alternatives too ("none": none).
            AnyOf = AnyOf is null ? (Required is null ? d.AnyOf : []) : AnyOf is ["none"] ? [] : Parse(AnyOf, d.AnyOf, nameof(AnyOf)),
            Budget = BudgetMs is { } b ? TimeSpan.FromMilliseconds(b) : d.Budget,
            PassiveThreshold = PassiveThreshold ?? d.PassiveThreshold,
            PassiveFrames = PassiveFrames ?? d.PassiveFrames,
            PassiveMaxFrames = PassiveMaxFrames ?? Math.Max(d.PassiveMaxFrames, PassiveFrames ?? 0),
            BlinkClosedRatio = BlinkClosedRatio ?? d.BlinkClosedRatio,
            BlinkOpenRatio = BlinkOpenRatio ?? d.BlinkOpenRatio,
            BlinkMinClosedFrames = BlinkMinClosedFrames ?? d.BlinkMinClosedFrames,
            BlinkMaxClosed = BlinkMaxClosedMs is { } m ? TimeSpan.FromMilliseconds(m) : d.BlinkMaxClosed,
            MotionThreshold = MotionThreshold ?? d.MotionThreshold,
            MotionFrames = MotionFrames ?? d.MotionFrames,
            MotionFailAfterGlobal = MotionFailAfterGlobal ?? d.MotionFailAfterGlobal,
            MouthClosed = MouthClosed ?? d.MouthClosed,
            MouthOpen = MouthOpen ?? d.MouthOpen,
        };
        errors.AddRange(policy.Validate(prefix));
        return (errors.Count == 0 ? policy : null, errors);
    }
}

/// <summary>Checks the whole configuration at start; each failure names its key so a technician can fix it.</summary>
public sealed class DaemonOptionsValidator : IValidateOptions<DaemonOptions>
{
    public ValidateOptionsResult Validate(string? name, DaemonOptions o)
    {
        var errors = Check(o).ToList();
        // The adapters validate their own options too (same key names); report each problem once.
        if (!string.IsNullOrEmpty(o.Mqtt.Host) && !string.IsNullOrWhiteSpace(o.DeviceId))
            errors.AddRange(MqttService.ToClientOptions(o, new Topics(o.Mqtt.TopicPrefix, o.DeviceId)).Validate());
        if (o.Door.Driver is "gpio" or "sim") errors.AddRange(DoorService.ToDoorOptions(o, o.Storage.Path).Validate());
        // Report each key once: ours and an adapter's message about the same key say the same thing.
        errors = errors.GroupBy(e => e.Split(' ', 2)[0]).Select(g => g.First()).ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static string? KeyFileError(string path)
    {
        try
        {
            Core.Commands.CommandAuthenticator.LoadKeyFile(path);
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    private static string? TimeZoneError(SiteSettings site)
    {
        try
        {
            site.ResolveTimeZone();
            return null;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return e.Message;
        }
    }

    private static string? TemplateKeyError(string path)
    {
        try
        {
            Core.Commands.SecretKeyFile.Read(path, EdgeGate.Storage.GalleryKey.What, EdgeGate.Storage.GalleryKey.MinKeyBytes);
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    private static string? CameraSourceError(CameraSettings c)
    {
        try
        {
            Core.Capture.CameraSourceSpec.Parse(c.Source, new Core.Capture.CameraSourceOptions { Width = c.Width, Height = c.Height, Fps = c.Fps, RealTime = c.RealTime });
            return null;
        }
        catch (FormatException e)
        {
            return e.Message.StartsWith(Core.Capture.CameraSourceSpec.ConfigKey) ? e.Message : $"{Core.Capture.CameraSourceSpec.ConfigKey}: {e.Message}";
        }
    }

    public static IEnumerable<string> Check(DaemonOptions o)
    {
        const string p = DaemonOptions.Section;
        if (string.IsNullOrWhiteSpace(o.DeviceId) || o.DeviceId.IndexOfAny(['/', '+', '#', ' ']) >= 0)
            yield return $"{p}:DeviceId must be non-empty without '/', '+', '#' or spaces (it is an MQTT topic level), got '{o.DeviceId}'";
        if (string.IsNullOrWhiteSpace(o.Camera.Source)) yield return $"{p}:Camera:Source is required";
        else if (CameraSourceError(o.Camera) is { } sourceError) yield return sourceError;
        if (o.Camera.Width is < 16 or > 8192) yield return $"{p}:Camera:Width must be 16..8192, got {o.Camera.Width}";
        if (o.Camera.Height is < 16 or > 8192) yield return $"{p}:Camera:Height must be 16..8192, got {o.Camera.Height}";
        if (o.Camera.Fps is < 1 or > 240) yield return $"{p}:Camera:Fps must be 1..240, got {o.Camera.Fps}";
        if (o.Camera.WatchdogSeconds is < 0.5 or > 600) yield return $"{p}:Camera:WatchdogSeconds must be 0.5..600, got {o.Camera.WatchdogSeconds}";
        if (!string.IsNullOrEmpty(o.Mqtt.Host))
        {
            if (o.Mqtt.Port is < 1 or > 65535) yield return $"{p}:Mqtt:Port must be 1..65535, got {o.Mqtt.Port}";
            if (string.IsNullOrWhiteSpace(o.Mqtt.TopicPrefix) || o.Mqtt.TopicPrefix.IndexOfAny(['+', '#']) >= 0 || o.Mqtt.TopicPrefix.EndsWith('/'))
                yield return $"{p}:Mqtt:TopicPrefix must be non-empty, without wildcards or a trailing '/', got '{o.Mqtt.TopicPrefix}'";
            if (o.Mqtt.HomeAssistantPrefix.IndexOfAny(['+', '#']) >= 0 || o.Mqtt.HomeAssistantPrefix.EndsWith('/'))
                yield return $"{p}:Mqtt:HomeAssistantPrefix must be empty or a topic without wildcards or a trailing '/', got '{o.Mqtt.HomeAssistantPrefix}'";
            if (o.Mqtt.KeepAliveSeconds is < 5 or > 3600) yield return $"{p}:Mqtt:KeepAliveSeconds must be 5..3600, got {o.Mqtt.KeepAliveSeconds}";
            if (o.Mqtt.Password is not null && string.IsNullOrEmpty(o.Mqtt.Username)) yield return $"{p}:Mqtt:Username is required when a password is set";
            if (o.Mqtt.OutboxMaxMessages is < 100 or > 10_000_000) yield return $"{p}:Mqtt:OutboxMaxMessages must be 100..10000000, got {o.Mqtt.OutboxMaxMessages}";
            var tls = o.Mqtt.Tls;
            if (tls.Enabled)
            {
                if (tls.CaFile is null && tls.CaPath is null) yield return $"{p}:Mqtt:Tls:CaFile (or CaPath) is required when TLS is enabled";
                if (tls.CaFile is not null && !File.Exists(tls.CaFile)) yield return $"{p}:Mqtt:Tls:CaFile '{tls.CaFile}' does not exist";
                if ((tls.CertFile is null) != (tls.KeyFile is null)) yield return $"{p}:Mqtt:Tls:CertFile and {p}:Mqtt:Tls:KeyFile must be given together";
                if (tls.CertFile is not null && !File.Exists(tls.CertFile)) yield return $"{p}:Mqtt:Tls:CertFile '{tls.CertFile}' does not exist";
                if (tls.KeyFile is not null && !File.Exists(tls.KeyFile)) yield return $"{p}:Mqtt:Tls:KeyFile '{tls.KeyFile}' does not exist";
            }
        }
        var d = o.Door;
        if (d.Driver is not ("gpio" or "sim")) yield return $"{p}:Door:Driver must be 'gpio' or 'sim', got '{d.Driver}'";
        if (string.IsNullOrWhiteSpace(d.Chip)) yield return $"{p}:Door:Chip is required";
        if (d.RelayLine < 0) yield return $"{p}:Door:RelayLine must be a line offset ≥ 0, got {d.RelayLine}";
        if (d.PulseMs is < 100 or > 60_000) yield return $"{p}:Door:PulseMs must be 100..60000, got {d.PulseMs}";
        if (d.ContactLine is < 0) yield return $"{p}:Door:ContactLine must be ≥ 0";
        if (d.ExitButtonLine is < 0) yield return $"{p}:Door:ExitButtonLine must be ≥ 0";
        if (d.HeldOpenSeconds is < 1 or > 3600) yield return $"{p}:Door:HeldOpenSeconds must be 1..3600, got {d.HeldOpenSeconds}";
        if (d.ExitButtonDebounceMs is < 0 or > 1000) yield return $"{p}:Door:ExitButtonDebounceMs must be 0..1000, got {d.ExitButtonDebounceMs}";
        var lines = new[] { (int?)d.RelayLine, d.ContactLine, d.ExitButtonLine }.Where(l => l is not null).ToList();
        if (lines.Distinct().Count() != lines.Count) yield return $"{p}:Door:RelayLine, ContactLine and ExitButtonLine must be different lines";
        if (string.IsNullOrWhiteSpace(o.Storage.Path)) yield return $"{p}:Storage:Path is required";
        else if (File.Exists(o.Storage.TemplateKeyFile) && TemplateKeyError(o.Storage.TemplateKeyFile) is { } templateKeyError)
            yield return $"{p}:Storage:TemplateKeyPath: {templateKeyError}";
        foreach (var e in o.Access.ToOptions().Validate($"{p}:Access")) yield return e;
        if (TimeZoneError(o.Site) is { } zoneError) yield return $"{p}:Site:TimeZone must be an IANA time zone id such as Europe/Berlin, got '{o.Site.TimeZone}' ({zoneError})";
        if (o.Liveness.Enabled)
            foreach (var e in o.Liveness.ToPolicy($"{p}:Liveness").Errors) yield return e;
        if (o.Recognition.Threads is < 0 or > 64) yield return $"{p}:Recognition:Threads must be 0..64, got {o.Recognition.Threads}";
        if (!EdgeGate.Onnx.EmbedderVariants.IsValid(o.Recognition.EmbedderVariant))
            yield return $"{p}:Recognition:EmbedderVariant must be one of {string.Join(", ", EdgeGate.Onnx.EmbedderVariants.Accepted)}, got '{o.Recognition.EmbedderVariant}'";
        if (o.Recognition.EmbedderGraphOptimizationLevel is { } level and not (0 or 1 or 2 or 99))
            yield return $"{p}:Recognition:EmbedderGraphOptimizationLevel must be 0, 1, 2 or 99, got {level}";
        if (o.Commands.KeyFile is { Length: > 0 } keyFile && KeyFileError(keyFile) is { } keyError) yield return $"{p}:Commands:KeyFile: {keyError}";
        if (o.Commands.MaxPayloadBytes is < 1024 or > 64 * 1024 * 1024) yield return $"{p}:Commands:MaxPayloadBytes must be 1024..67108864, got {o.Commands.MaxPayloadBytes}";
        if (o.Commands.MaxSkewSeconds is < 1 or > 3600) yield return $"{p}:Commands:MaxSkewSeconds must be 1..3600, got {o.Commands.MaxSkewSeconds}";
        if (o.Commands.SecurityEventsPerMinute is < 1 or > 1_000_000) yield return $"{p}:Commands:SecurityEventsPerMinute must be 1..1000000, got {o.Commands.SecurityEventsPerMinute}";
        if (o.Commands.MaxImages is < 1 or > 200) yield return $"{p}:Commands:MaxImages must be 1..200, got {o.Commands.MaxImages}";
        if (o.TelemetrySeconds is < 0 or > 86_400) yield return $"{p}:TelemetrySeconds must be 0..86400, got {o.TelemetrySeconds}";
    }
}
