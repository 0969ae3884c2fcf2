using System.Diagnostics;
using EdgeGate.Core.Diagnostics;
using EdgeGate.Daemon;
using EdgeGate.Mqtt;
using Microsoft.Extensions.Logging;

namespace EdgeGate.Cli.SelfTest;

/// <summary>
/// The broker accepts the configured host, port, TLS and credentials (a CONNACK within the timeout), then a QoS 1
/// publish/subscribe round trip on <c>&lt;prefix&gt;/&lt;device&gt;/selftest/&lt;nonce&gt;</c>. The client id is the
/// daemon's plus "-selftest", without a Last Will: the broker would otherwise drop a running daemon's session, or
/// announce the door offline when the self-test disconnects. A failed round trip only warns (a broker ACL may allow
/// the daemon's topics and not this one).
/// </summary>
public sealed class BrokerCheck : ISelfTestCheck
{
    public string Name => "broker";
    public bool IsRequired(SelfTestContext context) => !string.IsNullOrEmpty(context.Options?.Mqtt.Host);

    public CheckOutcome Run(SelfTestContext context)
    {
        var o = context.RequireOptions();
        if (string.IsNullOrEmpty(o.Mqtt.Host)) return CheckOutcome.Skip("MQTT is off (Mqtt:Host is empty)");
        var topics = new Topics(o.Mqtt.TopicPrefix, o.DeviceId);
        var options = MqttService.ToClientOptions(o, topics);
        options.ClientId = $"{options.ClientId}-selftest";
        options.LastWill = null;
        options.ReconnectDelayMinSeconds = 1;
        options.ReconnectDelayMaxSeconds = 1;
        var target = $"{o.Mqtt.Host}:{o.Mqtt.Port}{(o.Mqtt.Tls.Enabled ? " (TLS)" : "")}{(o.Mqtt.Username is { } u ? $" as '{u}'" : "")}";

        var log = new LastWarningLogger();
        using var connected = new ManualResetEventSlim();
        using var subscribed = new ManualResetEventSlim();
        using var echoed = new ManualResetEventSlim();
        string? refused = null;
        var granted = -1;
        var topic = $"{topics.Base}/selftest/{Guid.NewGuid():N}";
        var payload = System.Text.Encoding.UTF8.GetBytes($"selftest {DateTimeOffset.UtcNow:O}");

        using var client = new MosquittoClient(options, log);
        client.Connected += (_, _) => connected.Set();
        client.Disconnected += (_, e) => { if (e.ReasonCode != 0) refused = e.Reason; };
        client.Subscribed += (_, e) => { if (e.Filter == topic) { granted = e.GrantedQos; subscribed.Set(); } };
        client.MessageReceived += (_, e) => { if (e.Topic == topic && e.Payload.AsSpan().SequenceEqual(payload)) echoed.Set(); };
        var started = Stopwatch.GetTimestamp();
        client.Start();
        if (!connected.Wait(context.Timeout))
        {
            var why = refused ?? log.Last ?? "no answer";
            return CheckOutcome.Fail($"no CONNACK from {target} within {context.Timeout.TotalSeconds:0.#} s: {why}");
        }
        var connackMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var head = $"CONNACK from {target} in {connackMs:0} ms";

        var roundTrip = Stopwatch.GetTimestamp();
        client.Subscribe(topic, qos: 1);
        if (!subscribed.Wait(context.Timeout)) return CheckOutcome.Warn($"{head}; no SUBACK for {topic} within {context.Timeout.TotalSeconds:0.#} s");
        if (granted >= 0x80) return CheckOutcome.Warn($"{head}; the broker refused the subscription to {topic} (an ACL?)");
        client.Publish(topic, payload, qos: 1);
        if (!echoed.Wait(context.Timeout)) return CheckOutcome.Warn($"{head}; the message on {topic} did not come back within {context.Timeout.TotalSeconds:0.#} s (an ACL?)");
        return CheckOutcome.Pass($"{head}; publish/subscribe round trip on {topic} in {Stopwatch.GetElapsedTime(roundTrip).TotalMilliseconds:0} ms");
    }

    /// <summary>libmosquitto's reason for not connecting reaches us only as a logged warning ("not reachable yet (…)").</summary>
    private sealed class LastWarningLogger : ILogger
    {
        private volatile string? _last;
        public string? Last => _last;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) _last = formatter(state, exception);
        }
    }
}
