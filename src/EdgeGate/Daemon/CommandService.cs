using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using EdgeGate.Cli;
using EdgeGate.Cli.SelfTest;
using EdgeGate.Composition;
using EdgeGate.Core.Commands;
using EdgeGate.Core.Diagnostics;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Ports;
using EdgeGate.Mqtt;
using EdgeGate.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeGate.Daemon;

/// <summary>
/// Signed administration commands over MQTT (<c>&lt;prefix&gt;/&lt;device&gt;/cmd/&lt;verb&gt;</c>, README "Commands").
/// The MQTT loop thread only queues a copy of each message (bounded; a full queue drops with a logged reason); one
/// worker thread parses, authenticates, executes and replies, one command at a time.
/// <para>
/// Face work uses the service's own <see cref="FaceStack"/> (created on the first command that carries images): the
/// recognition thread's engine is not thread-safe, and marshalling enrolments onto that thread would stall the door
/// for as long as an enrolment takes. The cost is a second copy of the models in memory (only once someone enrols).
/// Gallery writes go through a separate SQLite connection; the recognition service sees them by the change stamp.
/// </para>
/// </summary>
public sealed class CommandService(
    IOptions<DaemonOptions> options,
    MqttService mqtt,
    DoorService door,
    EventRecorder recorder,
    DaemonStores stores,
    DaemonState state,
    Topics topics,
    CameraEnrolment camera,
    ILogger<CommandService> logger) : BackgroundService
{
    private const int QueueCapacity = 64;
    private static readonly string[] Verbs = ["enrol", "add_images", "delete", "get", "list", "update", "unlock", "relock", "selftest", "enrol_from_camera"];
    private readonly Channel<MqttMessageReceivedEventArgs> _queue = Channel.CreateBounded<MqttMessageReceivedEventArgs>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private CommandAuthenticator? _auth;
    private FaceStack? _stack;
    private SqliteGalleryStore? _gallery;
    private long _handled;
    private readonly EventBudget _securityBudget = new(options.Value.Commands.SecurityEventsPerMinute, TimeSpan.FromMinutes(1));

    public long Handled => Interlocked.Read(ref _handled);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (o.Commands.KeyFile is not { Length: > 0 } keyFile)
        {
            logger.LogWarning("commands are off ({Key} is not set)", "EdgeGate:Commands:KeyFile");
            return Task.CompletedTask;
        }
        if (mqtt.Client is not { } client)
        {
            logger.LogWarning("commands are off: MQTT is off");
            return Task.CompletedTask;
        }
        _auth = new CommandAuthenticator(CommandAuthenticator.LoadKeyFile(keyFile), o.DeviceId,
            new CommandAuthOptions { MaxSkew = TimeSpan.FromSeconds(o.Commands.MaxSkewSeconds) });
        _gallery = SqliteGalleryStore.Open(stores.GalleryPath, stores.GalleryKey);
        client.MessageReceived += OnMessage;
        client.Subscribe(topics.CommandFilter, qos: 1);
        logger.LogInformation("commands: listening on {Filter} (HMAC-SHA256, ±{Skew} s)", topics.CommandFilter, o.Commands.MaxSkewSeconds);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>On the MQTT loop thread: copy and queue, nothing else.</summary>
    private void OnMessage(object? sender, MqttMessageReceivedEventArgs e)
    {
        if (!e.Topic.StartsWith(topics.Base + "/cmd/", StringComparison.Ordinal)) return;
        if (!_queue.Writer.TryWrite(e))
            logger.LogWarning("command dropped: queue full ({Capacity}) [topic {Topic}, {Bytes} bytes]", QueueCapacity, e.Topic, e.Payload.Length);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_auth is null) return Task.CompletedTask;
        return Task.Factory.StartNew(async () =>
        {
            try
            {
                await foreach (var message in _queue.Reader.ReadAllAsync(stoppingToken))
                {
                    try { Handle(message); }
                    catch (Exception e) { logger.LogError(e, "command dropped (internal): failed unexpectedly [topic {Topic}, {Bytes} bytes]", message.Topic, message.Payload.Length); }
                    Interlocked.Increment(ref _handled);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        }, stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    private void Handle(MqttMessageReceivedEventArgs m)
    {
        var topicVerb = m.Topic[(topics.Base.Length + "/cmd/".Length)..];
        RawCommand raw;
        try
        {
            raw = CommandProtocol.Parse(topicVerb, m.Payload, options.Value.Commands.MaxPayloadBytes);
        }
        catch (CommandException e)
        {
            if (e.RequestId is { } rid)
            {
                logger.LogInformation("command {Verb} refused ({Code}): {Message} [request {RequestId}]", topicVerb, e.Code, e.Message, rid);
                Reply(rid, null, CommandProtocol.ErrorReply(rid, e));
            }
            else logger.LogWarning("command dropped ({Code}): {Message} [topic {Topic}, {Bytes} bytes]", e.Code, e.Message, m.Topic, m.Payload.Length);
            return;
        }
        var requestId = raw.RequestId!;
        try
        {
            _auth!.Authenticate(raw);
        }
        catch (CommandException e)
        {
            if (CommandErrors.IsSecurity(e.Code)) RecordSecurity(e.Code, topicVerb, requestId, e.Message);
            else logger.LogWarning("command {Verb} refused ({Code}): {Message} [request {RequestId}]", topicVerb, e.Code, e.Message, requestId);
            Reply(requestId, null, CommandProtocol.ErrorReply(requestId, e));
            return;
        }
        // Authentic: the MQTT 5 response topic is honoured only now (an unauthenticated sender must not make the door
        // publish wherever it likes).
        var responseTopic = m.ResponseTopic is { Length: > 0 } rt && rt.IndexOfAny(['+', '#']) < 0 ? m.ResponseTopic : null;
        byte[] reply;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = Execute(topicVerb, new CommandArgs(raw.Args), requestId);
            reply = CommandProtocol.OkReply(requestId, result);
            logger.LogInformation("command {Verb} ok in {Ms:F0} ms [request {RequestId}]", topicVerb, Stopwatch.GetElapsedTime(started).TotalMilliseconds, requestId);
        }
        catch (CommandException e)
        {
            reply = CommandProtocol.ErrorReply(requestId, e);
            logger.LogInformation("command {Verb} failed ({Code}): {Message} [request {RequestId}]", topicVerb, e.Code, e.Message, requestId);
        }
        catch (Exception e)
        {
            logger.LogError(e, "command {Verb} failed [request {RequestId}]", topicVerb, requestId);
            reply = CommandProtocol.ErrorReply(requestId, new CommandException(CommandErrors.Internal, $"internal error: {e.GetType().Name}"));
        }
        Reply(requestId, responseTopic is null ? null : (responseTopic, m.CorrelationData), reply);
    }

    /// <summary>
    /// At most <c>Commands:SecurityEventsPerMinute</c> refusals a minute become events: anyone who can publish to the
    /// broker could otherwise flood the bounded outbox and audit log with them and push real access events out.
    /// Beyond the budget each refusal is still logged, and the next event says how many were not sent.
    /// </summary>
    private void RecordSecurity(string code, string verb, string requestId, string message)
    {
        if (!_securityBudget.TryTake(out var suppressed))
        {
            logger.LogWarning("security: command {Verb} refused ({Code}): {Message} [request {RequestId}] (no event: over {Budget}/min)",
                verb, code, message, requestId, options.Value.Commands.SecurityEventsPerMinute);
            return;
        }
        recorder.RecordSecurity(code, verb, requestId, suppressed > 0 ? $"{message} ({suppressed} earlier refusals not sent as events)" : message);
    }

    private void Reply(string requestId, (string Topic, byte[]? Correlation)? response, byte[] payload)
    {
        if (mqtt.Client is not { } client) return;
        if (!client.IsConnected)
        {
            // libmosquitto would queue it without bound; a reply is only useful now (the sender times out and retries).
            logger.LogWarning("reply to request {RequestId} not sent: the broker is not connected", requestId);
            return;
        }
        try
        {
            client.Publish(topics.Reply(requestId), payload, qos: 1);
            if (response is { } r)
                client.Publish(r.Topic, payload, qos: 1, properties: new MqttPublishProperties(CorrelationData: r.Correlation));
        }
        catch (Exception e) when (e is MosquittoException or ArgumentException or InvalidOperationException)
        {
            logger.LogWarning("reply to request {RequestId} not sent: {Error}", requestId, e.Message);
        }
    }

    private JsonObject Execute(string verb, CommandArgs args, string requestId) => verb switch
    {
        "enrol" => Enrol(args, adding: false),
        "add_images" => Enrol(args, adding: true),
        "delete" => Delete(args),
        "get" => Get(args),
        "list" => List(args),
        "update" => Update(args),
        "unlock" => Unlock(args, requestId),
        "relock" => Relock(),
        "selftest" => SelfTest(),
        "enrol_from_camera" => EnrolFromCamera(args, requestId),
        _ => throw new CommandException(CommandErrors.UnknownVerb, $"unknown verb '{verb}'; known: {string.Join(", ", Verbs)}"),
    };

    private SqliteGalleryStore Gallery => _gallery ?? throw new CommandException(CommandErrors.Unavailable, "the gallery is not open");

    private FaceStack Stack()
    {
        if (_stack is not null) return _stack;
        var o = options.Value;
        try
        {
            _stack = FaceStack.Create(new FaceStackOptions { AssetsRoot = o.Recognition.AssetsPath, IntraOpThreads = o.Recognition.Threads });
            return _stack;
        }
        catch (Exception e)
        {
            throw new CommandException(CommandErrors.Unavailable, $"cannot load the face models: {e.Message}");
        }
    }

    private static string PersonId(CommandArgs args) => args.RequiredString("id", SqliteGalleryStore.MaxPersonIdLength);

    /// <summary>
    /// All or nothing: every image must give exactly one good face, and no face may already belong to someone else
    /// (unless <c>force</c>), before one template is written.
    /// </summary>
    private JsonObject Enrol(CommandArgs args, bool adding)
    {
        var id = PersonId(args);
        var existing = Gallery.GetPerson(id);
        string name;
        if (adding)
        {
            if (existing is null) throw new CommandException(CommandErrors.NotFound, $"no person with id '{id}'");
            name = existing.Name;
        }
        else
        {
            name = args.RequiredString("name", SqliteGalleryStore.MaxNameLength);
            if (existing is not null) throw new CommandException(CommandErrors.AlreadyExists, $"'{id}' is already enrolled; use add_images or update");
        }
        var images = args.RequiredStringArray("images", options.Value.Commands.MaxImages);
        var force = args.OptionalBool("force") ?? false;
        var enabled = args.OptionalBool("enabled") ?? true;
        var (_, validFrom) = args.OptionalTime("valid_from");
        var (_, validUntil) = args.OptionalTime("valid_until");
        var (_, schedule) = args.OptionalSchedule("schedule");
        if (validFrom is { } f && validUntil is { } u && u <= f) throw new CommandException(CommandErrors.BadField, "'valid_until' must be later than 'valid_from'");

        var stack = Stack();
        var templates = new List<NewTemplate>();
        var problems = new JsonArray();
        for (var i = 0; i < images.Count; i++)
        {
            var bytes = CommandArgs.DecodeBase64(images[i]);
            if (bytes is null)
            {
                problems.Add(Problem(i, CommandErrors.BadBase64, "not base64"));
                continue;
            }
            try
            {
                using var frame = stack.Decoder.Decode(bytes);
                var r = stack.Engine.AnalyzeSingle(frame);
                if (r.Ok) templates.Add(new NewTemplate(stack.Engine.ModelId, r.Embedding!, r.QualityScore));
                else problems.Add(Problem(i, Codes.Of(r.Rejection!.Value), r.Detail ?? ""));
            }
            catch (ImageDecodeException e)
            {
                problems.Add(Problem(i, Codes.Of(e.Error), e.Message));
            }
        }
        if (problems.Count > 0)
            throw new CommandException((string)problems[0]!["code"]!, $"{problems.Count} of {images.Count} images unusable; nothing was enrolled", problems);

        if (!force)
        {
            // Is any of these faces someone else's? Checked at τ_verify (a 1:1 "same person" question per candidate).
            stack.Matcher.Load(Gallery.LoadTemplates(stack.Engine.ModelId));
            for (var i = 0; i < templates.Count; i++)
            {
                var hit = stack.Matcher.Identify(templates[i].Embedding);
                foreach (var c in new[] { hit.Best, hit.Runner })
                    if (c is not null && c.PersonId != id && c.Similarity >= stack.Matcher.Options.VerifyThreshold)
                        throw new CommandException(CommandErrors.AlreadyEnrolledAs,
                            $"image {i} matches '{c.PersonId}' (similarity {c.Similarity:F3}); set force to enrol anyway",
                            new JsonArray(Problem(i, CommandErrors.AlreadyEnrolledAs, c.PersonId)),
                            new JsonObject { ["person_id"] = c.PersonId, ["similarity"] = Math.Round(c.Similarity, 3) });
            }
        }

        return WriteEnrolment(adding
            ? new PersonEnrolment(id, name, existing!.Enabled, existing.ValidFrom, existing.ValidUntil, existing.Schedule)
            : new PersonEnrolment(id, name, enabled, validFrom, validUntil, schedule), templates);
    }

    public const int MaxCameraFrames = 20;
    public const int MaxCameraTimeoutSeconds = 60;

    /// <summary>
    /// The next <c>frames</c> good frames of the single person in front of the camera (README "Commands"): frames with no
    /// face, several faces or a face the quality gate refuses are skipped and reported in progress events; nothing is
    /// written unless all of them arrive within <c>timeout_s</c>. Then the same checks and the same all-or-nothing
    /// write as <c>enrol</c>.
    /// </summary>
    private JsonObject EnrolFromCamera(CommandArgs args, string requestId)
    {
        var id = PersonId(args);
        var name = args.RequiredString("name", SqliteGalleryStore.MaxNameLength);
        var needed = args.OptionalInt("frames", 5, 1, MaxCameraFrames);
        var timeoutSeconds = args.OptionalInt("timeout_s", 15, 1, MaxCameraTimeoutSeconds);
        var force = args.OptionalBool("force") ?? false;
        var enabled = args.OptionalBool("enabled") ?? true;
        var (_, validFrom) = args.OptionalTime("valid_from");
        var (_, validUntil) = args.OptionalTime("valid_until");
        var (_, schedule) = args.OptionalSchedule("schedule");
        if (validFrom is { } f && validUntil is { } u && u <= f) throw new CommandException(CommandErrors.BadField, "'valid_until' must be later than 'valid_from'");
        if (Gallery.GetPerson(id) is not null) throw new CommandException(CommandErrors.AlreadyExists, $"'{id}' is already enrolled; use add_images or update");
        if (!state.ModelsReady || state.CameraState != "streaming")
            throw new CommandException(CommandErrors.Unavailable, $"the camera is not streaming (camera {state.CameraState}, models {(state.ModelsReady ? "loaded" : "loading")})");
        var session = camera.Begin(needed) ?? throw new CommandException(CommandErrors.Busy, "another enrol_from_camera is collecting frames");
        var templates = new List<NewTemplate>();
        var ignored = new Dictionary<string, int>(StringComparer.Ordinal);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
            long lastNote = 0;
            Progress(requestId, id, 0, needed, ignored, note: "looking for one face");
            while (templates.Count < needed)
            {
                CameraEnrolment.FrameResult r;
                try { r = session.Results.ReadAsync(cts.Token).AsTask().GetAwaiter().GetResult(); }
                catch (OperationCanceledException) { break; }
                if (r.Template is { } t)
                {
                    templates.Add(t);
                    Progress(requestId, id, templates.Count, needed, ignored, note: null);
                    continue;
                }
                var code = r.Rejection is { } rejection ? Codes.Of(rejection) : "unusable";
                ignored[code] = ignored.GetValueOrDefault(code) + 1;
                // A frame without a usable face comes 15–30 times a second: say why at most once a second.
                if (Stopwatch.GetElapsedTime(lastNote).TotalSeconds >= 1)
                {
                    lastNote = Stopwatch.GetTimestamp();
                    Progress(requestId, id, templates.Count, needed, ignored,
                        note: code == CommandErrors.MultipleFaces ? "several faces: only one person may be in view" : $"{code}: {r.Detail}");
                }
            }
        }
        finally
        {
            camera.End(session);
        }
        if (templates.Count < needed)
            throw new CommandException(CommandErrors.Timeout,
                $"collected {templates.Count} of {needed} good frames in {timeoutSeconds} s; nothing was enrolled",
                extra: new JsonObject { ["collected"] = templates.Count, ["needed"] = needed, ["ignored"] = IgnoredJson(ignored) });

        if (!force)
        {
            var stack = Stack();
            stack.Matcher.Load(Gallery.LoadTemplates(templates[0].ModelId));
            for (var i = 0; i < templates.Count; i++)
            {
                var hit = stack.Matcher.Identify(templates[i].Embedding);
                foreach (var c in new[] { hit.Best, hit.Runner })
                    if (c is not null && c.PersonId != id && c.Similarity >= stack.Matcher.Options.VerifyThreshold)
                        throw new CommandException(CommandErrors.AlreadyEnrolledAs,
                            $"frame {i} matches '{c.PersonId}' (similarity {c.Similarity:F3}); set force to enrol anyway",
                            extra: new JsonObject { ["person_id"] = c.PersonId, ["similarity"] = Math.Round(c.Similarity, 3) });
            }
        }
        var result = WriteEnrolment(new PersonEnrolment(id, name, enabled, validFrom, validUntil, schedule), templates);
        result["seconds"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 2);
        result["ignored"] = IgnoredJson(ignored);
        return result;
    }

    /// <summary>Writes a person and their templates in one transaction (all or nothing) and answers as enrol does.</summary>
    private JsonObject WriteEnrolment(PersonEnrolment person, IReadOnlyList<NewTemplate> templates)
    {
        EnrolOutcome outcome;
        try
        {
            outcome = Gallery.Enrol(person, templates);
        }
        catch (ArgumentException e)
        {
            throw new CommandException(CommandErrors.BadField, e.Message);
        }
        return new JsonObject
        {
            ["id"] = outcome.Person.Id,
            ["name"] = outcome.Person.Name,
            ["created"] = outcome.Created,
            ["templates_added"] = outcome.TemplateIds.Count,
            ["templates_total"] = Gallery.GetTemplates(person.Id).Count,
            ["model_id"] = templates[0].ModelId,
        };
    }

    private static JsonObject IgnoredJson(Dictionary<string, int> ignored)
    {
        var o = new JsonObject();
        foreach (var (code, n) in ignored.OrderBy(k => k.Key, StringComparer.Ordinal)) o[code] = n;
        return o;
    }

    /// <summary>
    /// <c>event/enrol_progress</c> (QoS 0, not kept in the outbox: only useful while someone waits for the reply).
    /// Not on the reply topic: a client takes the first message there as the answer.
    /// </summary>
    private void Progress(string requestId, string personId, int collected, int needed, Dictionary<string, int> ignored, string? note)
    {
        if (mqtt.Client is not { IsConnected: true } client) return;
        var payload = new JsonObject
        {
            ["request_id"] = requestId, ["id"] = personId, ["collected"] = collected, ["needed"] = needed,
            ["ignored"] = IgnoredJson(ignored), ["note"] = note,
        };
        try { client.Publish(topics.EnrolProgress, System.Text.Encoding.UTF8.GetBytes(payload.ToJsonString()), qos: 0); }
        catch (Exception e) when (e is MosquittoException or ArgumentException or InvalidOperationException)
        {
            logger.LogWarning("enrol progress for request {RequestId} not sent: {Error}", requestId, e.Message);
        }
    }

    private static JsonObject Problem(int index, string code, string message) =>
        new() { ["image"] = index, ["code"] = code, ["message"] = message };

    private JsonObject Delete(CommandArgs args)
    {
        var id = PersonId(args);
        if (!Gallery.Delete(id)) throw new CommandException(CommandErrors.NotFound, $"no person with id '{id}'");
        return new JsonObject { ["id"] = id, ["deleted"] = true };
    }

    private JsonObject Get(CommandArgs args)
    {
        var id = PersonId(args);
        var p = Gallery.GetPerson(id) ?? throw new CommandException(CommandErrors.NotFound, $"no person with id '{id}'");
        return PersonJson(p, Gallery.GetTemplates(id).Count);
    }

    private static JsonObject PersonJson(Person p, int templates) => new()
    {
        ["id"] = p.Id,
        ["name"] = p.Name,
        ["enabled"] = p.Enabled,
        ["valid_from"] = p.ValidFrom?.UtcDateTime.ToString("O"),
        ["valid_until"] = p.ValidUntil?.UtcDateTime.ToString("O"),
        ["created_at"] = p.CreatedAt.UtcDateTime.ToString("O"),
        ["updated_at"] = p.UpdatedAt.UtcDateTime.ToString("O"),
        ["schedule"] = p.Schedule is null ? null : JsonNode.Parse(p.Schedule.ToJson()),
        ["templates"] = templates,
    };

    private JsonObject List(CommandArgs args)
    {
        var offset = args.OptionalInt("offset", 0, 0, int.MaxValue);
        var limit = args.OptionalInt("limit", 50, 1, 500);
        var all = Gallery.ListPersons();
        var page = new JsonArray();
        foreach (var p in all.Skip(offset).Take(limit)) page.Add(PersonJson(p, Gallery.GetTemplates(p.Id).Count));
        return new JsonObject { ["total"] = all.Count, ["offset"] = offset, ["limit"] = limit, ["persons"] = page };
    }

    private JsonObject Update(CommandArgs args)
    {
        var id = PersonId(args);
        var name = args.OptionalString("name", SqliteGalleryStore.MaxNameLength);
        var enabled = args.OptionalBool("enabled");
        var from = args.OptionalTime("valid_from");
        var until = args.OptionalTime("valid_until");
        var schedule = args.OptionalSchedule("schedule");
        if (name is null && enabled is null && !from.Present && !until.Present && !schedule.Present)
            throw new CommandException(CommandErrors.MissingField, "nothing to update: give name, enabled, valid_from, valid_until or schedule");
        Person? updated;
        try
        {
            updated = Gallery.Update(id, p => p with
            {
                Name = name ?? p.Name,
                Enabled = enabled ?? p.Enabled,
                ValidFrom = from.Present ? from.Value : p.ValidFrom,
                ValidUntil = until.Present ? until.Value : p.ValidUntil,
                Schedule = schedule.Present ? schedule.Value : p.Schedule,
            });
        }
        catch (ArgumentException e)
        {
            throw new CommandException(CommandErrors.BadField, e.Message);
        }
        if (updated is null) throw new CommandException(CommandErrors.NotFound, $"no person with id '{id}'");
        return PersonJson(updated, Gallery.GetTemplates(id).Count);
    }

    private JsonObject Unlock(CommandArgs args, string requestId)
    {
        var reason = args.RequiredString("reason", 200);
        try
        {
            door.Open($"remote: {reason}");
        }
        catch (InvalidOperationException e)
        {
            throw new CommandException("door_fault", $"the door could not be opened: {e.Message}");
        }
        recorder.RecordRemoteUnlock(reason, requestId);
        return new JsonObject { ["unlocked"] = true, ["pulse_ms"] = options.Value.Door.PulseMs, ["reason"] = reason };
    }

    private JsonObject Relock()
    {
        var controller = door.Controller ?? throw new CommandException("door_fault", "the door is not running");
        try { controller.Relock(); }
        catch (InvalidOperationException e) { throw new CommandException("door_fault", e.Message); }
        return new JsonObject { ["relocked"] = true };
    }

    /// <summary>
    /// The same checks as <c>edgegate selftest</c> where they cannot disturb the door (clock, disk, storage, model
    /// checksums), and the daemon's own view of what it holds: the camera and the GPIO lines are the daemon's, so they
    /// are reported from its state instead of being opened a second time.
    /// </summary>
    private JsonObject SelfTest()
    {
        var controller = door.Controller;
        using var context = new SelfTestContext { Options = options.Value };
        var report = SelfTestRunner.Run(
        [
            new ClockCheck(),
            new DiskCheck(),
            new StorageCheck(),
            new ModelChecksumCheck(),
            new DelegateCheck("inference", true, () => state.ModelsReady
                ? CheckOutcome.Pass("models loaded and warmed up by the recognition service")
                : CheckOutcome.Fail(state.FatalError ?? "the models are not loaded yet")),
            new DelegateCheck("camera", true, () => state.CameraState == "streaming"
                ? CheckOutcome.Pass($"streaming {state.CameraDescription}; {state.Frames} frames processed, last {state.SinceLastFrame?.TotalMilliseconds ?? double.NaN:0} ms ago")
                : CheckOutcome.Fail($"{state.CameraState}{(state.CameraError is { } e ? $": {e}" : "")} ({state.CameraDescription})")),
            new DelegateCheck("gpio", true, () => controller is null || !state.DoorReady
                ? CheckOutcome.Fail("the door controller is not running")
                : controller.Fault is { } fault
                    ? CheckOutcome.Fail($"faulted, the door is held locked: {fault.Message}")
                    : CheckOutcome.Pass($"held by the daemon on {controller.Chip}: relay {(controller.IsRelayEnergised ? "energised" : "released")}, door {(controller.IsDoorOpen is { } open ? open ? "open" : "closed" : "without contact")}")),
            new DelegateCheck("broker", true, () => state.MqttConnected
                ? CheckOutcome.Pass($"connected; outbox {mqtt.OutboxPending} pending")
                : CheckOutcome.Fail($"not connected; outbox {mqtt.OutboxPending} pending")),
        ], context);
        var result = new JsonObject
        {
            ["models_loaded"] = state.ModelsReady,
            ["camera"] = state.CameraState,
            ["camera_error"] = state.CameraError,
            ["door_ready"] = state.DoorReady && controller is not null,
            ["relay_energised"] = controller?.IsRelayEnergised,
            ["door_open"] = controller?.IsDoorOpen,
            ["broker_connected"] = state.MqttConnected,
            ["gallery_people"] = Gallery.ListPersons().Count,
            ["outbox_pending"] = mqtt.OutboxPending,
            ["uptime_s"] = Math.Round(state.Uptime.TotalSeconds, 1),
        };
        result["ok"] = report.Ok;
        result["checks"] = report.ToJson()["checks"]!.DeepClone();
        return result;
    }

    public override void Dispose()
    {
        base.Dispose();
        if (mqtt.Client is { } client) client.MessageReceived -= OnMessage;
        _stack?.Dispose();
        _gallery?.Dispose();
    }
}
