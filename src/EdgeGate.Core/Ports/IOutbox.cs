namespace EdgeGate.Core.Ports;

/// <summary>A message waiting to be delivered. <see cref="Id"/> increases with insertion order.</summary>
public sealed record OutboxMessage(long Id, string Topic, byte[] Payload, int Qos, bool Retain, DateTimeOffset CreatedAt);

/// <summary>
/// Durable store-and-forward queue for outgoing events: a message is on disk when <see cref="Enqueue"/> returns and stays
/// until <see cref="Remove"/> (called on the broker's PUBACK), so neither a broker outage nor a restart loses it.
/// Bounded: when full, the oldest messages are evicted and counted in <see cref="Evicted"/>. Thread-safe.
/// </summary>
public interface IOutbox : IDisposable
{
    long Enqueue(string topic, ReadOnlySpan<byte> payload, int qos, bool retain = false);

    /// <summary>Up to <paramref name="max"/> messages with id greater than <paramref name="afterId"/>, oldest first.</summary>
    IReadOnlyList<OutboxMessage> ReadPending(long afterId, int max);

    /// <summary>Deletes a delivered message; unknown ids are ignored (a duplicate PUBACK, or already evicted).</summary>
    void Remove(long id);

    long Count { get; }

    /// <summary>Messages dropped by the bound since this outbox was opened.</summary>
    long Evicted { get; }
}
