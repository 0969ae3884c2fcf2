using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EdgeGate.Mqtt;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Mqtt;

/// <summary>Waits for a condition by polling; never asserts on how long it took.</summary>
internal static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(20);

    public static void Until(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Default;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
                throw new TimeoutException($"timed out after {limit.TotalSeconds:0} s waiting for: {what}");
            Thread.Sleep(10);
        }
    }
}

/// <summary>Writes log lines to the xunit output (ignored once the test has finished).</summary>
internal sealed class TestOutputLogger(ITestOutputHelper output, string name, LogLevel minimum = LogLevel.Debug) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        try
        {
            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {logLevel,-11} {name}: {formatter(state, exception)}"
                + (exception is null ? "" : $" {exception.GetType().Name}: {exception.Message}"));
        }
        catch (InvalidOperationException)
        {
            // The test is over.
        }
    }
}

/// <summary>A <see cref="MosquittoClient"/> that records everything it is told, for assertions.</summary>
internal sealed class MqttProbe : IDisposable
{
    private int _connects;
    private int _disconnects;

    private MqttProbe(MosquittoClient client)
    {
        Client = client;
        client.Connected += (_, e) => { Connects.Enqueue(e); Interlocked.Increment(ref _connects); };
        client.Disconnected += (_, e) => { Disconnects.Enqueue(e); Interlocked.Increment(ref _disconnects); };
        client.PublishAcknowledged += (_, e) => Acks[e.MessageId] = e.ReasonCode;
        client.Subscribed += (_, e) => Subacks.Enqueue(e);
        client.MessageReceived += (_, e) => Messages.Enqueue(e);
    }

    public MosquittoClient Client { get; }
    public ConcurrentQueue<MqttConnectedEventArgs> Connects { get; } = new();
    public ConcurrentQueue<MqttDisconnectedEventArgs> Disconnects { get; } = new();
    public ConcurrentDictionary<int, int> Acks { get; } = new();
    public ConcurrentQueue<MqttSubscribedEventArgs> Subacks { get; } = new();
    public ConcurrentQueue<MqttMessageReceivedEventArgs> Messages { get; } = new();
    public int ConnectCount => Volatile.Read(ref _connects);
    public int DisconnectCount => Volatile.Read(ref _disconnects);

    public static MqttClientOptions Options(MosquittoBroker broker, string? clientId = null) => new()
    {
        Host = broker.Host,
        Port = broker.Port,
        ClientId = clientId,
        ReconnectDelayMinSeconds = 1,
        ReconnectDelayMaxSeconds = 1,
    };

    /// <summary>Creates and starts a client; with <paramref name="waitConnected"/> also waits for the first CONNACK.</summary>
    public static MqttProbe Start(MqttClientOptions options, ITestOutputHelper output, string name, bool waitConnected = true)
    {
        var probe = new MqttProbe(new MosquittoClient(options, new TestOutputLogger(output, name)));
        try
        {
            probe.Client.Start();
            if (waitConnected)
                Wait.Until(() => probe.Client.IsConnected, $"{name} to connect");
            return probe;
        }
        catch
        {
            probe.Dispose();
            throw;
        }
    }

    public void SubscribeAndWait(string filter, int qos = 1)
    {
        var before = Subacks.Count(s => s.Filter == filter);
        Client.Subscribe(filter, qos);
        Wait.Until(() => Subacks.Count(s => s.Filter == filter) > before, $"SUBACK for {filter}");
    }

    public int PublishAndWaitForAck(string topic, byte[] payload, int qos = 1, bool retain = false,
        MqttPublishProperties? properties = null)
    {
        var mid = Client.Publish(topic, payload, qos, retain, properties);
        Wait.Until(() => Acks.ContainsKey(mid), $"PUBACK for message {mid} on {topic}");
        return mid;
    }

    public MqttMessageReceivedEventArgs WaitForMessage(string topic, TimeSpan? timeout = null)
    {
        MqttMessageReceivedEventArgs? found = null;
        Wait.Until(() => (found = Messages.FirstOrDefault(m => m.Topic == topic)) is not null, $"a message on {topic}", timeout);
        return found!;
    }

    public void Dispose() => Client.Dispose();
}

/// <summary>
/// A TCP relay between a client and the broker. <see cref="DropAll"/> resets both sides at once, which the broker sees as
/// a client that vanished without DISCONNECT (the way a power cut or a pulled cable looks), so it publishes the will.
/// </summary>
internal sealed class TcpRelay : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly int _targetPort;

    public TcpRelay(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _ = AcceptLoop();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Resets every relayed connection (RST, no FIN, so nothing looks like an orderly close).</summary>
    public void DropAll()
    {
        foreach (var socket in _sockets)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        DropAll();
    }

    private async Task AcceptLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                _sockets.Add(client);
                _sockets.Add(upstream);
                _ = Pump(client, upstream);
                _ = Pump(upstream, client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static async Task Pump(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0) break;
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }
}
