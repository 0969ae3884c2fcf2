namespace EdgeGate.Mqtt;

public enum MqttProtocolVersion
{
    V311 = 4,
    V5 = 5,
}

/// <summary>
/// Settings of one <see cref="MosquittoClient"/>, bindable from configuration section <see cref="SectionName"/>.
/// <see cref="Validate"/> checks everything the broker or libmosquitto would otherwise reject later (or silently
/// mishandle), and every message names the configuration key, e.g. <c>EdgeGate:Mqtt:Tls:KeyFile</c>.
/// The client copies the values when it is created; changing the object afterwards has no effect.
/// </summary>
public sealed class MqttClientOptions
{
    public const string SectionName = "EdgeGate:Mqtt";

    public string Host { get; set; } = "localhost";

    /// <summary>1883 for plain MQTT, 8883 by convention for TLS.</summary>
    public int Port { get; set; } = 1883;

    /// <summary>Null or empty: the library picks a random id (only allowed with <see cref="CleanSession"/>).</summary>
    public string? ClientId { get; set; }

    /// <summary>
    /// True: the broker forgets subscriptions and queued messages at every disconnect. False needs a fixed
    /// <see cref="ClientId"/>; the broker then queues QoS 1/2 messages for this client while it is away.
    /// </summary>
    public bool CleanSession { get; set; } = true;

    public int KeepAliveSeconds { get; set; } = 30;

    public string? Username { get; set; }

    public string? Password { get; set; }

    public MqttProtocolVersion ProtocolVersion { get; set; } = MqttProtocolVersion.V311;

    /// <summary>Null: plain TCP.</summary>
    public MqttTlsOptions? Tls { get; set; }

    /// <summary>Published by the broker when the connection drops without a DISCONNECT (crash, power cut, cable).</summary>
    public MqttLastWillOptions? LastWill { get; set; }

    /// <summary>First retry delay after a lost connection; then (n+1)² times this, capped at the maximum.</summary>
    public int ReconnectDelayMinSeconds { get; set; } = 1;

    public int ReconnectDelayMaxSeconds { get; set; } = 30;

    /// <summary>Outgoing QoS 1/2 messages the library keeps in flight at once (MQTT 5: the send maximum).</summary>
    public int MaxInFlight { get; set; } = 20;

    /// <summary>All problems found, each naming its configuration key; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Error(string key, string message) => errors.Add($"{SectionName}:{key} {message}");

        if (string.IsNullOrWhiteSpace(Host))
            Error(nameof(Host), "is required.");
        if (Port is < 1 or > 65535)
            Error(nameof(Port), $"must be between 1 and 65535 (was {Port}).");
        if (!CleanSession && string.IsNullOrEmpty(ClientId))
            Error(nameof(ClientId), $"is required when {SectionName}:{nameof(CleanSession)} is false (the broker keeps the session under that id).");
        if (ClientId is { Length: > 0 } id && System.Text.Encoding.UTF8.GetByteCount(id) > 65535)
            Error(nameof(ClientId), "must be at most 65535 bytes of UTF-8.");
        if (KeepAliveSeconds is < 5 or > 65535)
            Error(nameof(KeepAliveSeconds), $"must be between 5 and 65535 (was {KeepAliveSeconds}).");
        if (!Enum.IsDefined(ProtocolVersion))
            Error(nameof(ProtocolVersion), $"must be V311 or V5 (was {(int)ProtocolVersion}).");
        if (Password is not null && string.IsNullOrEmpty(Username) && ProtocolVersion != MqttProtocolVersion.V5)
            Error(nameof(Username), "is required when a password is set (MQTT 3.1.1 has no password without user name).");
        if (ReconnectDelayMinSeconds < 1)
            Error(nameof(ReconnectDelayMinSeconds), $"must be at least 1 (was {ReconnectDelayMinSeconds}).");
        if (ReconnectDelayMaxSeconds < ReconnectDelayMinSeconds)
            Error(nameof(ReconnectDelayMaxSeconds),
                $"must be at least {SectionName}:{nameof(ReconnectDelayMinSeconds)} ({ReconnectDelayMinSeconds}; was {ReconnectDelayMaxSeconds}).");
        if (MaxInFlight is < 1 or > 65535)
            Error(nameof(MaxInFlight), $"must be between 1 and 65535 (was {MaxInFlight}).");

        if (Tls is { } tls)
            tls.Validate(Error);
        if (LastWill is { } will)
            will.Validate(Error);
        return errors;
    }

    /// <summary>Throws <see cref="MqttOptionsException"/> listing every problem <see cref="Validate"/> finds.</summary>
    public void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
            throw new MqttOptionsException(errors);
    }
}

/// <summary>TLS to the broker. The server certificate is checked against the CA file or directory.</summary>
public sealed class MqttTlsOptions
{
    /// <summary>PEM file with the CA certificate(s) that signed the broker's certificate.</summary>
    public string? CaFile { get; set; }

    /// <summary>Directory of PEM CA certificates (hashed with c_rehash / openssl rehash).</summary>
    public string? CaDirectory { get; set; }

    /// <summary>Client certificate (PEM) for brokers that require one; needs <see cref="KeyFile"/>.</summary>
    public string? CertFile { get; set; }

    /// <summary>Unencrypted private key (PEM) of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// Skips the check that the broker's certificate names <see cref="MqttClientOptions.Host"/>. The chain is
    /// still verified, but anyone holding a certificate from the same CA can impersonate the broker: test benches only.
    /// </summary>
    public bool InsecureSkipHostnameCheck { get; set; }

    internal void Validate(Action<string, string> error)
    {
        if (string.IsNullOrWhiteSpace(CaFile) && string.IsNullOrWhiteSpace(CaDirectory))
            error("Tls:CaFile", "or EdgeGate:Mqtt:Tls:CaDirectory is required when TLS is configured.");
        if (!string.IsNullOrWhiteSpace(CaFile) && !File.Exists(CaFile))
            error("Tls:CaFile", $"'{CaFile}' does not exist.");
        if (!string.IsNullOrWhiteSpace(CaDirectory) && !Directory.Exists(CaDirectory))
            error("Tls:CaDirectory", $"'{CaDirectory}' does not exist.");

        var hasCert = !string.IsNullOrWhiteSpace(CertFile);
        var hasKey = !string.IsNullOrWhiteSpace(KeyFile);
        if (hasCert && !hasKey)
            error("Tls:KeyFile", "is required when EdgeGate:Mqtt:Tls:CertFile is set.");
        if (hasKey && !hasCert)
            error("Tls:CertFile", "is required when EdgeGate:Mqtt:Tls:KeyFile is set.");
        if (hasCert && !File.Exists(CertFile))
            error("Tls:CertFile", $"'{CertFile}' does not exist.");
        if (hasKey && !File.Exists(KeyFile))
            error("Tls:KeyFile", $"'{KeyFile}' does not exist.");
    }
}

/// <summary>Last Will and Testament, e.g. topic <c>edgegate/door1/status</c>, payload <c>offline</c>, retained.</summary>
public sealed class MqttLastWillOptions
{
    public string Topic { get; set; } = "";

    /// <summary>Sent as UTF-8.</summary>
    public string Payload { get; set; } = "";

    public int Qos { get; set; } = 1;

    public bool Retain { get; set; } = true;

    internal void Validate(Action<string, string> error)
    {
        if (string.IsNullOrEmpty(Topic))
            error("LastWill:Topic", "is required when a last will is configured.");
        else if (Topic.AsSpan().IndexOfAny('+', '#') >= 0)
            error("LastWill:Topic", $"must not contain the wildcards + or # (was '{Topic}').");
        if (Qos is < 0 or > 2)
            error("LastWill:Qos", $"must be 0, 1 or 2 (was {Qos}).");
    }
}

/// <summary>The MQTT options are unusable; <see cref="Errors"/> lists each problem with its configuration key.</summary>
public sealed class MqttOptionsException(IReadOnlyList<string> errors)
    : ArgumentException("Invalid MQTT options: " + string.Join(" ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
