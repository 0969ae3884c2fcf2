using System.Security.Cryptography;
using System.Text;

namespace EdgeGate.Core.Commands;

public sealed record CommandAuthOptions
{
    /// <summary>How far a command's <c>ts</c> may be from the device clock, either way.</summary>
    public TimeSpan MaxSkew { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Nonces remembered at most (they expire after 2 × <see cref="MaxSkew"/>); beyond it commands get <c>busy</c>.</summary>
    public int MaxNonces { get; init; } = 100_000;
}

/// <summary>
/// Decides whether a <see cref="RawCommand"/> may run: a valid HMAC-SHA256 of its signed bytes under the key, addressed
/// to this device and verb, a timestamp within the window, a nonce not seen within the window. Order matters: nothing
/// of an unverified command is remembered (a forger cannot fill the nonce cache or burn a legitimate nonce).
/// Thread-safe.
/// </summary>
public sealed class CommandAuthenticator(byte[] key, string device, CommandAuthOptions options, TimeProvider? time = null)
{
    private readonly byte[] _key = key.Length >= 16 ? key.ToArray() : throw new ArgumentException("the command key must be at least 16 bytes", nameof(key));
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<string, long> _nonces = new(StringComparer.Ordinal);
    private readonly Queue<(string Nonce, long Expires)> _expiry = new();
    private readonly Lock _gate = new();

    public int RememberedNonces { get { lock (_gate) return _nonces.Count; } }

    /// <exception cref="CommandException">unauthenticated, bad_signature, missing_field, wrong_target, stale, replayed, busy.</exception>
    public void Authenticate(RawCommand c)
    {
        if (string.IsNullOrEmpty(c.Signature))
            throw Refuse(c, CommandErrors.Unauthenticated, "the command is not signed ('sig' missing)");
        var sig = new byte[32];
        if (!Convert.TryFromBase64String(c.Signature, sig, out var n) || n != 32)
            throw Refuse(c, CommandErrors.BadSignature, "'sig' is not a base64 HMAC-SHA256");
        var expected = HMACSHA256.HashData(_key, c.SignedBytes);
        if (!CryptographicOperations.FixedTimeEquals(expected, sig))
            throw Refuse(c, CommandErrors.BadSignature, "the signature does not match");

        // Authentic from here on: the fields below are what the key holder meant.
        if (c.Verb is null) throw Refuse(c, CommandErrors.MissingField, "'signed.verb' is required");
        if (c.Device is null) throw Refuse(c, CommandErrors.MissingField, "'signed.device' is required");
        if (c.Timestamp is null) throw Refuse(c, CommandErrors.MissingField, "'signed.ts' (Unix seconds) is required");
        if (c.Nonce is null) throw Refuse(c, CommandErrors.MissingField, "'signed.nonce' is required");
        if (c.Nonce.Length is < CommandProtocol.MinNonceLength or > CommandProtocol.MaxNonceLength)
            throw Refuse(c, CommandErrors.BadField, $"'signed.nonce' must be {CommandProtocol.MinNonceLength}..{CommandProtocol.MaxNonceLength} characters");
        // A command signed for another door or verb must not run here (the topic is not covered by the HMAC).
        if (!string.Equals(c.Device, device, StringComparison.Ordinal))
            throw Refuse(c, CommandErrors.WrongTarget, $"signed for device '{c.Device}', this is '{device}'");
        if (!string.Equals(c.Verb, c.TopicVerb, StringComparison.Ordinal))
            throw Refuse(c, CommandErrors.WrongTarget, $"signed for verb '{c.Verb}' but sent to cmd/{c.TopicVerb}");

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var skew = (long)Math.Ceiling(options.MaxSkew.TotalSeconds);
        if (Math.Abs(now - c.Timestamp.Value) > skew)
            throw Refuse(c, CommandErrors.Stale, $"ts {c.Timestamp} is {now - c.Timestamp.Value} s from the device clock (window ±{skew} s)");

        lock (_gate)
        {
            while (_expiry.TryPeek(out var head) && head.Expires < now)
            {
                _expiry.Dequeue();
                if (_nonces.TryGetValue(head.Nonce, out var exp) && exp == head.Expires) _nonces.Remove(head.Nonce);
            }
            if (_nonces.ContainsKey(c.Nonce))
                throw Refuse(c, CommandErrors.Replayed, "this nonce was already used");
            // Bounded: refusing is safer than forgetting a nonce that is still inside the window (that would allow a replay).
            if (_nonces.Count >= options.MaxNonces)
                throw Refuse(c, CommandErrors.Busy, "too many commands within the replay window; try again later");
            // Remembered as long as its ts can still pass the window check (ts ≤ now + skew, so until now + 2·skew);
            // expiry grows with the clock, so the queue stays ordered.
            var expires = now + 2 * skew + 1;
            _nonces[c.Nonce] = expires;
            _expiry.Enqueue((c.Nonce, expires));
        }
    }

    private static CommandException Refuse(RawCommand c, string code, string message) => new(code, message) { RequestId = c.RequestId };

    /// <summary>
    /// Reads the command key: base64 or hex text (≥ 16 bytes once decoded). The file must not be accessible to group or
    /// others (it is as good as the door key).
    /// </summary>
    /// <exception cref="InvalidDataException">unreadable, too open, or not a key; the message names the path.</exception>
    public static byte[] LoadKeyFile(string path) => SecretKeyFile.Read(path, "command key file", 16);

    /// <summary>A key as the key file holds it (hex or base64, ≥ 16 bytes, surrounding white space ignored); null if it is not one.</summary>
    public static byte[]? ParseKey(string keyText) => SecretKeyFile.Parse(keyText, 16);
}
