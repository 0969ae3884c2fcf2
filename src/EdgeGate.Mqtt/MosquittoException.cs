namespace EdgeGate.Mqtt;

/// <summary>
/// A libmosquitto call failed. <see cref="Code"/> is the <c>mosq_err_t</c> value (4 = no connection, 3 = invalid
/// argument, 9 = payload too large, 14 = see errno, ...), <see cref="Operation"/> the call that failed.
/// </summary>
public sealed class MosquittoException(int code, string operation, string nativeMessage)
    : Exception($"mosquitto {operation} failed: {nativeMessage} (rc {code})")
{
    public int Code { get; } = code;
    public string Operation { get; } = operation;
    public string NativeMessage { get; } = nativeMessage;
}
