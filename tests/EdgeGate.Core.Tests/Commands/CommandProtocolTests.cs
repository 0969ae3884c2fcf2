using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeGate.Core.Commands;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests.Commands;

public sealed class CommandProtocolTests
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private const string Device = "gate-1";
    private readonly ManualTime _time = new();

    private long Now => _time.GetUtcNow().ToUnixTimeSeconds();

    private CommandAuthenticator Auth(int maxNonces = 1000) =>
        new(Key, Device, new CommandAuthOptions { MaxSkew = TimeSpan.FromSeconds(60), MaxNonces = maxNonces }, _time);

    private byte[] Signed(string verb = "get", string? nonce = null, long? ts = null, string device = Device, byte[]? key = null, JsonObject? args = null) =>
        CommandProtocol.Sign(key ?? Key, "r-1", verb, device, ts ?? Now, nonce ?? CommandProtocol.NewNonce(), args ?? new JsonObject { ["id"] = "alice" });

    private static string CodeOf(Action a) => Assert.Throws<CommandException>(a).Code;

    [Fact]
    public void SignedCommand_ParsesAndAuthenticates_WithItsArgs()
    {
        var raw = CommandProtocol.Parse("get", Signed(), 1 << 20);
        Auth().Authenticate(raw);
        Assert.Equal("r-1", raw.RequestId);
        Assert.Equal("alice", new CommandArgs(raw.Args).RequiredString("id", 128));
    }

    [Fact]
    public void SignatureCoversTheExactBytes_AnyChangeInsideSignedIsRefused()
    {
        var payload = Encoding.UTF8.GetString(Signed());
        // Same JSON meaning, different bytes (a space): must not verify, since there is no canonicalisation.
        var spaced = payload.Replace("\"args\":", "\"args\": ");
        Assert.Equal(CommandErrors.BadSignature, CodeOf(() => Auth().Authenticate(CommandProtocol.Parse("get", Encoding.UTF8.GetBytes(spaced), 1 << 20))));
        var changed = payload.Replace("alice", "alicf");
        Assert.Equal(CommandErrors.BadSignature, CodeOf(() => Auth().Authenticate(CommandProtocol.Parse("get", Encoding.UTF8.GetBytes(changed), 1 << 20))));
    }

    [Fact]
    public void WrongKey_IsBadSignature() =>
        Assert.Equal(CommandErrors.BadSignature, CodeOf(() => Auth().Authenticate(CommandProtocol.Parse("get", Signed(key: new byte[32]), 1 << 20))));

    [Fact]
    public void Unsigned_IsUnauthenticated_AndKeepsTheRequestIdForTheReply()
    {
        var unsigned = CommandProtocol.Envelope("""{"request_id":"abc","verb":"get","device":"gate-1","ts":1,"nonce":"12345678"}"""u8.ToArray(), key: null);
        var e = Assert.Throws<CommandException>(() => Auth().Authenticate(CommandProtocol.Parse("get", unsigned, 1 << 20)));
        Assert.Equal(CommandErrors.Unauthenticated, e.Code);
        Assert.Equal("abc", e.RequestId);
    }

    [Fact]
    public void GarbageSignature_IsBadSignature() =>
        Assert.Equal(CommandErrors.BadSignature, CodeOf(() => Auth().Authenticate(CommandProtocol.Parse("get",
            """{"signed":{"request_id":"a"},"sig":"not base64!"}"""u8.ToArray(), 1 << 20))));

    [Theory]
    [InlineData(-61, CommandErrors.Stale)]
    [InlineData(61, CommandErrors.Stale)]
    [InlineData(-60, null)]
    [InlineData(60, null)]
    public void TimestampOutsideTheWindow_IsStale(int offsetSeconds, string? expected)
    {
        var raw = CommandProtocol.Parse("get", Signed(ts: Now + offsetSeconds), 1 << 20);
        if (expected is null) Auth().Authenticate(raw);
        else Assert.Equal(expected, CodeOf(() => Auth().Authenticate(raw)));
    }

    [Fact]
    public void SameNonceTwice_IsReplayed_EvenAsAnotherRequest()
    {
        var auth = Auth();
        auth.Authenticate(CommandProtocol.Parse("get", Signed(nonce: "nonce-0001"), 1 << 20));
        Assert.Equal(CommandErrors.Replayed, CodeOf(() => auth.Authenticate(CommandProtocol.Parse("get", Signed(nonce: "nonce-0001"), 1 << 20))));
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(CommandErrors.Replayed, CodeOf(() => auth.Authenticate(CommandProtocol.Parse("get", Signed(nonce: "nonce-0001", ts: Now - 30), 1 << 20))));
    }

    [Fact]
    public void NoncesExpire_OnlyOnceTheirCommandWouldBeStaleAnyway()
    {
        var auth = Auth();
        var payload = Signed(nonce: "nonce-0002");
        auth.Authenticate(CommandProtocol.Parse("get", payload, 1 << 20));
        _time.Advance(TimeSpan.FromSeconds(200));
        Assert.Equal(CommandErrors.Stale, CodeOf(() => auth.Authenticate(CommandProtocol.Parse("get", payload, 1 << 20))));
        auth.Authenticate(CommandProtocol.Parse("get", Signed(nonce: "nonce-0003"), 1 << 20));
        Assert.Equal(1, auth.RememberedNonces);
    }

    [Fact]
    public void ForgedCommands_DoNotBurnNonces()
    {
        var auth = Auth();
        Assert.Throws<CommandException>(() => auth.Authenticate(CommandProtocol.Parse("get", Signed(nonce: "nonce-0004", key: new byte[32]), 1 << 20)));
        auth.Authenticate(CommandProtocol.Parse("get", Signed(nonce: "nonce-0004"), 1 << 20));
    }

    [Fact]
    public void FullNonceCache_RefusesRatherThanForgets()
    {
        var auth = Auth(maxNonces: 2);
        auth.Authenticate(CommandProtocol.Parse("get", Signed(), 1 << 20));
        auth.Authenticate(CommandProtocol.Parse("get", Signed(), 1 << 20));
        Assert.Equal(CommandErrors.Busy, CodeOf(() => auth.Authenticate(CommandProtocol.Parse("get", Signed(), 1 << 20))));
    }

    [Fact]
    public void SignedForAnotherDeviceOrVerb_IsWrongTarget()
    {
        Assert.Equal(CommandErrors.WrongTarget, CodeOf(() => Auth().Authenticate(CommandProtocol.Parse("get", Signed(device: "gate-2"), 1 << 20))));
        // A signed "get" re-published on cmd/delete must not delete.
        Assert.Equal(CommandErrors.WrongTarget, CodeOf(() => Auth().Authenticate(CommandProtocol.Parse("delete", Signed(verb: "get"), 1 << 20))));
    }

    [Fact]
    public void SignedButMissingTimestamp_IsMissingField()
    {
        var signed = """{"request_id":"a","verb":"get","device":"gate-1","nonce":"12345678"}"""u8.ToArray();
        Assert.Equal(CommandErrors.MissingField, CodeOf(() => Auth().Authenticate(CommandProtocol.Parse("get", CommandProtocol.Envelope(signed, Key), 1 << 20))));
    }

    [Theory]
    [InlineData("not json", CommandErrors.BadJson)]
    [InlineData("[1,2]", CommandErrors.BadJson)]
    [InlineData("{\"signed\":5}", CommandErrors.BadJson)]
    [InlineData("{\"signed\":{}}", CommandErrors.MissingField)]
    [InlineData("{\"signed\":{\"request_id\":\"a/b\"}}", CommandErrors.BadRequestId)]
    [InlineData("{\"signed\":{\"request_id\":\"#\"}}", CommandErrors.BadRequestId)]
    [InlineData("{\"signed\":{\"request_id\":7}}", CommandErrors.BadRequestId)]
    public void MalformedEnvelopes_GetTheirCodes(string payload, string code) =>
        Assert.Equal(code, CodeOf(() => CommandProtocol.Parse("get", Encoding.UTF8.GetBytes(payload), 1 << 20)));

    [Fact]
    public void InvalidUtf8InsideAString_IsBadJson_NotAnUnexpectedException()
    {
        // Found by the daemon fuzz run: a flipped bit inside the nonce made GetString throw InvalidOperationException.
        var payload = Signed(nonce: "abcdefgh-nonce");
        var at = Encoding.UTF8.GetString(payload).IndexOf("abcdefgh", StringComparison.Ordinal);
        payload[at + 3] = 0xB2;
        Assert.Equal(CommandErrors.BadJson, CodeOf(() => CommandProtocol.Parse("get", payload, 1 << 20)));
    }

    [Fact]
    public void DeeplyNestedJson_IsBadJson_NotAStackOverflow()
    {
        var deep = "{\"signed\":" + new string('[', 5000) + new string(']', 5000) + "}";
        Assert.Equal(CommandErrors.BadJson, CodeOf(() => CommandProtocol.Parse("get", Encoding.UTF8.GetBytes(deep), 1 << 20)));
    }

    [Fact]
    public void OversizedPayload_IsPayloadTooLarge_BeforeParsing() =>
        Assert.Equal(CommandErrors.PayloadTooLarge, CodeOf(() => CommandProtocol.Parse("get", new byte[1001], 1000)));

    [Theory]
    [InlineData("edgegate/gate-1/cmd/enrol", "enrol")]
    [InlineData("edgegate/gate-1/cmd/add_images", "add_images")]
    [InlineData("edgegate/gate-1/cmd/", null)]
    [InlineData("edgegate/gate-1/cmd/Enrol", null)]
    [InlineData("edgegate/gate-2/cmd/enrol", null)]
    [InlineData("edgegate/gate-1/reply/x", null)]
    public void VerbOfTopic(string topic, string? verb) => Assert.Equal(verb, CommandProtocol.VerbOf("edgegate/gate-1", topic));

    [Fact]
    public void Replies_HaveTheDocumentedShape()
    {
        var ok = JsonDocument.Parse(CommandProtocol.OkReply("r-1", new JsonObject { ["n"] = 1 })).RootElement;
        Assert.Equal("r-1", ok.GetProperty("request_id").GetString());
        Assert.True(ok.GetProperty("ok").GetBoolean());
        Assert.Equal(1, ok.GetProperty("result").GetProperty("n").GetInt32());
        var err = JsonDocument.Parse(CommandProtocol.ErrorReply("r-2", new CommandException(CommandErrors.AlreadyEnrolledAs, "m",
            extra: new JsonObject { ["person_id"] = "bob" }))).RootElement;
        Assert.False(err.GetProperty("ok").GetBoolean());
        Assert.Equal("already_enrolled_as", err.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("bob", err.GetProperty("error").GetProperty("person_id").GetString());
        Assert.Equal("m", err.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public void Args_ReportMissingAndBadFields()
    {
        var args = new CommandArgs(JsonDocument.Parse("""{"name":5,"images":[],"enabled":"yes","valid_until":"soon","limit":1000}""").RootElement);
        Assert.Equal(CommandErrors.MissingField, CodeOf(() => args.RequiredString("id", 10)));
        Assert.Equal(CommandErrors.BadField, CodeOf(() => args.RequiredString("name", 10)));
        Assert.Equal(CommandErrors.MissingField, CodeOf(() => args.RequiredStringArray("images", 10)));
        Assert.Equal(CommandErrors.BadField, CodeOf(() => args.OptionalBool("enabled")));
        Assert.Equal(CommandErrors.BadField, CodeOf(() => args.OptionalTime("valid_until")));
        Assert.Equal(CommandErrors.BadField, CodeOf(() => args.OptionalInt("limit", 50, 1, 500)));
        Assert.Equal((false, (DateTimeOffset?)null), args.OptionalTime("valid_from"));
    }

    [Theory]
    [InlineData("aGVsbG8=", "hello")]
    [InlineData("aGVsbG8", "hello")]
    [InlineData("not base64!", null)]
    [InlineData("", null)]
    public void Base64(string s, string? expected) =>
        Assert.Equal(expected, CommandArgs.DecodeBase64(s) is { } b ? Encoding.UTF8.GetString(b) : null);

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void KeyFile_ReadableByOthers_IsRefused_AndA600FileLoads()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, Convert.ToHexString(Key));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            Assert.Contains("group or others", Assert.Throws<InvalidDataException>(() => CommandAuthenticator.LoadKeyFile(path)).Message);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead);
            Assert.Throws<InvalidDataException>(() => CommandAuthenticator.LoadKeyFile(path));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Assert.Equal(Key, CommandAuthenticator.LoadKeyFile(path));
            File.WriteAllText(path, Convert.ToBase64String(Key));
            Assert.Equal(Key, CommandAuthenticator.LoadKeyFile(path));
            File.WriteAllText(path, "abcd");
            Assert.Throws<InvalidDataException>(() => CommandAuthenticator.LoadKeyFile(path));
        }
        finally { File.Delete(path); }
    }
}
