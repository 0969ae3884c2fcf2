using System.Diagnostics;
using System.Text;
using EdgeGate.Mqtt;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Mqtt;

/// <summary>MosquittoClient against a real mosquitto on loopback.</summary>
public sealed class MosquittoClientTests(ITestOutputHelper output)
{
    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void PublishSubscribe_RoundTripsQos0AndQos1_WithPayloadBytesIntact()
    {
        using var broker = MosquittoBroker.Start(output);
        using var sub = MqttProbe.Start(MqttProbe.Options(broker, "sub"), output, "sub");
        using var pub = MqttProbe.Start(MqttProbe.Options(broker, "pub"), output, "pub");
        sub.SubscribeAndWait("edgegate/test/#", qos: 1);

        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        pub.Client.Publish("edgegate/test/q0", Utf8("zero"), qos: 0);
        var mid = pub.PublishAndWaitForAck("edgegate/test/q1", binary, qos: 1);
        pub.Client.Publish("edgegate/test/empty", [], qos: 1);

        var q0 = sub.WaitForMessage("edgegate/test/q0");
        var q1 = sub.WaitForMessage("edgegate/test/q1");
        var empty = sub.WaitForMessage("edgegate/test/empty");
        Assert.Equal("zero", Encoding.UTF8.GetString(q0.Payload));
        Assert.Equal(0, q0.Qos);
        Assert.Equal(binary, q1.Payload);
        Assert.Equal(1, q1.Qos);
        Assert.False(q1.Retain);
        Assert.Empty(empty.Payload);
        Assert.Null(q1.ResponseTopic);
        Assert.Equal(0, pub.Acks[mid]);
    }

    [Fact]
    public void RetainedMessage_ReachesALaterSubscriber_MarkedRetained()
    {
        using var broker = MosquittoBroker.Start(output);
        using (var pub = MqttProbe.Start(MqttProbe.Options(broker, "pub"), output, "pub"))
        {
            pub.PublishAndWaitForAck("edgegate/door1/status", Utf8("online"), qos: 1, retain: true);
        }

        using var sub = MqttProbe.Start(MqttProbe.Options(broker, "late"), output, "late");
        sub.SubscribeAndWait("edgegate/+/status");
        var message = sub.WaitForMessage("edgegate/door1/status");
        Assert.Equal("online", Encoding.UTF8.GetString(message.Payload));
        Assert.True(message.Retain);
    }

    [Fact]
    public void LastWill_IsPublished_WhenTheConnectionDiesWithoutDisconnect_AndNotOnCleanDispose()
    {
        using var broker = MosquittoBroker.Start(output);
        using var watcher = MqttProbe.Start(MqttProbe.Options(broker, "watcher"), output, "watcher");
        watcher.SubscribeAndWait("edgegate/+/status");

        MqttClientOptions WithWill(string id, int port) => new()
        {
            Host = broker.Host,
            Port = port,
            ClientId = id,
            ReconnectDelayMinSeconds = 1,
            ReconnectDelayMaxSeconds = 1,
            LastWill = new MqttLastWillOptions { Topic = $"edgegate/{id}/status", Payload = "offline", Qos = 1, Retain = true },
        };

        // A clean shutdown sends DISCONNECT: no will.
        using (MqttProbe.Start(WithWill("tidy", broker.Port), output, "tidy"))
        {
        }

        // The relay resets the TCP connection under the client, as a power cut would.
        using var relay = new TcpRelay(broker.Port);
        var victim = MqttProbe.Start(WithWill("door1", relay.Port), output, "door1");
        relay.DropAll();
        var will = watcher.WaitForMessage("edgegate/door1/status");
        victim.Dispose();

        Assert.Equal("offline", Encoding.UTF8.GetString(will.Payload));
        Assert.Equal(1, will.Qos);
        // The watcher gets messages in the order the broker handled them, so a will of the tidy client would be here.
        Assert.DoesNotContain(watcher.Messages, m => m.Topic == "edgegate/tidy/status");
    }

    [Fact]
    public void Subscriptions_AreRenewed_AfterTheBrokerRestarts()
    {
        using var broker = MosquittoBroker.Start(output);
        using var sub = MqttProbe.Start(MqttProbe.Options(broker, "sub"), output, "sub");
        sub.SubscribeAndWait("edgegate/cmd/#");

        broker.Kill();
        Wait.Until(() => !sub.Client.IsConnected, "sub to notice the broker is gone");
        var lost = Assert.Single(sub.Disconnects);
        Assert.NotEqual(0, lost.ReasonCode);
        broker.Restart();

        // A clean session comes back empty: only the client's own re-subscription can make this message arrive.
        Wait.Until(() => sub.ConnectCount == 2 && sub.Subacks.Count == 2, "reconnect and re-subscription");
        Assert.False(sub.Connects.Last().SessionPresent);
        using var pub = MqttProbe.Start(MqttProbe.Options(broker, "pub"), output, "pub");
        pub.PublishAndWaitForAck("edgegate/cmd/unlock", Utf8("{}"));
        Assert.Equal("{}", Encoding.UTF8.GetString(sub.WaitForMessage("edgegate/cmd/unlock").Payload));
    }

    [Fact]
    public void Unsubscribe_StopsDelivery_AndIsNotUndoneByAReconnect()
    {
        using var broker = MosquittoBroker.Start(output);
        using var sub = MqttProbe.Start(MqttProbe.Options(broker, "sub"), output, "sub");
        using var pub = MqttProbe.Start(MqttProbe.Options(broker, "pub"), output, "pub");
        sub.SubscribeAndWait("a");
        sub.SubscribeAndWait("b");
        sub.Client.Unsubscribe("a");

        broker.Stop();
        broker.Restart();
        Wait.Until(() => sub.ConnectCount == 2 && pub.ConnectCount == 2 && sub.Subacks.Count == 3, "both clients back, b renewed");
        pub.PublishAndWaitForAck("a", Utf8("1"));
        pub.PublishAndWaitForAck("b", Utf8("2"));

        sub.WaitForMessage("b");
        Assert.DoesNotContain(sub.Messages, m => m.Topic == "a");
        Assert.DoesNotContain(sub.Subacks.Skip(2), s => s.Filter == "a");
    }

    [Fact]
    public void Start_WhileTheBrokerIsDown_ConnectsOnceItComesUp()
    {
        using var broker = MosquittoBroker.Start(output);
        broker.Stop();

        using var client = MqttProbe.Start(MqttProbe.Options(broker, "early"), output, "early", waitConnected: false);
        client.Client.Subscribe("edgegate/early");
        Assert.False(client.Client.IsConnected);

        broker.Restart();
        Wait.Until(() => client.Client.IsConnected, "the client to connect after the broker started");
        Wait.Until(() => client.Subacks.Any(s => s.Filter == "edgegate/early"), "the subscription made while offline");
        using var pub = MqttProbe.Start(MqttProbe.Options(broker, "pub"), output, "pub");
        pub.PublishAndWaitForAck("edgegate/early", Utf8("hi"));
        client.WaitForMessage("edgegate/early");
    }

    [Fact]
    public void Mqtt5_ResponseTopicAndCorrelationData_RoundTrip()
    {
        using var broker = MosquittoBroker.Start(output);
        var v5 = (string id) =>
        {
            var o = MqttProbe.Options(broker, id);
            o.ProtocolVersion = MqttProtocolVersion.V5;
            return o;
        };
        using var device = MqttProbe.Start(v5("device"), output, "device");
        using var app = MqttProbe.Start(v5("app"), output, "app");
        device.SubscribeAndWait("edgegate/door1/cmd/#");
        app.SubscribeAndWait("app/replies/#");

        var correlation = new byte[] { 0, 1, 2, 250, 255 };
        app.PublishAndWaitForAck("edgegate/door1/cmd/unlock", Utf8("{}"), properties: new("app/replies/42", correlation));
        var request = device.WaitForMessage("edgegate/door1/cmd/unlock");
        Assert.Equal("app/replies/42", request.ResponseTopic);
        Assert.Equal(correlation, request.CorrelationData);

        device.PublishAndWaitForAck(request.ResponseTopic!, Utf8("ok"), properties: new(CorrelationData: request.CorrelationData));
        var reply = app.WaitForMessage("app/replies/42");
        Assert.Equal(correlation, reply.CorrelationData);
        Assert.Null(reply.ResponseTopic);
    }

    [Fact]
    public void Mqtt311_RefusesMqtt5Properties()
    {
        using var broker = MosquittoBroker.Start(output);
        using var client = MqttProbe.Start(MqttProbe.Options(broker, "v311"), output, "v311");
        var ex = Assert.Throws<InvalidOperationException>(() =>
            client.Client.Publish("t", Utf8("x"), 1, false, new MqttPublishProperties("reply")));
        Assert.Contains("EdgeGate:Mqtt:ProtocolVersion", ex.Message);
    }

    [Fact]
    public void Publish_InvalidTopic_ThrowsMosquittoExceptionWithTheLibraryText()
    {
        using var broker = MosquittoBroker.Start(output);
        using var client = MqttProbe.Start(MqttProbe.Options(broker, "pub"), output, "pub");
        var ex = Assert.Throws<MosquittoException>(() => client.Client.Publish("edgegate/+/oops", Utf8("x")));
        Assert.Equal(3, ex.Code);
        Assert.Contains("publish", ex.Operation);
        Assert.Contains("Invalid", ex.NativeMessage, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V5)]
    public void Credentials_RightOnesConnect_WrongOnesAreRefusedAgainAndAgain(MqttProtocolVersion version)
    {
        var dir = Directory.CreateTempSubdirectory("edgegate-mqtt-pw-").FullName;
        try
        {
            var passwords = Path.Combine(dir, "passwords");
            using (var p = Process.Start("mosquitto_passwd", ["-b", "-c", passwords, "door1", "s3cret"]))
            {
                p.WaitForExit();
                Assert.Equal(0, p.ExitCode);
            }

            using var broker = MosquittoBroker.Start(output, new MosquittoBrokerOptions
            {
                ExtraConfig = $"allow_anonymous false\npassword_file {passwords}",
            });
            MqttClientOptions With(string id, string password)
            {
                var o = MqttProbe.Options(broker, id);
                o.ProtocolVersion = version;
                o.Username = "door1";
                o.Password = password;
                return o;
            }

            using (MqttProbe.Start(With("good", "s3cret"), output, "good"))
            {
            }

            using var bad = MqttProbe.Start(With("bad", "wrong"), output, "bad", waitConnected: false);
            // Three refusals prove the client keeps trying: under MQTT 5 libmosquitto's own thread would stop after the first.
            Wait.Until(() => bad.DisconnectCount >= 3, "three refused attempts", TimeSpan.FromSeconds(30));
            Assert.False(bad.Client.IsConnected);
            Assert.Empty(bad.Connects);
            Assert.All(bad.Disconnects, d => Assert.NotEqual(0, d.ReasonCode));
            Assert.Contains("authori", bad.Disconnects.First().Reason, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Handlers_ThatThrow_DoNotStopOtherHandlersOrTheClient()
    {
        using var broker = MosquittoBroker.Start(output);
        using var sub = MqttProbe.Start(MqttProbe.Options(broker, "sub"), output, "sub");
        var calls = 0;
        sub.Client.MessageReceived += (_, _) => throw new InvalidOperationException("handler bug");
        sub.Client.MessageReceived += (_, _) => Interlocked.Increment(ref calls);
        sub.SubscribeAndWait("t");
        using var pub = MqttProbe.Start(MqttProbe.Options(broker, "pub"), output, "pub");
        pub.PublishAndWaitForAck("t", Utf8("1"));
        pub.PublishAndWaitForAck("t", Utf8("2"));
        Wait.Until(() => Volatile.Read(ref calls) == 2 && sub.Messages.Count == 2, "both messages past the throwing handler");
        Assert.True(sub.Client.IsConnected);
    }

    [Fact]
    public void Dispose_FromAnEventHandler_IsRefused()
    {
        using var broker = MosquittoBroker.Start(output);
        using var sub = MqttProbe.Start(MqttProbe.Options(broker, "sub"), output, "sub");
        Exception? seen = null;
        sub.Client.MessageReceived += (_, _) =>
        {
            try { sub.Client.Dispose(); }
            catch (Exception ex) { seen = ex; }
        };
        sub.SubscribeAndWait("t");
        using var pub = MqttProbe.Start(MqttProbe.Options(broker, "pub"), output, "pub");
        pub.PublishAndWaitForAck("t", Utf8("1"));
        Wait.Until(() => Volatile.Read(ref seen) is not null, "the handler to try Dispose");
        Assert.IsType<InvalidOperationException>(seen);
        Assert.True(sub.Client.IsConnected);
    }
}
