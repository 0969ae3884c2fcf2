using System.Net.Sockets;
using System.Text;
using EdgeGate.Daemon;

namespace EdgeGate.Integration.Tests.Daemon;

public sealed class SystemdNotifierTests
{
    private static string Receive(Socket s)
    {
        var buffer = new byte[256];
        s.ReceiveTimeout = 5000;
        return Encoding.UTF8.GetString(buffer, 0, s.Receive(buffer));
    }

    [Fact]
    public void SendsEachStateAsOneDatagram_ToAnAbstractSocket()
    {
        var name = $"edgegate-test-{Guid.NewGuid():N}";
        using var server = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        server.Bind(new UnixDomainSocketEndPoint("\0" + name));
        using var notifier = new SystemdNotifier("@" + name, TimeSpan.FromSeconds(4));

        Assert.True(notifier.IsEnabled);
        notifier.Notify("READY=1\nSTATUS=ready");
        notifier.Notify("WATCHDOG=1");
        Assert.Equal("READY=1\nSTATUS=ready", Receive(server));
        Assert.Equal("WATCHDOG=1", Receive(server));
        Assert.Equal(TimeSpan.FromSeconds(4), notifier.WatchdogInterval);
    }

    [Fact]
    public void WithoutNotifySocket_IsOff_AndNotifyDoesNothing()
    {
        using var notifier = new SystemdNotifier(null);
        Assert.False(notifier.IsEnabled);
        notifier.Notify("READY=1");
    }

    [Fact]
    public void ASocketThatIsGone_IsReportedOnce_NotThrown()
    {
        var errors = new List<string>();
        using var notifier = new SystemdNotifier(Path.Combine(Path.GetTempPath(), $"gone-{Guid.NewGuid():N}.sock"), onError: errors.Add);
        notifier.Notify("READY=1");
        notifier.Notify("WATCHDOG=1");
        Assert.Single(errors);
        Assert.Contains("sd_notify", errors[0]);
    }
}
