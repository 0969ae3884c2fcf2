using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeGate.Core.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeGate.Mqtt;

public sealed record OutboxPublisherOptions
{
    /// <summary>Messages handed to the client and not yet acknowledged, at most.</summary>
    public int MaxInFlight { get; init; } = 20;

    /// <summary>
    /// A message still unacknowledged this long after it was (re)sent on a live connection is published again.
    /// A safety net only: libmosquitto itself resends unacknowledged messages after every reconnect.
    /// </summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The outbox is also looked at this often without a <see cref="OutboxPublisher.Wake"/>.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Moves messages from an <see cref="IOutbox"/> to the broker through a <see cref="MosquittoClient"/> and deletes each
/// one only when the broker has acknowledged it.
/// </summary>
/// <remarks>
/// <para>
/// Guarantee: at least once. A message leaves the outbox only on its PUBACK, so broker outages, lost connections and
/// process restarts (the outbox is on disk) cause duplicates, never losses on this side. Consumers de-duplicate by
/// the event id in the payload. What the broker does after its PUBACK (e.g. losing unsaved state in a crash) is outside
/// this guarantee.
/// </para>
/// <para>
/// Flow: only while the client is connected, and never more than <see cref="OutboxPublisherOptions.MaxInFlight"/>
/// messages unacknowledged. Messages already handed over when the connection drops stay in libmosquitto's queue and the
/// library resends them (same message ids) after the reconnect; they are counted in <see cref="Republished"/>. Because
/// nothing new is handed over while disconnected, that queue never holds more than MaxInFlight messages, however long
/// the outage. If a message is still unacknowledged <see cref="OutboxPublisherOptions.AckTimeout"/> after it was sent
/// on a live connection, it is published again under a new id (either PUBACK then removes it).
/// After a process restart every message still in the outbox is published again.
/// </para>
/// <para>
/// Ordering: messages are first sent in outbox order; a resend can arrive after newer messages.
/// QoS 0 messages are removed as soon as the client has taken them (there is no acknowledgement to wait for).
/// A message the library refuses outright (invalid topic, payload too large) is removed, logged and counted in
/// <see cref="Failed"/>, as no retry could succeed. Under MQTT 5 a PUBACK with a failure reason code (e.g. not authorised)
/// also removes the message, counted in <see cref="Rejected"/>.
/// </para>
/// <para>
/// Threading: one pump task does all outbox and publish work; the client's callbacks only queue acknowledgements
/// and wake the pump. The outbox and the client are not owned: dispose them after this publisher.
/// </para>
/// </remarks>
public sealed class OutboxPublisher : IDisposable
{
    private readonly IOutbox _outbox;
    private readonly MosquittoClient _client;
    private readonly ILogger _logger;
    private readonly OutboxPublisherOptions _options;

    private readonly SemaphoreSlim _signal = new(0);
    // Connection events and PUBACKs in the order the network thread saw them.
    private readonly ConcurrentQueue<ClientEvent> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _pump;
    private bool _disposed;

    // Pump-thread state.
    private readonly Dictionary<int, Unacked> _byMid = [];
    private readonly SortedDictionary<long, Unacked> _inFlight = [];
    private long _cursor;
    private bool _wasConnected;

    private long _published;
    private long _acknowledged;
    private long _republished;
    private long _failed;
    private long _rejected;
    private int _inFlightCount;

    public OutboxPublisher(IOutbox outbox, MosquittoClient client, ILogger? logger = null, OutboxPublisherOptions? options = null)
    {
        _outbox = outbox ?? throw new ArgumentNullException(nameof(outbox));
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _logger = logger ?? NullLogger.Instance;
        _options = options ?? new OutboxPublisherOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxInFlight, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.AckTimeout, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.PollInterval, TimeSpan.Zero, nameof(options));
        _client.Connected += OnConnected;
        _client.Disconnected += OnDisconnected;
        _client.PublishAcknowledged += OnAcknowledged;
        _wasConnected = _client.IsConnected;
    }

    /// <summary>Messages handed to the client for the first time (in this process).</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Messages removed from the outbox on a PUBACK.</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    /// <summary>Sends beyond the first: resent by libmosquitto after a reconnect, or published again after the ack timeout.</summary>
    public long Republished => Interlocked.Read(ref _republished);

    /// <summary>Messages dropped because the library refused them (invalid topic, payload too large).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Messages the broker acknowledged with an MQTT 5 failure reason code.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Messages handed to the client and not yet acknowledged.</summary>
    public int InFlight => Volatile.Read(ref _inFlightCount);

    /// <summary>Messages in the outbox, in flight ones included.</summary>
    public long Pending => _outbox.Count;

    /// <summary>Starts the pump. Messages already in the outbox (e.g. from before a restart) go out first.</summary>
    public void Start()
    {
        if (_pump is not null) throw new InvalidOperationException("The publisher is already started.");
        _pump = Task.Run(() => PumpAsync(_stop.Token));
    }

    /// <summary>Call after <see cref="IOutbox.Enqueue"/> so the message goes out now rather than at the next poll.</summary>
    public void Wake() => _signal.Release();

    /// <summary>Stops the pump; unacknowledged messages stay in the outbox for the next run.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_pump is not null)
            await _pump.ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _client.Connected -= OnConnected;
        _client.Disconnected -= OnDisconnected;
        _client.PublishAcknowledged -= OnAcknowledged;
        StopAsync().GetAwaiter().GetResult();
        _stop.Dispose();
        _signal.Dispose();
    }

    // Client events arrive on the network thread: record and wake, nothing else.
    private void OnConnected(object? sender, MqttConnectedEventArgs e) => Post(new ClientEvent(ClientEventKind.Connected, 0, 0));

    private void OnDisconnected(object? sender, MqttDisconnectedEventArgs e) => Post(new ClientEvent(ClientEventKind.Disconnected, 0, 0));

    private void OnAcknowledged(object? sender, MqttPublishAcknowledgedEventArgs e) =>
        Post(new ClientEvent(ClientEventKind.Acknowledged, e.MessageId, e.ReasonCode));

    private void Post(ClientEvent e)
    {
        _events.Enqueue(e);
        Wake();
    }

    private async Task PumpAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(_options.PollInterval, token).ConfigureAwait(false);
                while (_signal.Wait(0))
                {
                    // Coalesce wake-ups: one pass handles everything that is waiting.
                }

                Pass();
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // E.g. the outbox's disk failed. Keep going: the next pass may succeed, and stopping would stall delivery.
                _logger.LogError(ex, "Outbox publisher pass failed; retrying");
                try
                {
                    await Task.Delay(_options.PollInterval, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private void Pass()
    {
        HandleClientEvents();
        if (!_client.IsConnected) return;
        RepublishOverdue();
        Fill();
        Volatile.Write(ref _inFlightCount, _inFlight.Count);
    }

    private void HandleClientEvents()
    {
        while (_events.TryDequeue(out var e))
        {
            switch (e.Kind)
            {
                case ClientEventKind.Acknowledged:
                    HandleAck(e.MessageId, e.ReasonCode);
                    break;
                case ClientEventKind.Disconnected:
                    // Exactly what was unacknowledged when the connection dropped: libmosquitto resends these itself
                    // (same message ids) once it is back, so they are not handed over again here. Failed attempts
                    // while already down also report Disconnected; they change nothing.
                    if (_wasConnected && _inFlight.Count > 0)
                    {
                        _logger.LogInformation(
                            "Connection lost with {Count} outbox messages unacknowledged; they are resent on reconnect", _inFlight.Count);
                        Interlocked.Add(ref _republished, _inFlight.Count);
                    }

                    _wasConnected = false;
                    break;
                case ClientEventKind.Connected:
                    _wasConnected = true;
                    // The ack timeout only counts time on a live connection.
                    var now = Stopwatch.GetTimestamp();
                    foreach (var entry in _inFlight.Values)
                        entry.SentAt = now;
                    break;
            }
        }

        Volatile.Write(ref _inFlightCount, _inFlight.Count);
    }

    private void HandleAck(int messageId, int reasonCode)
    {
        if (!_byMid.Remove(messageId, out var entry))
            return; // someone else's message on the shared client, or a second PUBACK for a republished one
        foreach (var mid in entry.Mids)
        {
            if (_byMid.TryGetValue(mid, out var other) && ReferenceEquals(other, entry))
                _byMid.Remove(mid);
        }

        if (reasonCode >= 0x80)
        {
            Interlocked.Increment(ref _rejected);
            _logger.LogError("Broker refused outbox message {Id} on {Topic} (reason 0x{Reason:X2}); dropping it",
                entry.Id, entry.Topic, reasonCode);
        }

        _outbox.Remove(entry.Id);
        if (_inFlight.Remove(entry.Id))
            Interlocked.Increment(ref _acknowledged);
    }

    private void RepublishOverdue()
    {
        var limit = Stopwatch.GetTimestamp() - (long)(_options.AckTimeout.TotalSeconds * Stopwatch.Frequency);
        List<Unacked>? overdue = null;
        foreach (var entry in _inFlight.Values)
        {
            if (entry.SentAt < limit) (overdue ??= []).Add(entry);
        }

        if (overdue is null) return;
        foreach (var entry in overdue)
        {
            if (!_client.IsConnected) return;
            var message = _outbox.ReadPending(entry.Id - 1, 1) is [var m] && m.Id == entry.Id ? m : null;
            if (message is null)
            {
                // Evicted by the outbox bound meanwhile: nothing left to send.
                Forget(entry);
                continue;
            }

            _logger.LogWarning("Outbox message {Id} unacknowledged after {Timeout}; publishing it again", entry.Id, _options.AckTimeout);
            var mid = _client.Publish(message.Topic, message.Payload, message.Qos, message.Retain);
            Track(entry, mid);
            entry.SentAt = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _republished);
        }
    }

    private void Fill()
    {
        var room = _options.MaxInFlight - _inFlight.Count;
        if (room <= 0) return;
        foreach (var message in _outbox.ReadPending(_cursor, room))
        {
            if (!_client.IsConnected) return;
            int mid;
            try
            {
                mid = _client.Publish(message.Topic, message.Payload, message.Qos, message.Retain);
            }
            catch (MosquittoException ex) when (ex.Code == 4 /*NO_CONN*/)
            {
                return; // QoS 0 while the connection just dropped: try again after the reconnect
            }
            catch (MosquittoException ex)
            {
                Interlocked.Increment(ref _failed);
                _logger.LogError(ex, "Outbox message {Id} on {Topic} cannot be published; dropping it", message.Id, message.Topic);
                _outbox.Remove(message.Id);
                _cursor = message.Id;
                continue;
            }

            _cursor = message.Id;
            Interlocked.Increment(ref _published);
            if (message.Qos == 0)
            {
                _outbox.Remove(message.Id);
                continue;
            }

            var entry = new Unacked(message.Id, message.Topic) { SentAt = Stopwatch.GetTimestamp() };
            _inFlight[message.Id] = entry;
            Track(entry, mid);
        }
    }

    private void Track(Unacked entry, int mid)
    {
        // libmosquitto's ids wrap at 65535; a stale mapping of a reused id must not delete the wrong message.
        if (_byMid.Remove(mid, out var stale))
            stale.Mids.Remove(mid);
        _byMid[mid] = entry;
        entry.Mids.Add(mid);
    }

    private void Forget(Unacked entry)
    {
        foreach (var mid in entry.Mids)
        {
            if (_byMid.TryGetValue(mid, out var other) && ReferenceEquals(other, entry))
                _byMid.Remove(mid);
        }

        _inFlight.Remove(entry.Id);
    }

    private enum ClientEventKind
    {
        Connected,
        Disconnected,
        Acknowledged,
    }

    private readonly record struct ClientEvent(ClientEventKind Kind, int MessageId, int ReasonCode);

    private sealed class Unacked(long id, string topic)
    {
        public long Id { get; } = id;
        public string Topic { get; } = topic;
        public List<int> Mids { get; } = [];
        public long SentAt { get; set; }
    }
}
