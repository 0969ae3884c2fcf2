using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using EdgeGate.Core.Commands;
using EdgeGate.Integration.Tests.Daemon;
using EdgeGate.Integration.Tests.Mqtt;
using EdgeGate.Mqtt;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Commands;

/// <summary>
/// One broker and one daemon (test camera, simulated door, commands on) shared by the command tests, plus an MQTT 5
/// client that publishes raw payloads and collects every reply.
/// </summary>
public sealed class CommandDaemon : IDisposable
{
    public const string Device = "cmd-e2e";
    public const int PulseMs = 400;
    public static readonly byte[] Key = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
    private readonly object _startGate = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("edgegate-cmd-").FullName;
    private MosquittoBroker? _broker;
    private DaemonProcess? _daemon;
    private MosquittoClient? _client;
    private readonly ConcurrentDictionary<string, JsonObject> _replies = new();
    private readonly ConcurrentQueue<MqttMessageReceivedEventArgs> _messages = new();
    private int _replyCount;

    public string Base => $"edgegate/{Device}";

    /// <summary>The daemon's camera (default the test pattern, which has no face); files loop.</summary>
    public string CameraSource { get; init; } = "testsrc";
    public DaemonProcess Daemon => _daemon!;
    public IReadOnlyCollection<MqttMessageReceivedEventArgs> Messages => _messages;
    public int ReplyCount => Volatile.Read(ref _replyCount);
    public string KeyFile => Path.Combine(_dir, "command.key");
    public MosquittoBroker Broker => _broker!;

    public void EnsureStarted(ITestOutputHelper output)
    {
        lock (_startGate)
        {
            if (_daemon is not null) return;
            File.WriteAllText(KeyFile, Convert.ToHexString(Key));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(KeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            _broker = MosquittoBroker.Start();
            _client = new MosquittoClient(new MqttClientOptions
            {
                Host = _broker.Host, Port = _broker.Port, ClientId = "cmd-e2e-tester", ProtocolVersion = MqttProtocolVersion.V5,
                ReconnectDelayMinSeconds = 1, ReconnectDelayMaxSeconds = 1,
            });
            var subscribed = new ConcurrentBag<string>();
            _client.Subscribed += (_, e) => subscribed.Add(e.Filter);
            _client.MessageReceived += (_, e) =>
            {
                _messages.Enqueue(e);
                if (e.Topic.StartsWith($"{Base}/reply/", StringComparison.Ordinal) || e.Topic.StartsWith("tester/", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _replyCount);
                    try
                    {
                        var reply = JsonNode.Parse(e.Payload)!.AsObject();
                        var key = e.Topic.StartsWith("tester/", StringComparison.Ordinal) ? "rt:" + (string?)reply["request_id"] : (string?)reply["request_id"] ?? "";
                        _replies[key] = reply;
                    }
                    catch (Exception) { _replies["unparseable:" + Guid.NewGuid()] = new JsonObject(); }
                }
            };
            _client.Start();
            Wait.Until(() => _client.IsConnected, "the tester to connect");
            foreach (var f in new[] { $"{Base}/reply/#", $"{Base}/event/#", "tester/#" }) _client.Subscribe(f, 1);
            Wait.Until(() => subscribed.Count >= 3, "the tester's subscriptions");

            StartDaemon(output);
        }
    }

    /// <summary>Starts the daemon on this fixture's broker and state directory and waits until it answers a signed selftest.</summary>
    public void StartDaemon(ITestOutputHelper output)
    {
        _daemon?.Dispose();
        _daemon = DaemonProcess.Start(output,
        [
            $"DeviceId={Device}", $"Storage:Path={_dir}", $"Camera:Source={CameraSource}", "Camera:Loop=true", "Door:Driver=sim", "Door:RelayLine=17",
            $"Door:PulseMs={PulseMs}", "Mqtt:Host=127.0.0.1", $"Mqtt:Port={_broker!.Port}", "TelemetrySeconds=0",
            $"Commands:KeyFile={KeyFile}", "Commands:MaxPayloadBytes=4000000",
            // The fuzz run provokes a thousand refusals; the security test must still see its events.
            "Commands:SecurityEventsPerMinute=100000",
        ]);
        // Ready when a signed selftest is answered (the daemon subscribes once connected).
        Wait.Until(() =>
        {
            var id = "ready-" + Guid.NewGuid().ToString("N")[..8];
            Publish("selftest", Sign(id, "selftest", new JsonObject()));
            var deadline = DateTime.UtcNow.AddSeconds(2);
            while (DateTime.UtcNow < deadline) { if (_replies.ContainsKey(id)) return true; Thread.Sleep(50); }
            return false;
        }, "the daemon to answer a selftest", TimeSpan.FromSeconds(90));
    }

    /// <summary>Waits until the daemon's models are loaded and its camera streams (commands are served before that).</summary>
    public void WaitUntilRecognising() => Wait.Until(() =>
    {
        var r = Call("selftest", new JsonObject())["result"];
        return (bool?)r?["models_loaded"] == true && (string?)r?["camera"] == "streaming";
    }, "the daemon's models and camera", TimeSpan.FromSeconds(90));

    /// <summary>The daemon's state directory (gallery.db, template.key, events.db, outbox.db).</summary>
    public string StateDirectory => _dir;

    public byte[] Sign(string requestId, string verb, JsonObject args, long? ts = null, string? nonce = null, byte[]? key = null, string device = Device) =>
        CommandProtocol.Sign(key ?? Key, requestId, verb, device, ts ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds(), nonce ?? CommandProtocol.NewNonce(), args);

    public void Publish(string verb, byte[] payload, MqttPublishProperties? properties = null) =>
        _client!.Publish($"{Base}/cmd/{verb}", payload, qos: 1, properties: properties);

    public JsonObject WaitReply(string requestId, TimeSpan? timeout = null)
    {
        JsonObject? reply = null;
        Wait.Until(() => _replies.TryGetValue(requestId, out reply), $"the reply to {requestId}", timeout ?? TimeSpan.FromSeconds(60));
        return reply!;
    }

    public bool HasReply(string requestId) => _replies.ContainsKey(requestId);

    /// <summary>Signs, sends and waits: the reply.</summary>
    public JsonObject Call(string verb, JsonObject args, TimeSpan? timeout = null)
    {
        var id = $"{verb}-{Guid.NewGuid():N}";
        Publish(verb, Sign(id, verb, args));
        return WaitReply(id, timeout);
    }

    public static string B64(string path) => Convert.ToBase64String(File.ReadAllBytes(path));

    /// <summary>A flat grey PNG: decodes fine, has no face.</summary>
    public static byte[] GreyPng(int size = 200)
    {
        static void Chunk(Stream s, string type, byte[] data)
        {
            var len = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
            s.Write(len);
            var body = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            s.Write(body);
            var crc = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(body));
            s.Write(crc);
        }
        var ihdr = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr, size);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), size);
        ihdr[8] = 8; // bit depth; colour type 0 (grey)
        var raw = new MemoryStream();
        for (var y = 0; y < size; y++) { raw.WriteByte(0); raw.Write(Enumerable.Repeat((byte)128, size).ToArray()); }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) zs.Write(raw.ToArray());
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", z.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    public void Dispose()
    {
        _daemon?.Dispose();
        _client?.Dispose();
        _broker?.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
