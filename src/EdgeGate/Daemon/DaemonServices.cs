using EdgeGate.Camera;
using EdgeGate.Composition;
using EdgeGate.Core.Access;
using EdgeGate.Core.Capture;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Liveness;
using EdgeGate.Core.Ports;
using EdgeGate.Door;
using EdgeGate.Mqtt;
using EdgeGate.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeGate.Daemon;

/// <summary>The composition of <c>edgegate run</c>. Hosted services start in this order and stop in reverse.</summary>
public static class DaemonServices
{
    public static void Add(IServiceCollection services)
    {
        services.AddSingleton<DaemonState>();
        services.AddSingleton<ISystemdNotifier>(sp =>
        {
            var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("systemd");
            return SystemdNotifier.FromEnvironment(m => log.LogWarning("{Message}", m));
        });
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<DaemonOptions>>().Value;
            return new Topics(o.Mqtt.TopicPrefix, o.DeviceId);
        });
        services.AddSingleton<DaemonStores>();
        services.AddSingleton(sp => new EventRecorder(
            sp.GetRequiredService<IOptions<DaemonOptions>>().Value.DeviceId,
            sp.GetRequiredService<Topics>(),
            sp.GetRequiredService<DaemonStores>().EventLog,
            sp.GetRequiredService<DaemonStores>().Outbox,
            sp.GetRequiredService<DaemonState>(),
            sp.GetRequiredService<ILogger<EventRecorder>>()));
        services.AddSingleton<DoorService>();
        services.AddSingleton<MqttService>();
        services.AddSingleton<FrameFeed>();
        services.AddSingleton<CameraEnrolment>();
        // Door first: nothing may decide to open before the relay is held (inactive) by us.
        services.AddHostedService(sp => sp.GetRequiredService<DoorService>());
        services.AddHostedService(sp => sp.GetRequiredService<MqttService>());
        services.AddHostedService<CommandService>();
        services.AddHostedService<RecognitionService>();
        services.AddHostedService<CameraService>();
        services.AddHostedService<HealthService>();
    }
}

/// <summary>The state directory's databases: gallery, audit log, outbox. Opened on first use, after options validated.</summary>
public sealed class DaemonStores(IOptions<DaemonOptions> options) : IDisposable
{
    private readonly string _dir = options.Value.Storage.Path;
    private SqliteEventLog? _log;
    private SqliteOutbox? _outbox;

    public string GalleryPath => Path.Combine(_dir, "gallery.db");

    /// <summary>The template key both gallery connections (recognition, commands) open the gallery with.</summary>
    public GalleryKey GalleryKey { get; } = GalleryKey.File(options.Value.Storage.TemplateKeyFile);
    public SqliteEventLog EventLog => _log ??= SqliteEventLog.Open(Path.Combine(_dir, "events.db"));
    public IOutbox Outbox => _outbox ??= SqliteOutbox.Open(Path.Combine(_dir, "outbox.db"), options.Value.Mqtt.OutboxMaxMessages);

    public void Dispose()
    {
        _outbox?.Dispose();
        _log?.Dispose();
    }
}

/// <summary>Frames from the camera stage to the recognition stage (the supervisor's one-slot channel).</summary>
public sealed class FrameFeed
{
    private readonly TaskCompletionSource<CameraSupervisor> _supervisor = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public void Attach(CameraSupervisor supervisor) => _supervisor.TrySetResult(supervisor);
    public Task<CameraSupervisor> Supervisor => _supervisor.Task;
}

/// <summary>
/// Owns the door controller. Fail-secure: the relay line is requested inactive when the service starts and is driven
/// inactive and released when it stops (the kernel releases it if the process dies).
/// </summary>
public sealed class DoorService(
    IOptions<DaemonOptions> options,
    DaemonState state,
    EventRecorder recorder,
    ILoggerFactory loggers) : IHostedService, IDoorActuator, IDisposable
{
    private readonly ILogger _log = loggers.CreateLogger<DoorService>();
    private DoorController? _door;

    public DoorController? Controller => _door;

    public static DoorOptions ToDoorOptions(DaemonOptions o, string storagePath) => new()
    {
        Simulated = o.Door.Driver == "sim",
        Chip = o.Door.Chip,
        SimulationStateDirectory = o.Door.Driver == "sim" ? o.Door.SimulationStateDirectory ?? Path.Combine(storagePath, "sim-gpio") : null,
        Consumer = "edgegate",
        RelayLine = o.Door.RelayLine,
        RelayActiveLow = o.Door.RelayActiveLow,
        PulseLength = TimeSpan.FromMilliseconds(o.Door.PulseMs),
        ContactLine = o.Door.ContactLine,
        ContactActiveLow = o.Door.ContactActiveLow,
        ContactOpenWhenActive = o.Door.ContactOpenWhenActive,
        HeldOpenLimit = TimeSpan.FromSeconds(o.Door.HeldOpenSeconds),
        ExitButtonLine = o.Door.ExitButtonLine,
        ExitButtonActiveLow = o.Door.ExitButtonActiveLow,
        ExitButtonDebounce = TimeSpan.FromMilliseconds(o.Door.ExitButtonDebounceMs),
    };

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var doorOptions = ToDoorOptions(o, o.Storage.Path);
        _door = DoorController.Create(doorOptions, loggerFactory: loggers);
        _door.DoorEventRaised += (_, e) =>
        {
            try { recorder.Record(e); }
            catch (Exception ex) { _log.LogError(ex, "recording door event {Kind} failed", e.Kind); }
        };
        state.DoorReady = true;
        _log.LogInformation("door: {Driver} chip {Chip}, relay line {Line}{ActiveLow}, pulse {Pulse} ms{Sim}",
            o.Door.Driver, doorOptions.Chip, o.Door.RelayLine, o.Door.RelayActiveLow ? " (active-low)" : "", o.Door.PulseMs,
            doorOptions.SimulationStateDirectory is { } dir ? $", simulated state in {dir}" : "");
        return Task.CompletedTask;
    }

    public long Open(string cause) =>
        (_door ?? throw new InvalidOperationException("the door is not started")).Open(cause);

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        var door = Interlocked.Exchange(ref _door, null);
        if (door is null) return;
        state.DoorReady = false;
        door.Dispose(); // drives the relay inactive, then releases the line
    }
}

/// <summary>
/// The broker connection: retained <c>online</c> on every connect, Last Will <c>offline</c>, and the outbox publisher that
/// delivers events at least once. The daemon runs without a broker too: events wait in the outbox.
/// </summary>
public sealed class MqttService(
    IOptions<DaemonOptions> options,
    DaemonStores stores,
    EventRecorder recorder,
    DaemonState state,
    Topics topics,
    DoorService door,
    ILoggerFactory loggers) : IHostedService, IDisposable
{
    private static readonly byte[] Online = "online"u8.ToArray();
    private static readonly byte[] Offline = "offline"u8.ToArray();
    private readonly ILogger _log = loggers.CreateLogger<MqttService>();
    private MosquittoClient? _client;
    private OutboxPublisher? _publisher;

    public bool Enabled => !string.IsNullOrEmpty(options.Value.Mqtt.Host);
    public long OutboxPending => stores.Outbox.Count;
    public long OutboxEvicted => stores.Outbox.Evicted;
    public MosquittoClient? Client => _client;

    public static MqttClientOptions ToClientOptions(DaemonOptions o, Topics topics) => new()
    {
        Host = o.Mqtt.Host,
        Port = o.Mqtt.Port,
        // A fixed id per device: the broker replaces a stale session of a crashed process instead of keeping two.
        ClientId = o.Mqtt.ClientId ?? $"edgegate-{o.DeviceId}",
        KeepAliveSeconds = o.Mqtt.KeepAliveSeconds,
        Username = o.Mqtt.Username,
        Password = o.Mqtt.Password,
        Tls = o.Mqtt.Tls.Enabled
            ? new MqttTlsOptions { CaFile = o.Mqtt.Tls.CaFile, CaDirectory = o.Mqtt.Tls.CaPath, CertFile = o.Mqtt.Tls.CertFile, KeyFile = o.Mqtt.Tls.KeyFile }
            : null,
        // MQTT 5 for the command replies' response topic and correlation data.
        ProtocolVersion = MqttProtocolVersion.V5,
        LastWill = new MqttLastWillOptions { Topic = topics.Status, Payload = "offline", Qos = 1, Retain = true },
    };

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var outbox = stores.Outbox; // open now: events recorded before the broker is reachable must have somewhere to go
        if (!Enabled)
        {
            _log.LogWarning("MQTT is off ({Key} is empty): events are logged and kept in the outbox", "EdgeGate:Mqtt:Host");
            return Task.CompletedTask;
        }
        var o = options.Value;
        _client = new MosquittoClient(ToClientOptions(o, topics), loggers.CreateLogger<MosquittoClient>());
        _client.Connected += (_, _) =>
        {
            state.MqttConnected = true;
            _log.LogInformation("MQTT connected to {Host}:{Port}", o.Mqtt.Host, o.Mqtt.Port);
            try { _client.Publish(topics.Status, Online, qos: 1, retain: true); }
            catch (Exception e) { _log.LogWarning("publishing online status failed: {Error}", e.Message); }
            if (!string.IsNullOrEmpty(o.Mqtt.HomeAssistantPrefix))
            {
                // Retained and re-sent on every connect, so a restarted Home Assistant or broker finds the entities.
                var version = typeof(MqttService).Assembly.GetName().Version?.ToString() ?? "0";
                foreach (var c in HomeAssistantDiscovery.Build(o.Mqtt.HomeAssistantPrefix, topics, o.DeviceId, version, o.Door.ContactLine is not null,
                             o.Mqtt.HomeAssistantAllowUnlock))
                {
                    try { _client.Publish(c.Topic, c.Payload, qos: 1, retain: true); }
                    catch (Exception e) { _log.LogWarning("Home Assistant discovery on {Topic} failed: {Error}", c.Topic, e.Message); }
                }
            }
        };
        _client.Disconnected += (_, e) =>
        {
            state.MqttConnected = false;
            _log.LogWarning("MQTT disconnected ({Reason}); events wait in the outbox ({Pending} pending)", e.Reason, outbox.Count);
        };
        if (o.Mqtt.HomeAssistantAllowUnlock && !string.IsNullOrEmpty(o.Mqtt.HomeAssistantPrefix))
        {
            _log.LogWarning("Home Assistant may unlock the door with UNSIGNED messages on {Topic}: restrict who can publish there (broker ACL)",
                topics.HomeAssistantLockCommand);
            _client.Subscribe(topics.HomeAssistantLockCommand, qos: 1);
            _client.MessageReceived += (_, m) =>
            {
                if (m.Topic != topics.HomeAssistantLockCommand) return;
                var payload = System.Text.Encoding.UTF8.GetString(m.Payload);
                // Off the loop thread: opening the door records events, which touch SQLite.
                ThreadPool.QueueUserWorkItem(_ => HomeAssistantLock(payload));
            };
        }
        _publisher = new OutboxPublisher(outbox, _client, loggers.CreateLogger<OutboxPublisher>());
        recorder.Wake = _publisher.Wake;
        _publisher.Start();
        _client.Start();
        return Task.CompletedTask;
    }

    private void HomeAssistantLock(string payload)
    {
        try
        {
            switch (payload)
            {
                case "UNLOCK":
                    door.Open("home_assistant");
                    recorder.RecordRemoteUnlock("Home Assistant", "home_assistant");
                    break;
                case "LOCK":
                    door.Controller?.Relock();
                    break;
                default:
                    _log.LogWarning("ignored Home Assistant lock command '{Payload}' (expected UNLOCK or LOCK)", payload.Length > 40 ? payload[..40] : payload);
                    break;
            }
        }
        catch (Exception e)
        {
            _log.LogError("Home Assistant {Payload} failed: {Error}", payload, e.Message);
        }
    }

    /// <summary>Telemetry is a snapshot, not an event: QoS 0, only while connected, never queued.</summary>
    public void PublishTelemetry(byte[] json)
    {
        if (_client is not { IsConnected: true } client) return;
        try { client.Publish(topics.Telemetry, json, qos: 0); }
        catch (MosquittoException e) { _log.LogDebug("telemetry not sent: {Error}", e.Message); }
    }

    /// <summary>Waits until the outbox is empty (every event PUBACKed) or the timeout passes.</summary>
    public async Task<bool> DrainAsync(TimeSpan timeout, CancellationToken ct)
    {
        if (!Enabled) return stores.Outbox.Count == 0;
        var deadline = DateTime.UtcNow + timeout;
        while (stores.Outbox.Count > 0 && DateTime.UtcNow < deadline && !ct.IsCancellationRequested)
        {
            _publisher?.Wake();
            await Task.Delay(50, CancellationToken.None);
        }
        return stores.Outbox.Count == 0;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_client is { IsConnected: true } client)
        {
            try
            {
                // A clean stop says offline itself (the will is only sent for an unclean disconnect); wait for its
                // PUBACK so the DISCONNECT cannot overtake it.
                // The PUBACK can arrive before Publish returns its id, so remember every id acknowledged meanwhile.
                var acks = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
                void OnAck(object? sender, MqttPublishAcknowledgedEventArgs e) => acks[e.MessageId] = true;
                client.PublishAcknowledged += OnAck;
                try
                {
                    var mid = client.Publish(topics.Status, Offline, qos: 1, retain: true);
                    var deadline = DateTime.UtcNow.AddSeconds(2);
                    while (!acks.ContainsKey(mid) && DateTime.UtcNow < deadline) await Task.Delay(10, CancellationToken.None);
                }
                finally
                {
                    client.PublishAcknowledged -= OnAck;
                }
            }
            catch (Exception e) { _log.LogWarning("publishing offline status failed: {Error}", e.Message); }
        }
        if (_publisher is not null) await _publisher.StopAsync();
        Dispose();
    }

    public void Dispose()
    {
        recorder.Wake = null;
        _publisher?.Dispose();
        _publisher = null;
        _client?.Dispose();
        _client = null;
    }
}

/// <summary>The capture stage: a supervised GStreamer pipeline whose newest frame waits in a one-slot channel.</summary>
public sealed class CameraService(
    IOptions<DaemonOptions> options,
    FrameFeed feed,
    DaemonState state,
    ILogger<CameraService> logger) : BackgroundService, ICameraObserver
{
    private CameraSupervisor? _supervisor;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value.Camera;
        var spec = CameraSourceSpec.Parse(o.Source, new CameraSourceOptions { Width = o.Width, Height = o.Height, Fps = o.Fps, RealTime = o.RealTime });
        logger.LogInformation("camera: {Description}", spec.Description);
        state.CameraDescription = spec.Description;
        _supervisor = new CameraSupervisor(GstFrameSource.Factory(spec), new CameraSupervisorOptions
        {
            WatchdogTimeout = TimeSpan.FromSeconds(o.WatchdogSeconds),
            Delivery = spec.Delivery,
            AtEndOfFile = o.Loop ? EndOfFileAction.Loop : EndOfFileAction.Stop,
        }, this);
        feed.Attach(_supervisor);
        _supervisor.Start();
        try { await Task.Delay(Timeout.Infinite, stoppingToken); }
        catch (OperationCanceledException) { }
        await _supervisor.StopAsync();
    }

    public void OnStatus(CameraStatus status)
    {
        state.CameraState = status.State.ToString().ToLowerInvariant();
        switch (status.State)
        {
            case CameraState.Failed or CameraState.Stalled:
                state.CameraError = status.Error;
                logger.LogWarning("camera {State}: {Error}", status.State.ToString().ToLowerInvariant(), status.Error);
                break;
            case CameraState.Restarting:
                Interlocked.Increment(ref state.CameraRestarts);
                logger.LogWarning("camera: rebuilding the pipeline in {Delay:0.#} s (attempt {Attempt})", status.Delay.TotalSeconds, status.Attempt);
                break;
            case CameraState.Streaming:
                state.CameraError = null;
                logger.LogInformation("camera streaming");
                break;
            case CameraState.EndOfStream:
                logger.LogInformation("camera: end of file");
                break;
        }
    }

    public override void Dispose()
    {
        _supervisor?.Dispose();
        base.Dispose();
    }
}

/// <summary>
/// The decision stage on its own thread: models loaded once, then detect → track → liveness → embed → match → door
/// for each frame the camera hands over. Stale frames were already dropped by the camera stage.
/// </summary>
public sealed class RecognitionService(
    IOptions<DaemonOptions> options,
    FrameFeed feed,
    DoorService door,
    MqttService mqtt,
    EventRecorder recorder,
    DaemonStores stores,
    DaemonState state,
    IHostApplicationLifetime lifetime,
    CameraEnrolment cameraEnrolment,
    ILogger<RecognitionService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    /// <summary>The configured liveness stage: <see cref="DisabledLiveness"/> unless EdgeGate:Liveness:Enabled.</summary>
    private ILivenessStage CreateLiveness(DaemonOptions o, FaceStack stack)
    {
        if (!o.Liveness.Enabled) return DisabledLiveness.Instance;
        var (policy, errors) = o.Liveness.ToPolicy($"{DaemonOptions.Section}:Liveness");
        if (policy is null) throw new InvalidOperationException(string.Join("; ", errors)); // the validator already refused these
        logger.LogInformation("liveness: required {Required}, any of {AnyOf}, budget {Budget} ms, passive ≥ {Passive}",
            string.Join('+', policy.Required), policy.AnyOf.Count == 0 ? "-" : string.Join('|', policy.AnyOf), policy.Budget.TotalMilliseconds, policy.PassiveThreshold);
        return new LivenessStage(policy, stack.Liveness);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var o = options.Value;
        FaceStack stack;
        SqliteGalleryStore gallery;
        try
        {
            stack = FaceStack.Create(new FaceStackOptions
            {
                AssetsRoot = o.Recognition.AssetsPath,
                IntraOpThreads = o.Recognition.Threads,
                EmbedderVariant = o.Recognition.EmbedderVariant,
                EmbedderGraphOptimizationLevel = o.Recognition.EmbedderGraphOptimizationLevel,
                PreparedDirectory = o.Recognition.PreparedPath,
                LoadLivenessModel = o.Liveness.Enabled,
            });
            gallery = SqliteGalleryStore.Open(stores.GalleryPath, stores.GalleryKey);
        }
        catch (InvalidDataException e) when (e.Message.Contains(GalleryKey.What, StringComparison.Ordinal))
        {
            // A missing or wrong template key: restarting cannot help, and a new key must never be made up here
            // (the templates would be lost), so the daemon stops with the configuration exit code.
            state.FatalError = $"cannot open the gallery: {e.Message}";
            state.FatalIsConfiguration = true;
            logger.LogCritical("{Error}", state.FatalError);
            lifetime.StopApplication();
            return;
        }
        catch (Exception e)
        {
            state.FatalError = $"cannot load the face models or the gallery: {e.Message}";
            logger.LogCritical("{Error}", state.FatalError);
            lifetime.StopApplication();
            return;
        }
        using var _ = stack;
        using var __ = gallery;
        if (gallery.KeyCreated) logger.LogWarning("gallery: created a new template key {Key} (0600); back it up: without it the gallery cannot be read", stores.GalleryKey.Path);
        if (gallery.EncryptedInPlace > 0) logger.LogInformation("gallery: encrypted {Count} plaintext templates in place", gallery.EncryptedInPlace);
        logger.LogInformation("schedules are read in time zone {Zone}", o.Site.ResolveTimeZone().Id);
        stack.Engine.WarmUp();
        stack.Matcher.Load(gallery.LoadTemplates(stack.Engine.ModelId));
        state.GallerySize = stack.Matcher.PersonCount;
        var stale = gallery.CountTemplatesNotFrom(stack.Engine.ModelId);
        logger.LogInformation("gallery {Path}: {People} people, {Templates} templates{Stale}; model {Model} (embedder {Variant}, {Reason}), ONNX Runtime {Ort}",
            stores.GalleryPath, stack.Matcher.PersonCount, stack.Matcher.TemplateCount,
            stale > 0 ? $" ({stale} from another model: re-enrol)" : "", stack.Engine.ModelId, stack.Embedder.Variant, stack.Embedder.Reason, stack.OrtVersion);
        logger.LogInformation("thresholds: τ_identify {Identify}, margin {Margin}, τ_verify {Verify}, P(same) σ({A}·s + {B}) ({Source})",
            stack.Matcher.Options.IdentifyThreshold, stack.Matcher.Options.IdentifyMargin, stack.Matcher.Options.VerifyThreshold,
            stack.Matcher.Calibration.A, stack.Matcher.Calibration.B,
            stack.Embedder.Thresholds is null ? "the original's operating point" : $"re-derived for {stack.Embedder.Variant}, its model card");
        using var pipeline = new AccessPipeline(stack.Engine, stack.Matcher, new GalleryDirectory(gallery), door,
            CreateLiveness(o, stack), o.Access.ToOptions() with { TimeZone = o.Site.ResolveTimeZone() });
        state.ModelsReady = true;

        var galleryStamp = gallery.ChangeStamp;
        var nextGalleryCheck = Environment.TickCount64 + 2000;
        var supervisor = await feed.Supervisor.WaitAsync(ct);
        var frames = supervisor.Frames;
        try
        {
            while (await frames.WaitToReadAsync(ct))
            {
                while (frames.TryRead(out var frame))
                {
                    using (frame)
                    {
                        // A rebuilt pipeline (or a looped file) starts its stream clock again: the tracks of the old
                        // stream end here, or their budgets would be measured against the wrong clock.
                        if (frame.Sequence == 0)
                            foreach (var d in pipeline.Flush()) recorder.Record(d);
                        IReadOnlyList<AccessDecision> decisions;
                        try
                        {
                            decisions = pipeline.Process(frame);
                        }
                        catch (Exception e)
                        {
                            // One bad frame must not stop the door; a model that always throws shows in the log and telemetry.
                            logger.LogError(e, "frame {Sequence} failed in the pipeline", frame.Sequence);
                            continue;
                        }
                        state.FrameProcessed(pipeline.LastFrame.Faces, pipeline.LastFrame.ProcessingMs);
                        foreach (var d in decisions) recorder.Record(d);
                        if (cameraEnrolment.Wanted)
                        {
                            try { cameraEnrolment.Offer(frame.Image, stack.Engine); }
                            catch (Exception e) { logger.LogError(e, "frame {Sequence} could not be analysed for enrol_from_camera", frame.Sequence); }
                        }
                    }
                    if (Environment.TickCount64 >= nextGalleryCheck)
                    {
                        // People enrolled or removed by another process (the CLI) count from the next frame on.
                        nextGalleryCheck = Environment.TickCount64 + 2000;
                        if (gallery.ChangeStamp is var stamp && stamp != galleryStamp)
                        {
                            galleryStamp = stamp;
                            ReloadGallery(stack, gallery);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        foreach (var d in pipeline.Flush()) recorder.Record(d);
        if (!ct.IsCancellationRequested && o.Camera.ExitAtEnd)
        {
            // A played file is finished: let a running pulse end as it would at a real door (its release is an event
            // too), let the events reach the broker, then stop the daemon.
            var pulseEnd = DateTime.UtcNow + TimeSpan.FromMilliseconds(o.Door.PulseMs + 1000);
            while (door.Controller is { IsRelayEnergised: true } && DateTime.UtcNow < pulseEnd) await Task.Delay(50, CancellationToken.None);
            var drained = await mqtt.DrainAsync(TimeSpan.FromSeconds(10), ct);
            logger.LogInformation("end of input: {Frames} frames, {Decisions} decisions; outbox {State}",
                state.Frames, state.Decisions, drained ? "delivered" : $"still holds {mqtt.OutboxPending}");
            lifetime.StopApplication();
        }
    }

    private void ReloadGallery(FaceStack stack, SqliteGalleryStore gallery)
    {
        try
        {
            stack.Matcher.Load(gallery.LoadTemplates(stack.Engine.ModelId));
            state.GallerySize = stack.Matcher.PersonCount;
            logger.LogInformation("gallery changed: {People} people, {Templates} templates", stack.Matcher.PersonCount, stack.Matcher.TemplateCount);
        }
        catch (Exception e)
        {
            // The matcher keeps its previous index: a failed reload must not blind the door.
            logger.LogError(e, "gallery reload failed; still matching against the previous {People} people", stack.Matcher.PersonCount);
        }
    }

    private sealed class GalleryDirectory(IGalleryStore store) : IPersonDirectory
    {
        public Person? Find(string personId) => store.GetPerson(personId);
    }
}
