using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using EdgeGate.Mqtt.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeGate.Mqtt;

/// <summary>
/// One MQTT connection over libmosquitto, with one network thread doing I/O, callbacks and reconnects.
/// </summary>
/// <remarks>
/// <para>
/// Life cycle: construct (options are validated, nothing connects yet), attach event handlers, <see cref="Start"/>,
/// <see cref="Dispose"/>. <see cref="Start"/> succeeds while the broker is down: the network thread keeps retrying with
/// the configured back-off (1 s, 4 s, 9 s ... capped at the maximum) and <see cref="Connected"/> fires once it gets in.
/// </para>
/// <para>
/// Threading: <see cref="Publish"/>, <see cref="Subscribe"/> and <see cref="Unsubscribe"/> may be called from any thread.
/// Every event is raised on the network thread, one at a time: handlers must be quick (hand work to another thread)
/// and must not call <see cref="Dispose"/>. A handler that throws is logged and ignored, and the other handlers still run.
/// While a handler runs no network traffic of this client is processed.
/// </para>
/// <para>
/// Subscriptions are remembered and sent again after every reconnect unless the broker reports that it kept the
/// session (<see cref="MqttConnectedEventArgs.SessionPresent"/>), so callers subscribe once.
/// </para>
/// <para>
/// QoS 1/2 messages handed to <see cref="Publish"/> stay in libmosquitto's memory until acknowledged and are resent
/// after a reconnect; that queue has no bound and dies with the process, so anything that must not be lost goes
/// through an outbox (see <see cref="OutboxPublisher"/>) and only while <see cref="IsConnected"/>.
/// </para>
/// <para>
/// The network thread is a managed thread running <c>mosquitto_loop_forever</c> (the same loop that
/// <c>mosquitto_loop_start</c> would run), because 2.0.11's own thread has two gaps, both measured: after a failed
/// first connect it never starts working, and on some errors it ends silently, without a disconnect callback (a TLS
/// handshake that fails certificate verification) or after one (an MQTT 5 CONNACK refusal such as bad credentials).
/// Here, when the loop returns while the client is not being disposed, the thread waits out the back-off and enters it
/// again, so a broker that comes back, or a configuration fixed on the broker side, is picked up without a restart.
/// </para>
/// </remarks>
public sealed unsafe class MosquittoClient : IDisposable
{
    /// <summary>How long <see cref="Dispose"/> waits for the network thread; it may sit in a reconnect back-off sleep.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    [ThreadStatic] private static bool t_inCallback;

    private readonly ILogger _logger;
    private readonly MosquittoHandle _handle;
    private GCHandle _self;

    private readonly string _host;
    private readonly int _port;
    private readonly int _keepAlive;
    private readonly bool _v5;
    private readonly int _reconnectMin;
    private readonly int _reconnectMax;

    // Subscription bookkeeping, shared between callers and the network thread.
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _subscriptions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _confirmed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pendingUnsubscribes = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _awaitingSuback = [];

    // Start / restart / dispose never overlap.
    private readonly Lock _lifecycle = new();
    private readonly CancellationTokenSource _stopping = new();
    private Thread? _network;
    private bool _networkExited;
    private bool _releaseOnExit;
    private bool _failureReported; // network thread only
    private bool _disposed;
    private volatile bool _eventsEnabled = true;
    private volatile bool _connected;
    private int _lastConnackCode;
    private int _restarts;

    /// <exception cref="MqttOptionsException">The options are invalid; the message names each configuration key.</exception>
    /// <exception cref="MosquittoException">libmosquitto refused a setting (e.g. an unreadable CA file).</exception>
    public MosquittoClient(MqttClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _logger = logger ?? NullLogger.Instance;
        _host = options.Host;
        _port = options.Port;
        _keepAlive = options.KeepAliveSeconds;
        _v5 = options.ProtocolVersion == MqttProtocolVersion.V5;
        _reconnectMin = options.ReconnectDelayMinSeconds;
        _reconnectMax = options.ReconnectDelayMaxSeconds;
        ClientId = string.IsNullOrEmpty(options.ClientId) ? null : options.ClientId;

        Mosquitto.EnsureInitialized();
        _self = GCHandle.Alloc(this);
        _handle = Mosquitto.mosquitto_new(ClientId, options.CleanSession, GCHandle.ToIntPtr(_self));
        if (_handle.IsInvalid)
        {
            _self.Free();
            throw new MosquittoException(3, "new", "mosquitto_new returned NULL (invalid client id or out of memory)");
        }

        try
        {
            Configure(options);
        }
        catch
        {
            _handle.Dispose();
            _self.Free();
            throw;
        }
    }

    /// <summary>The configured client id, or null when the library generated one.</summary>
    public string? ClientId { get; }

    /// <summary>True between <see cref="Connected"/> and <see cref="Disconnected"/>.</summary>
    public bool IsConnected => _connected;

    /// <summary>The broker accepted the connection (first time and after every reconnect).</summary>
    public event EventHandler<MqttConnectedEventArgs>? Connected;

    /// <summary>
    /// The connection ended, or an attempt failed after reaching the broker (refused CONNACK, failed TLS handshake).
    /// A broker that cannot be reached at all is only logged.
    /// </summary>
    public event EventHandler<MqttDisconnectedEventArgs>? Disconnected;

    /// <summary>PUBACK (QoS 1) / PUBCOMP (QoS 2) for the message id that <see cref="Publish"/> returned.</summary>
    public event EventHandler<MqttPublishAcknowledgedEventArgs>? PublishAcknowledged;

    /// <summary>SUBACK for a filter given to <see cref="Subscribe"/> (also after automatic re-subscription).</summary>
    public event EventHandler<MqttSubscribedEventArgs>? Subscribed;

    public event EventHandler<MqttMessageReceivedEventArgs>? MessageReceived;

    /// <summary>Starts the network thread and the first connection attempt; returns without waiting for the broker.</summary>
    public void Start()
    {
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_network is not null)
                throw new InvalidOperationException("The client is already started.");
            var rc = Mosquitto.mosquitto_connect_async(_handle, _host, _port, _keepAlive);
            if (rc != Mosquitto.ErrSuccess)
            {
                // Refused, unreachable, name not resolvable yet, TLS handshake failed: the loop retries.
                if (rc is not (14 /*ERRNO*/ or 15 /*EAI*/ or 5 /*CONN_REFUSED*/ or 7 /*CONN_LOST*/ or 8 /*TLS*/))
                    Mosquitto.Check(rc, $"connect_async to {_host}:{_port}");
                _logger.LogWarning("MQTT broker {Host}:{Port} not reachable yet ({Error}); retrying in the background",
                    _host, _port, Mosquitto.ErrorText(rc));
            }

            _network = new Thread(NetworkLoop)
            {
                IsBackground = true,
                Name = $"mqtt {ClientId ?? "client"}",
            };
            _network.Start();
        }
    }

    private TimeSpan Backoff(int attempt) =>
        TimeSpan.FromSeconds(Math.Min(_reconnectMax, (long)_reconnectMin * attempt * attempt));

    private void NetworkLoop()
    {
        var token = _stopping.Token;
        try
        {
            while (true)
            {
                // Returns only on a requested disconnect or on an error libmosquitto treats as fatal.
                _failureReported = false;
                var rc = Mosquitto.mosquitto_loop_forever(_handle, -1, 1);
                _connected = false;
                if (token.IsCancellationRequested) break;
                if (!_failureReported)
                {
                    // E.g. a TLS handshake that failed verification: libmosquitto gives up without a disconnect callback.
                    t_inCallback = true;
                    try
                    {
                        HandleDisconnect(rc);
                    }
                    finally
                    {
                        t_inCallback = false;
                    }
                }

                var delay = Backoff(Interlocked.Increment(ref _restarts));
                _logger.LogWarning("libmosquitto's network loop gave up ({Error}, rc {Code}); trying again in {Delay} s",
                    Mosquitto.ErrorText(rc), rc, delay.TotalSeconds);
                if (token.WaitHandle.WaitOne(delay)) break;

                lock (_lifecycle)
                {
                    // Under the lock, so a Dispose cannot slip its "disconnecting" state in before this resets it.
                    if (_disposed) break;
                    rc = Mosquitto.mosquitto_reconnect_async(_handle);
                }

                if (rc != Mosquitto.ErrSuccess)
                    _logger.LogDebug("MQTT reconnect to {Host}:{Port}: {Error}", _host, _port, Mosquitto.ErrorText(rc));
            }
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "MQTT network thread failed; the client stays disconnected");
        }
        finally
        {
            lock (_lifecycle)
            {
                _networkExited = true;
                if (_releaseOnExit)
                    ReleaseNative();
            }
        }
    }

    /// <summary>
    /// Queues a message and returns its message id (matched by <see cref="PublishAcknowledged"/> for QoS 1/2).
    /// </summary>
    /// <remarks>
    /// A QoS 1/2 message published while disconnected is kept by libmosquitto and sent after the reconnect (its
    /// queue is unbounded: check <see cref="IsConnected"/> first when publishing in bulk). A QoS 0 message cannot be
    /// sent while disconnected and throws.
    /// </remarks>
    /// <param name="properties">MQTT 5 only: response topic and correlation data.</param>
    /// <exception cref="MosquittoException">Invalid topic, payload too large, QoS 0 while disconnected, ...</exception>
    public int Publish(string topic, ReadOnlySpan<byte> payload, int qos = 1, bool retain = false,
        MqttPublishProperties? properties = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(qos, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(qos, 2);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (properties is not null && !_v5)
            throw new InvalidOperationException(
                $"Response topic and correlation data need {MqttClientOptions.SectionName}:ProtocolVersion V5.");
        if (properties?.CorrelationData is { Length: > ushort.MaxValue })
            throw new ArgumentException("Correlation data is limited to 65535 bytes.", nameof(properties));

        nint props = 0;
        try
        {
            if (properties?.ResponseTopic is { } responseTopic)
                Mosquitto.Check(Mosquitto.mosquitto_property_add_string(&props, Mosquitto.PropResponseTopic, responseTopic),
                    "property_add_string(response topic)");
            if (properties?.CorrelationData is { } correlation)
            {
                fixed (byte* data = correlation)
                {
                    Mosquitto.Check(Mosquitto.mosquitto_property_add_binary(
                        &props, Mosquitto.PropCorrelationData, data, (ushort)correlation.Length), "property_add_binary(correlation data)");
                }
            }

            int mid;
            int rc;
            fixed (byte* data = payload)
            {
                rc = Mosquitto.mosquitto_publish_v5(_handle, &mid, topic, payload.Length, data, qos, retain, props);
            }

            // For QoS > 0 "no connection" still means queued: the library resends it after reconnecting.
            if (rc == Mosquitto.ErrNoConn && qos > 0)
                return mid;
            Mosquitto.Check(rc, $"publish to '{topic}'");
            return mid;
        }
        finally
        {
            if (props != 0)
                Mosquitto.mosquitto_property_free_all(&props);
        }
    }

    /// <summary>
    /// Subscribes now if connected, and again after every reconnect that lost the session. Subscribing to a filter
    /// again replaces its QoS. Completion is reported by <see cref="Subscribed"/>.
    /// </summary>
    public void Subscribe(string filter, int qos = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(qos, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(qos, 2);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            _subscriptions[filter] = qos;
            _confirmed.Remove(filter);
            _pendingUnsubscribes.Remove(filter);
            if (_connected)
                SendSubscribe(filter, qos);
        }
    }

    /// <summary>Forgets a filter and unsubscribes (now, or on the next reconnect that kept the session).</summary>
    public void Unsubscribe(string filter)
    {
        ArgumentException.ThrowIfNullOrEmpty(filter);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            _subscriptions.Remove(filter);
            _confirmed.Remove(filter);
            int mid;
            var rc = _connected ? Mosquitto.mosquitto_unsubscribe(_handle, &mid, filter) : Mosquitto.ErrNoConn;
            if (rc == Mosquitto.ErrNoConn)
                _pendingUnsubscribes.Add(filter);
            else
                Mosquitto.Check(rc, $"unsubscribe from '{filter}'");
        }
    }

    /// <summary>
    /// Sends DISCONNECT (so the broker does not publish the last will), stops the network thread and frees the
    /// client. Waits at most <see cref="ShutdownTimeout"/>: a thread sleeping in its reconnect back-off finishes in the
    /// background. Must not be called from an event handler.
    /// </summary>
    public void Dispose()
    {
        if (t_inCallback)
            throw new InvalidOperationException("Dispose must not be called from a MosquittoClient event handler.");
        Thread? network;
        lock (_lifecycle)
        {
            if (_disposed) return;
            _disposed = true;
            _stopping.Cancel();
            network = _network;
            if (network is null)
            {
                ReleaseNative();
                return;
            }

            // Sets the "disconnecting" state that makes loop_forever return, and sends DISCONNECT if connected.
            var rc = Mosquitto.mosquitto_disconnect(_handle);
            if (rc is not (Mosquitto.ErrSuccess or Mosquitto.ErrNoConn))
                _logger.LogWarning("MQTT disconnect: {Error}", Mosquitto.ErrorText(rc));
        }

        network.Join(ShutdownTimeout);
        lock (_lifecycle)
        {
            _eventsEnabled = false;
            _connected = false;
            if (_networkExited)
            {
                ReleaseNative();
            }
            else
            {
                _releaseOnExit = true;
                _logger.LogWarning(
                    "MQTT network thread still in its reconnect back-off after {Timeout}; it is released when it wakes",
                    ShutdownTimeout);
            }
        }

    }

    private void ReleaseNative()
    {
        _connected = false;
        _handle.Dispose();
        if (_self.IsAllocated)
            _self.Free();
    }

    private void Configure(MqttClientOptions options)
    {
        // The loop runs on our own thread and callers publish from others: the library must lock and hand writes to it.
        Mosquitto.Check(Mosquitto.mosquitto_threaded_set(_handle, true), "threaded_set");
        Mosquitto.Check(Mosquitto.mosquitto_int_option(_handle, Mosquitto.OptProtocolVersion,
            _v5 ? Mosquitto.ProtocolV5 : Mosquitto.ProtocolV311), "int_option(PROTOCOL_VERSION)");
        Mosquitto.Check(Mosquitto.mosquitto_int_option(_handle, Mosquitto.OptSendMaximum, options.MaxInFlight),
            "int_option(SEND_MAXIMUM)");

        if (options.LastWill is { } will)
        {
            var payload = Encoding.UTF8.GetBytes(will.Payload);
            fixed (byte* data = payload)
            {
                Mosquitto.Check(Mosquitto.mosquitto_will_set(_handle, will.Topic, payload.Length, data, will.Qos, will.Retain),
                    "will_set");
            }
        }

        if (!string.IsNullOrEmpty(options.Username) || options.Password is not null)
        {
            Mosquitto.Check(Mosquitto.mosquitto_username_pw_set(_handle,
                string.IsNullOrEmpty(options.Username) ? null : options.Username, options.Password), "username_pw_set");
        }

        if (options.Tls is { } tls)
        {
            static string? OrNull(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
            Mosquitto.Check(Mosquitto.mosquitto_tls_set(_handle, OrNull(tls.CaFile), OrNull(tls.CaDirectory),
                OrNull(tls.CertFile), OrNull(tls.KeyFile), 0), "tls_set");
            if (tls.InsecureSkipHostnameCheck)
                Mosquitto.Check(Mosquitto.mosquitto_tls_insecure_set(_handle, true), "tls_insecure_set");
        }

        Mosquitto.Check(Mosquitto.mosquitto_reconnect_delay_set(_handle, (uint)options.ReconnectDelayMinSeconds,
            (uint)options.ReconnectDelayMaxSeconds, exponential: true), "reconnect_delay_set");

        Mosquitto.mosquitto_connect_v5_callback_set(_handle, &OnConnect);
        Mosquitto.mosquitto_disconnect_v5_callback_set(_handle, &OnDisconnect);
        Mosquitto.mosquitto_publish_v5_callback_set(_handle, &OnPublish);
        Mosquitto.mosquitto_subscribe_v5_callback_set(_handle, &OnSubscribe);
        Mosquitto.mosquitto_message_v5_callback_set(_handle, &OnMessage);
        Mosquitto.mosquitto_log_callback_set(_handle, &OnLog);
    }

    // Caller holds _gate, so a SUBACK (handled on the network thread under _gate) cannot overtake the bookkeeping.
    private void SendSubscribe(string filter, int qos)
    {
        int mid;
        var rc = Mosquitto.mosquitto_subscribe(_handle, &mid, filter, qos);
        if (rc == Mosquitto.ErrNoConn)
            return; // the connect callback sends it
        Mosquitto.Check(rc, $"subscribe to '{filter}'");
        _awaitingSuback[mid] = filter;
    }

    private void HandleConnect(int rc, int flags)
    {
        if (rc != 0)
        {
            _lastConnackCode = rc;
            _logger.LogWarning("MQTT broker {Host}:{Port} refused the connection: {Reason}",
                _host, _port, Mosquitto.ConnackText(rc, _v5));
            return;
        }

        _lastConnackCode = 0;
        _failureReported = false;
        Volatile.Write(ref _restarts, 0);
        var sessionPresent = (flags & 1) != 0;
        lock (_gate)
        {
            _connected = true;
            if (!sessionPresent)
            {
                // The broker has no session: nothing it had is left, and nothing needs unsubscribing.
                _confirmed.Clear();
                _pendingUnsubscribes.Clear();
            }

            foreach (var filter in _pendingUnsubscribes)
            {
                int mid;
                var unsubRc = Mosquitto.mosquitto_unsubscribe(_handle, &mid, filter);
                if (unsubRc != Mosquitto.ErrSuccess)
                    _logger.LogWarning("MQTT unsubscribe from {Filter} failed: {Error}", filter, Mosquitto.ErrorText(unsubRc));
            }

            _pendingUnsubscribes.Clear();
            _awaitingSuback.Clear();
            foreach (var (filter, qos) in _subscriptions)
            {
                if (_confirmed.Contains(filter)) continue;
                try
                {
                    SendSubscribe(filter, qos);
                }
                catch (MosquittoException ex)
                {
                    _logger.LogError(ex, "MQTT re-subscribe to {Filter} failed", filter);
                }
            }
        }

        _logger.LogInformation("MQTT connected to {Host}:{Port} (session present: {SessionPresent})", _host, _port, sessionPresent);
        Raise(Connected, new MqttConnectedEventArgs(sessionPresent), nameof(Connected));
    }

    private void HandleDisconnect(int rc)
    {
        _connected = false;
        _failureReported = true;
        string reason;
        if (rc == 0)
        {
            reason = "disconnected on request";
            _logger.LogInformation("MQTT disconnected from {Host}:{Port}", _host, _port);
        }
        else
        {
            reason = Mosquitto.ErrorText(rc);
            if (_lastConnackCode != 0)
                reason += $" ({Mosquitto.ConnackText(_lastConnackCode, _v5)})";
            _logger.LogWarning("MQTT connection to {Host}:{Port} down: {Reason} (rc {Code})", _host, _port, reason, rc);
        }

        Raise(Disconnected, new MqttDisconnectedEventArgs(rc, reason), nameof(Disconnected));
    }

    private void HandlePublish(int mid, int reasonCode)
    {
        if (reasonCode >= 0x80)
            _logger.LogWarning("MQTT broker refused message {Mid}: {Reason}", mid, Mosquitto.ConnackText(reasonCode, v5: true));
        Raise(PublishAcknowledged, new MqttPublishAcknowledgedEventArgs(mid, reasonCode), nameof(PublishAcknowledged));
    }

    private void HandleSubscribe(int mid, int qosCount, int* granted)
    {
        string? filter;
        var grantedQos = qosCount > 0 && granted is not null ? granted[0] : 0x80;
        lock (_gate)
        {
            if (!_awaitingSuback.Remove(mid, out filter))
                return;
            if (grantedQos < 0x80 && _subscriptions.ContainsKey(filter))
                _confirmed.Add(filter);
        }

        if (grantedQos >= 0x80)
            _logger.LogWarning("MQTT broker refused the subscription to {Filter} (code {Code})", filter, grantedQos);
        Raise(Subscribed, new MqttSubscribedEventArgs(filter, grantedQos), nameof(Subscribed));
    }

    private void HandleMessage(Mosquitto.Message* message, nint properties)
    {
        var handler = MessageReceived;
        if (handler is null || !_eventsEnabled) return;
        var topic = Marshal.PtrToStringUTF8((nint)message->Topic) ?? "";
        var payload = message->PayloadLength > 0
            ? new ReadOnlySpan<byte>(message->Payload, message->PayloadLength).ToArray()
            : [];
        string? responseTopic = null;
        byte[]? correlation = null;
        if (properties != 0)
        {
            responseTopic = Mosquitto.ReadStringProperty(properties, Mosquitto.PropResponseTopic);
            correlation = Mosquitto.ReadBinaryProperty(properties, Mosquitto.PropCorrelationData);
        }

        Raise(handler, new MqttMessageReceivedEventArgs(topic, payload, message->Qos, message->Retain != 0,
            responseTopic, correlation), nameof(MessageReceived));
    }

    private void HandleLog(int level, byte* text)
    {
        var logLevel = level switch
        {
            Mosquitto.LogErr => LogLevel.Error,
            Mosquitto.LogWarning => LogLevel.Warning,
            Mosquitto.LogNotice or Mosquitto.LogInfo => LogLevel.Debug,
            _ => LogLevel.Trace,
        };
        if (_logger.IsEnabled(logLevel))
            _logger.Log(logLevel, "libmosquitto: {Message}", Marshal.PtrToStringUTF8((nint)text));
    }

    private void Raise<T>(EventHandler<T>? handler, T args, string name)
    {
        if (handler is null || !_eventsEnabled) return;
        foreach (var single in handler.GetInvocationList())
        {
            try
            {
                ((EventHandler<T>)single)(this, args);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "An MQTT {Event} handler threw; ignored", name);
            }
        }
    }

    // Native callbacks. Each resolves the client from the GCHandle passed as obj and never lets an exception escape
    // (that would abort the process).

    private static MosquittoClient? From(nint obj) => obj == 0 ? null : GCHandle.FromIntPtr(obj).Target as MosquittoClient;

    private static void Fail(MosquittoClient? client, Exception ex, string callback)
    {
        try
        {
            client?._logger.LogError(ex, "MQTT {Callback} callback failed", callback);
        }
        catch
        {
            // Logging itself failed; nothing left to do on a native thread.
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnConnect(nint mosq, nint obj, int rc, int flags, nint properties)
    {
        MosquittoClient? client = null;
        t_inCallback = true;
        try { client = From(obj); client?.HandleConnect(rc, flags); }
        catch (Exception ex) { Fail(client, ex, "connect"); }
        finally { t_inCallback = false; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnDisconnect(nint mosq, nint obj, int rc, nint properties)
    {
        MosquittoClient? client = null;
        t_inCallback = true;
        try { client = From(obj); client?.HandleDisconnect(rc); }
        catch (Exception ex) { Fail(client, ex, "disconnect"); }
        finally { t_inCallback = false; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnPublish(nint mosq, nint obj, int mid, int reasonCode, nint properties)
    {
        MosquittoClient? client = null;
        t_inCallback = true;
        try { client = From(obj); client?.HandlePublish(mid, reasonCode); }
        catch (Exception ex) { Fail(client, ex, "publish"); }
        finally { t_inCallback = false; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnSubscribe(nint mosq, nint obj, int mid, int qosCount, int* granted, nint properties)
    {
        MosquittoClient? client = null;
        t_inCallback = true;
        try { client = From(obj); client?.HandleSubscribe(mid, qosCount, granted); }
        catch (Exception ex) { Fail(client, ex, "subscribe"); }
        finally { t_inCallback = false; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnMessage(nint mosq, nint obj, Mosquitto.Message* message, nint properties)
    {
        MosquittoClient? client = null;
        t_inCallback = true;
        try { client = From(obj); client?.HandleMessage(message, properties); }
        catch (Exception ex) { Fail(client, ex, "message"); }
        finally { t_inCallback = false; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLog(nint mosq, nint obj, int level, byte* text)
    {
        MosquittoClient? client = null;
        try { client = From(obj); client?.HandleLog(level, text); }
        catch (Exception ex) { Fail(client, ex, "log"); }
    }
}
