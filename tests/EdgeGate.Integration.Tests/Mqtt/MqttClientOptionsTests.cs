using EdgeGate.Mqtt;

namespace EdgeGate.Integration.Tests.Mqtt;

/// <summary>Option validation: every problem is reported with the configuration key to fix.</summary>
public sealed class MqttClientOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgegate-mqtt-opts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ExistingFile(string name)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, "-----BEGIN CERTIFICATE-----\n");
        return path;
    }

    [Fact]
    public void Defaults_AreValid()
    {
        Assert.Empty(new MqttClientOptions().Validate());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65536)]
    public void Port_OutOfRange_NamesThePortKey(int port)
    {
        var errors = new MqttClientOptions { Port = port }.Validate();
        var error = Assert.Single(errors);
        Assert.StartsWith("EdgeGate:Mqtt:Port ", error);
        Assert.Contains(port.ToString(), error);
    }

    [Fact]
    public void Tls_MissingCaFile_NamesTheCaFileKey()
    {
        var missing = Path.Combine(_dir, "nope.pem");
        var error = Assert.Single(new MqttClientOptions { Tls = new() { CaFile = missing } }.Validate());
        Assert.StartsWith("EdgeGate:Mqtt:Tls:CaFile ", error);
        Assert.Contains(missing, error);
    }

    [Fact]
    public void Tls_WithoutAnyCa_IsRejected()
    {
        var error = Assert.Single(new MqttClientOptions { Tls = new() }.Validate());
        Assert.StartsWith("EdgeGate:Mqtt:Tls:CaFile ", error);
    }

    [Fact]
    public void Tls_CertificateWithoutKey_NamesTheKeyFileKey()
    {
        var options = new MqttClientOptions
        {
            Tls = new() { CaFile = ExistingFile("ca.pem"), CertFile = ExistingFile("client.pem") },
        };
        var error = Assert.Single(options.Validate());
        Assert.StartsWith("EdgeGate:Mqtt:Tls:KeyFile ", error);
    }

    [Fact]
    public void Tls_KeyWithoutCertificate_NamesTheCertFileKey()
    {
        var options = new MqttClientOptions
        {
            Tls = new() { CaFile = ExistingFile("ca.pem"), KeyFile = ExistingFile("client.key") },
        };
        Assert.StartsWith("EdgeGate:Mqtt:Tls:CertFile ", Assert.Single(options.Validate()));
    }

    [Fact]
    public void PersistentSession_NeedsAClientId()
    {
        var error = Assert.Single(new MqttClientOptions { CleanSession = false }.Validate());
        Assert.StartsWith("EdgeGate:Mqtt:ClientId ", error);
        Assert.Empty(new MqttClientOptions { CleanSession = false, ClientId = "door1" }.Validate());
    }

    [Fact]
    public void PasswordWithoutUser_IsRejectedUnderMqtt311_AllowedUnderMqtt5()
    {
        Assert.StartsWith("EdgeGate:Mqtt:Username ", Assert.Single(new MqttClientOptions { Password = "x" }.Validate()));
        Assert.Empty(new MqttClientOptions { Password = "x", ProtocolVersion = MqttProtocolVersion.V5 }.Validate());
    }

    [Fact]
    public void LastWill_WithWildcardTopicOrBadQos_NamesTheWillKeys()
    {
        var errors = new MqttClientOptions { LastWill = new() { Topic = "edgegate/+/status", Qos = 3 } }.Validate();
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("EdgeGate:Mqtt:LastWill:Topic "));
        Assert.Contains(errors, e => e.StartsWith("EdgeGate:Mqtt:LastWill:Qos "));
    }

    [Fact]
    public void SeveralProblems_AreAllReported_AndTheClientRefusesToBeBuilt()
    {
        var options = new MqttClientOptions
        {
            Host = "",
            Port = 0,
            KeepAliveSeconds = 1,
            ReconnectDelayMinSeconds = 5,
            ReconnectDelayMaxSeconds = 2,
            MaxInFlight = 0,
        };
        Assert.Equal(5, options.Validate().Count);

        var ex = Assert.Throws<MqttOptionsException>(() => new MosquittoClient(options));
        Assert.Equal(5, ex.Errors.Count);
        foreach (var key in new[] { "Host", "Port", "KeepAliveSeconds", "ReconnectDelayMaxSeconds", "MaxInFlight" })
            Assert.Contains($"EdgeGate:Mqtt:{key} ", ex.Message);
    }
}
