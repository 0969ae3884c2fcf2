using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using EdgeGate.Mqtt;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Mqtt;

/// <summary>TLS to a real mosquitto with a throw-away CA made in the test.</summary>
public sealed class MosquittoTlsTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgegate-mqtt-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Tls_ConnectsWithTheRightCa_SurvivesABrokerCrash_AndRefusesAWrongCa()
    {
        var (caFile, certFile, keyFile) = MakeServerCertificate("ca", "localhost");
        var (otherCa, _, _) = MakeServerCertificate("other", "localhost");
        var tlsPort = FreePort();
        using var broker = MosquittoBroker.Start(output, new MosquittoBrokerOptions
        {
            ExtraConfig = $"listener {tlsPort} 127.0.0.1\ncafile {caFile}\ncertfile {certFile}\nkeyfile {keyFile}",
        });
        MqttClientOptions Tls(string id, string ca) => new()
        {
            Host = "localhost",
            Port = tlsPort,
            ClientId = id,
            ReconnectDelayMinSeconds = 1,
            ReconnectDelayMaxSeconds = 1,
            Tls = new MqttTlsOptions { CaFile = ca },
        };

        using var secure = MqttProbe.Start(Tls("secure", caFile), output, "secure");
        secure.SubscribeAndWait("edgegate/tls");
        secure.PublishAndWaitForAck("edgegate/tls", Encoding.UTF8.GetBytes("over tls"));
        Assert.Equal("over tls", Encoding.UTF8.GetString(secure.WaitForMessage("edgegate/tls").Payload));

        // After a TLS connection breaks, libmosquitto's thread exits instead of retrying; the client must restart it.
        broker.Kill();
        Wait.Until(() => !secure.Client.IsConnected, "the TLS client to notice the crash");
        broker.Restart();
        Wait.Until(() => secure.ConnectCount == 2, "the TLS client to reconnect");

        using var impostor = MqttProbe.Start(Tls("impostor", otherCa), output, "impostor", waitConnected: false);
        Wait.Until(() => impostor.DisconnectCount >= 2, "two failed TLS handshakes");
        Assert.Empty(impostor.Connects);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A CA and a server certificate for <paramref name="host"/> signed by it, as PEM files.</summary>
    private (string Ca, string Cert, string Key) MakeServerCertificate(string name, string host)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN=EdgeGate test CA {name}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest($"CN={host}", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        san.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(san.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(ca, now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(8));

        var caPath = Path.Combine(_dir, $"{name}-ca.pem");
        var certPath = Path.Combine(_dir, $"{name}-server.pem");
        var keyPath = Path.Combine(_dir, $"{name}-server.key");
        File.WriteAllText(caPath, ca.ExportCertificatePem());
        File.WriteAllText(certPath, server.ExportCertificatePem());
        File.WriteAllText(keyPath, serverKey.ExportPkcs8PrivateKeyPem());
        return (caPath, certPath, keyPath);
    }
}
