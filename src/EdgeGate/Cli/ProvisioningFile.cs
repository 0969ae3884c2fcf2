using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeGate.Core.Commands;

namespace EdgeGate.Cli;

/// <summary>
/// A device's provisioning file (edgegate-provision.json), as a technician writes it: snake_case keys, comments allowed.
/// Parsing collects every problem (each naming its key) instead of stopping at the first, so one look at the
/// *.invalid.txt file is enough to fix it. TLS material is inline PEM or a file path relative to the provisioning file.
/// </summary>
public sealed record ProvisioningFile
{
    public const int Format = 1;

    public required string DeviceId { get; init; }
    public required string BrokerHost { get; init; }
    public required int BrokerPort { get; init; }
    public required bool BrokerTls { get; init; }
    public string? TopicPrefix { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>PEM text of the CA bundle; null with TLS = the system's CA directory.</summary>
    public string? CaPem { get; init; }
    public string? CertPem { get; init; }
    public string? KeyPem { get; init; }

    /// <summary>The command key text exactly as given (hex or base64), written to the key file.</summary>
    public string? CommandKey { get; init; }

    public required string DoorDriver { get; init; }
    public required string DoorChip { get; init; }
    public required int RelayLine { get; init; }
    public bool RelayActiveLow { get; init; }
    public int? PulseMs { get; init; }
    public int? ContactLine { get; init; }
    public bool? ContactActiveLow { get; init; }
    public int? ExitButtonLine { get; init; }
    public bool? ExitButtonActiveLow { get; init; }

    public required string CameraSource { get; init; }
    public int? CameraWidth { get; init; }
    public int? CameraHeight { get; init; }
    public int? CameraFps { get; init; }

    /// <summary>Files the provisioning file named (TLS material beside it): removed with it once applied.</summary>
    public IReadOnlyList<string> ReferencedFiles { get; init; } = [];

    private static readonly JsonDocumentOptions JsonOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static readonly Dictionary<string, string[]> Known = new()
    {
        [""] = ["format", "device_id", "broker", "tls", "command_key", "door", "camera"],
        ["broker"] = ["url", "username", "password", "topic_prefix"],
        ["tls"] = ["ca", "cert", "key"],
        ["door"] = ["driver", "chip", "relay_line", "relay_active_low", "pulse_ms", "contact_line", "contact_active_low", "exit_button_line", "exit_button_active_low"],
        ["camera"] = ["preset", "width", "height", "fps"],
    };

    /// <summary>The file's settings, or every problem found (never both).</summary>
    public static (ProvisioningFile? File, List<string> Errors) Parse(string text, string baseDirectory)
    {
        var errors = new List<string>();
        JsonNode? root;
        try { root = JsonNode.Parse(text, documentOptions: JsonOptions); }
        catch (JsonException e) { return (null, [$"not valid JSON: {e.Message}"]); }
        if (root is not JsonObject top) return (null, ["the file must hold one JSON object"]);

        CheckKeys(top, "", errors);
        var format = Int(top, "format", errors);
        if (format is not null && format != Format) errors.Add($"format: only format {Format} is understood, got {format}");

        var deviceId = Str(top, "device_id", errors, required: true);
        if (deviceId is not null && (deviceId.Length > 64 || deviceId.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
            errors.Add($"device_id must be 1-64 of [A-Za-z0-9-_.] (it is an MQTT topic level), got '{deviceId}'");

        var broker = Obj(top, "broker", errors, required: true);
        string? host = null; int port = 0; var tlsOn = false;
        if (broker is not null)
        {
            CheckKeys(broker, "broker", errors);
            if (Str(broker, "url", errors, required: true, path: "broker.url") is { } url)
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "mqtts") || uri.Host.Length == 0
                    || uri.AbsolutePath is not ("" or "/") || uri.UserInfo.Length > 0)
                    errors.Add($"broker.url must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (credentials go in broker.username/password), got '{url}'");
                else
                {
                    host = uri.Host;
                    tlsOn = uri.Scheme == "mqtts";
                    port = uri.IsDefaultPort || uri.Port < 0 ? (tlsOn ? 8883 : 1883) : uri.Port;
                }
            }
        }
        var username = broker is null ? null : Str(broker, "username", errors, path: "broker.username");
        var password = broker is null ? null : Str(broker, "password", errors, path: "broker.password");
        if (password is not null && username is null) errors.Add("broker.password needs broker.username");
        var topicPrefix = broker is null ? null : Str(broker, "topic_prefix", errors, path: "broker.topic_prefix");

        var referenced = new List<string>();
        string? ca = null, cert = null, key = null;
        if (Obj(top, "tls", errors) is { } tls)
        {
            CheckKeys(tls, "tls", errors);
            ca = Pem(tls, "ca", "CERTIFICATE", baseDirectory, referenced, errors);
            cert = Pem(tls, "cert", "CERTIFICATE", baseDirectory, referenced, errors);
            key = Pem(tls, "key", "PRIVATE KEY", baseDirectory, referenced, errors);
            if ((cert is null) != (key is null) && !errors.Any(e => e.StartsWith("tls.cert") || e.StartsWith("tls.key")))
                errors.Add("tls.cert and tls.key must be given together (the client certificate and its key)");
            if (!tlsOn && broker is not null && host is not null)
                errors.Add("tls is given but broker.url is mqtt://: use mqtts:// for a TLS broker");
        }

        var commandKey = Str(top, "command_key", errors);
        if (commandKey is not null && CommandAuthenticator.ParseKey(commandKey) is null)
            errors.Add("command_key must be at least 16 bytes as hex or base64 (e.g. head -c 32 /dev/urandom | xxd -p -c 64)");

        var door = Obj(top, "door", errors, required: true);
        string driver = "gpio", chip = "gpiochip0"; int relay = -1;
        int? pulse = null, contact = null, exitButton = null; bool activeLow = false; bool? contactLow = null, exitLow = null;
        if (door is not null)
        {
            CheckKeys(door, "door", errors);
            driver = Str(door, "driver", errors, path: "door.driver") ?? driver;
            if (driver is not ("gpio" or "sim")) errors.Add($"door.driver must be 'gpio' or 'sim', got '{driver}'");
            chip = Str(door, "chip", errors, path: "door.chip") ?? chip;
            relay = Int(door, "relay_line", errors, required: true, path: "door.relay_line") ?? -1;
            activeLow = Bool(door, "relay_active_low", errors, "door.relay_active_low") ?? false;
            pulse = Int(door, "pulse_ms", errors, path: "door.pulse_ms");
            contact = Int(door, "contact_line", errors, path: "door.contact_line");
            contactLow = Bool(door, "contact_active_low", errors, "door.contact_active_low");
            exitButton = Int(door, "exit_button_line", errors, path: "door.exit_button_line");
            exitLow = Bool(door, "exit_button_active_low", errors, "door.exit_button_active_low");
        }

        var camera = Obj(top, "camera", errors, required: true);
        string? source = null; int? width = null, height = null, fps = null;
        if (camera is not null)
        {
            CheckKeys(camera, "camera", errors);
            source = Str(camera, "preset", errors, required: true, path: "camera.preset");
            width = Int(camera, "width", errors, path: "camera.width");
            height = Int(camera, "height", errors, path: "camera.height");
            fps = Int(camera, "fps", errors, path: "camera.fps");
        }

        if (errors.Count > 0) return (null, errors);
        return (new ProvisioningFile
        {
            DeviceId = deviceId!, BrokerHost = host!, BrokerPort = port, BrokerTls = tlsOn, TopicPrefix = topicPrefix,
            Username = username, Password = password, CaPem = ca, CertPem = cert, KeyPem = key, CommandKey = commandKey?.Trim(),
            DoorDriver = driver, DoorChip = chip, RelayLine = relay, RelayActiveLow = activeLow, PulseMs = pulse,
            ContactLine = contact, ContactActiveLow = contactLow, ExitButtonLine = exitButton, ExitButtonActiveLow = exitLow,
            CameraSource = source!, CameraWidth = width, CameraHeight = height, CameraFps = fps, ReferencedFiles = referenced,
        }, errors);
    }

    private static void CheckKeys(JsonObject o, string section, List<string> errors)
    {
        // A misspelt key would otherwise be ignored silently and its default used, e.g. the wrong relay line.
        foreach (var (name, _) in o)
            if (!Known[section].Contains(name))
                errors.Add($"{(section.Length == 0 ? "" : section + ".")}{name} is not a known key (known: {string.Join(", ", Known[section])})");
    }

    private static JsonObject? Obj(JsonObject o, string name, List<string> errors, bool required = false)
    {
        if (!o.TryGetPropertyValue(name, out var v) || v is null)
        {
            if (required) errors.Add($"{name} is required");
            return null;
        }
        if (v is JsonObject obj) return obj;
        errors.Add($"{name} must be an object");
        return null;
    }

    private static string? Str(JsonObject o, string name, List<string> errors, bool required = false, string? path = null)
    {
        path ??= name;
        if (!o.TryGetPropertyValue(name, out var v) || v is null)
        {
            if (required) errors.Add($"{path} is required");
            return null;
        }
        if (v is JsonValue jv && jv.TryGetValue<string>(out var s))
        {
            if (!string.IsNullOrWhiteSpace(s)) return s;
            errors.Add($"{path} must not be empty");
            return null;
        }
        errors.Add($"{path} must be a string");
        return null;
    }

    private static int? Int(JsonObject o, string name, List<string> errors, bool required = false, string? path = null)
    {
        path ??= name;
        if (!o.TryGetPropertyValue(name, out var v) || v is null)
        {
            if (required) errors.Add($"{path} is required");
            return null;
        }
        if (v is JsonValue jv && jv.TryGetValue<int>(out var i)) return i;
        errors.Add($"{path} must be a whole number, got {v.ToJsonString()}");
        return null;
    }

    private static bool? Bool(JsonObject o, string name, List<string> errors, string path)
    {
        if (!o.TryGetPropertyValue(name, out var v) || v is null) return null;
        if (v is JsonValue jv && jv.TryGetValue<bool>(out var b)) return b;
        errors.Add($"{path} must be true or false, got {v.ToJsonString()}");
        return null;
    }

    private static string? Pem(JsonObject tls, string name, string kind, string baseDirectory, List<string> referenced, List<string> errors)
    {
        var path = $"tls.{name}";
        if (Str(tls, name, errors, path: path) is not { } value) return null;
        string text;
        if (value.TrimStart().StartsWith("-----BEGIN", StringComparison.Ordinal)) text = value;
        else
        {
            var file = Path.GetFullPath(Path.Combine(baseDirectory, value));
            if (!File.Exists(file))
            {
                errors.Add($"{path}: file '{file}' does not exist (give a path relative to the provisioning file, or inline PEM)");
                return null;
            }
            text = File.ReadAllText(file);
            referenced.Add(file);
        }
        // "PRIVATE KEY" also matches "RSA PRIVATE KEY" and "EC PRIVATE KEY".
        if (!text.Contains("-----BEGIN ", StringComparison.Ordinal) || !text.Contains($"{kind}-----", StringComparison.Ordinal))
        {
            errors.Add($"{path} is not PEM holding a {kind} (-----BEGIN ...{kind}-----)");
            return null;
        }
        return text;
    }
}
