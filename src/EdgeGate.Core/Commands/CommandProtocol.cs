using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EdgeGate.Core.Commands;

/// <summary>
/// Stable error codes of command replies. They are a public contract (the admin tool and facility software branch on
/// them): add codes, never rename.
/// </summary>
public static class CommandErrors
{
    public const string PayloadTooLarge = "payload_too_large";
    public const string BadJson = "bad_json";
    public const string BadRequestId = "bad_request_id";
    public const string UnknownVerb = "unknown_verb";
    public const string MissingField = "missing_field";
    public const string BadField = "bad_field";
    public const string BadBase64 = "bad_base64";
    public const string NoFace = "no_face";
    public const string MultipleFaces = "multiple_faces";
    public const string FaceTooSmall = "face_too_small";
    public const string AlreadyEnrolledAs = "already_enrolled_as";
    public const string AlreadyExists = "already_exists";
    public const string NotFound = "not_found";
    public const string Unauthenticated = "unauthenticated";
    public const string BadSignature = "bad_signature";
    public const string WrongTarget = "wrong_target";
    public const string Stale = "stale";
    public const string Replayed = "replayed";
    public const string Busy = "busy";
    public const string Unavailable = "unavailable";
    public const string Internal = "internal";
    public const string Timeout = "timeout";

    /// <summary>Codes that mean "refused before anything was looked at": each is also a security event.</summary>
    public static bool IsSecurity(string code) =>
        code is Unauthenticated or BadSignature or WrongTarget or Stale or Replayed;
}

/// <summary>A command refused with a stable <see cref="Code"/>; <see cref="Details"/> lists per-item problems (e.g. each image).</summary>
public sealed class CommandException(string code, string message, JsonArray? details = null, JsonObject? extra = null) : Exception(message)
{
    public string Code { get; } = code;
    public JsonArray? Details { get; } = details;

    /// <summary>Fields added to the error object (e.g. <c>person_id</c> for <c>already_enrolled_as</c>).</summary>
    public JsonObject? Extra { get; } = extra;

    /// <summary>The request id, when it could be read (unauthenticated: only used to address the reply).</summary>
    public string? RequestId { get; init; }
}

/// <summary>
/// A command as it came off the wire, before authentication. <see cref="SignedBytes"/> are the exact bytes the HMAC
/// covers (the raw value of the <c>signed</c> member, not a re-serialisation).
/// </summary>
public sealed class RawCommand
{
    public required string TopicVerb { get; init; }
    public string? RequestId { get; init; }
    public required byte[] SignedBytes { get; init; }
    public string? Signature { get; init; }
    public string? Verb { get; init; }
    public string? Device { get; init; }
    public long? Timestamp { get; init; }
    public string? Nonce { get; init; }
    public required JsonElement Args { get; init; }
}

/// <summary>
/// The wire format. Topic <c>&lt;prefix&gt;/&lt;device&gt;/cmd/&lt;verb&gt;</c>; payload (UTF-8 JSON):
/// <code>{"signed":{"request_id":"r1","verb":"get","device":"gate-1","ts":1763822400,"nonce":"…","args":{…}},"sig":"&lt;base64 HMAC-SHA256&gt;"}</code>
/// The HMAC covers the exact bytes of the <c>signed</c> value as sent (no canonicalisation). Replies go to
/// <c>&lt;prefix&gt;/&lt;device&gt;/reply/&lt;request_id&gt;</c>.
/// </summary>
public static class CommandProtocol
{
    public const int MaxRequestIdLength = 64;
    public const int MaxNonceLength = 128;
    public const int MinNonceLength = 8;
    public const int MaxJsonDepth = 16;

    /// <summary>The verb of a command topic under <paramref name="baseTopic"/> (<c>prefix/device</c>), or null.</summary>
    public static string? VerbOf(string baseTopic, string topic)
    {
        var prefix = baseTopic + "/cmd/";
        if (!topic.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var verb = topic[prefix.Length..];
        return verb.Length is > 0 and <= 32 && verb.All(c => c is (>= 'a' and <= 'z') or '_') ? verb : null;
    }

    /// <summary>Request ids become a topic level: letters, digits and <c>-_.:</c> only, 1..64 characters.</summary>
    public static bool IsValidRequestId(string? id) =>
        id is { Length: > 0 and <= MaxRequestIdLength } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');

    /// <summary>
    /// Parses the envelope. Nothing here is trusted yet: the result still has to pass <see cref="CommandAuthenticator"/>.
    /// </summary>
    /// <exception cref="CommandException">payload_too_large, bad_json, bad_request_id (with whatever request id could be read).</exception>
    public static RawCommand Parse(string topicVerb, ReadOnlySpan<byte> payload, int maxBytes)
    {
        if (payload.Length > maxBytes)
            throw new CommandException(CommandErrors.PayloadTooLarge, $"payload is {payload.Length} bytes; the limit is {maxBytes}");
        // JsonDocument checks structure, not the bytes inside strings: invalid UTF-8 there would only throw on reading.
        if (!System.Text.Unicode.Utf8.IsValid(payload))
            throw new CommandException(CommandErrors.BadJson, "the payload is not valid UTF-8");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(payload.ToArray(), new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException e)
        {
            throw new CommandException(CommandErrors.BadJson, $"not JSON: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CommandException(CommandErrors.BadJson, "the payload must be a JSON object {\"signed\":{…},\"sig\":\"…\"}");
            if (!root.TryGetProperty("signed", out var signed) || signed.ValueKind != JsonValueKind.Object)
                throw new CommandException(CommandErrors.BadJson, "'signed' must be a JSON object");
            string? requestId = null;
            if (signed.TryGetProperty("request_id", out var rid))
            {
                requestId = rid.ValueKind == JsonValueKind.String ? rid.GetString() : null;
                if (!IsValidRequestId(requestId))
                    throw new CommandException(CommandErrors.BadRequestId, "request_id must be 1..64 of letters, digits, '-', '_', '.', ':'");
            }
            else throw new CommandException(CommandErrors.MissingField, "'signed.request_id' is required");
            string? sig = root.TryGetProperty("sig", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            if (root.TryGetProperty("sig", out s) && s.ValueKind != JsonValueKind.String)
                throw new CommandException(CommandErrors.BadSignature, "'sig' must be a base64 string") { RequestId = requestId };
            var args = signed.TryGetProperty("args", out var a) ? a.Clone() : JsonDocument.Parse("{}").RootElement.Clone();
            return new RawCommand
            {
                TopicVerb = topicVerb,
                RequestId = requestId,
                SignedBytes = JsonMarshal.GetRawUtf8Value(signed).ToArray(),
                Signature = sig,
                Verb = StringOf(signed, "verb"),
                Device = StringOf(signed, "device"),
                Timestamp = signed.TryGetProperty("ts", out var ts) && ts.ValueKind == JsonValueKind.Number && ts.TryGetInt64(out var t) ? t : null,
                Nonce = StringOf(signed, "nonce"),
                Args = args,
            };
        }
    }

    private static string? StringOf(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Builds and signs a command payload (the admin tool and tests use this; the daemon only verifies).</summary>
    public static byte[] Sign(byte[] key, string requestId, string verb, string device, long unixSeconds, string nonce, JsonObject? args)
    {
        var signed = new JsonObject
        {
            ["request_id"] = requestId,
            ["verb"] = verb,
            ["device"] = device,
            ["ts"] = unixSeconds,
            ["nonce"] = nonce,
            ["args"] = args?.DeepClone() ?? new JsonObject(),
        };
        return Envelope(Encoding.UTF8.GetBytes(signed.ToJsonString()), key);
    }

    /// <summary>Wraps already serialised <paramref name="signedJson"/> with its HMAC, byte for byte.</summary>
    public static byte[] Envelope(byte[] signedJson, byte[]? key)
    {
        var buffer = new ArrayBufferWriter<byte>(signedJson.Length + 80);
        buffer.Write("{\"signed\":"u8);
        buffer.Write(signedJson);
        if (key is not null)
        {
            buffer.Write(",\"sig\":\""u8);
            buffer.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(HMACSHA256.HashData(key, signedJson))));
            buffer.Write("\""u8);
        }
        buffer.Write("}"u8);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] OkReply(string? requestId, JsonObject result) =>
        Encoding.UTF8.GetBytes(new JsonObject { ["request_id"] = requestId, ["ok"] = true, ["result"] = result }.ToJsonString());

    public static byte[] ErrorReply(string? requestId, CommandException e)
    {
        var error = new JsonObject { ["code"] = e.Code, ["message"] = e.Message };
        if (e.Extra is not null) foreach (var (k, v) in e.Extra) error[k] = v?.DeepClone();
        if (e.Details is not null) error["details"] = e.Details.DeepClone();
        return Encoding.UTF8.GetBytes(new JsonObject { ["request_id"] = requestId, ["ok"] = false, ["error"] = error }.ToJsonString());
    }

    public static string NewNonce() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
