using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EdgeGate.Mqtt.Interop;

/// <summary>Owns one <c>struct mosquitto*</c>; releasing it calls <c>mosquitto_destroy</c>.</summary>
/// <remarks>Only release it once the network loop has returned: destroy under a running loop is a use-after-free.</remarks>
internal sealed class MosquittoHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle()
    {
        Mosquitto.mosquitto_destroy(handle);
        return true;
    }
}

/// <summary>
/// libmosquitto 2.0 entry points, loaded by soname so the runtime package (libmosquitto1) suffices.
/// Layouts and behaviour are those checked for 2.0.11 in shared/interop-facts.md §3.
/// </summary>
internal static unsafe partial class Mosquitto
{
    private const string Lib = "libmosquitto.so.1";

    public const int ErrSuccess = 0;
    public const int ErrNoConn = 4;
    public const int ErrConnLost = 7;

    public const int OptProtocolVersion = 1;
    public const int OptSendMaximum = 5;
    public const int ProtocolV311 = 4;
    public const int ProtocolV5 = 5;

    public const int PropResponseTopic = 8;
    public const int PropCorrelationData = 9;

    public const int LogInfo = 1 << 0;
    public const int LogNotice = 1 << 1;
    public const int LogWarning = 1 << 2;
    public const int LogErr = 1 << 3;

    /// <summary><c>struct mosquitto_message</c>: 40 bytes on 64-bit; topic and payload are only valid during the callback.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Message
    {
        public int Mid;
        public byte* Topic;
        public byte* Payload;
        public int PayloadLength;
        public int Qos;
        public byte Retain;
    }

    private static readonly Lazy<bool> s_initialized = new(() =>
    {
        // Not thread-safe in C and must run once per process; lib_cleanup is deliberately never called because
        // clients may live until the process exits.
        Check(mosquitto_lib_init(), "lib_init");
        return true;
    });

    public static void EnsureInitialized() => _ = s_initialized.Value;

    /// <summary>The one rc checker: anything but MOSQ_ERR_SUCCESS becomes a <see cref="MosquittoException"/>.</summary>
    public static void Check(int rc, string operation)
    {
        if (rc != ErrSuccess)
            throw new MosquittoException(rc, operation, ErrorText(rc));
    }

    public static string ErrorText(int rc) => Marshal.PtrToStringUTF8(mosquitto_strerror(rc)) ?? $"error {rc}";

    /// <summary>Text for a CONNACK code: v3.1.1 return codes (1..5) or MQTT 5 reason codes (128+).</summary>
    public static string ConnackText(int code, bool v5) =>
        Marshal.PtrToStringUTF8(v5 ? mosquitto_reason_string(code) : mosquitto_connack_string(code)) ?? $"code {code}";

    public static string? ReadStringProperty(nint properties, int identifier)
    {
        if (properties == 0) return null;
        byte* value = null;
        if (mosquitto_property_read_string(properties, identifier, &value, 0) == 0 || value is null) return null;
        try
        {
            return Marshal.PtrToStringUTF8((nint)value);
        }
        finally
        {
            // The library hands over a malloc'd copy; NativeMemory.Free is free() on Linux.
            NativeMemory.Free(value);
        }
    }

    public static byte[]? ReadBinaryProperty(nint properties, int identifier)
    {
        if (properties == 0) return null;
        void* value = null;
        ushort length = 0;
        if (mosquitto_property_read_binary(properties, identifier, &value, &length, 0) == 0) return null;
        try
        {
            return value is null ? [] : new ReadOnlySpan<byte>(value, length).ToArray();
        }
        finally
        {
            NativeMemory.Free(value);
        }
    }

    [LibraryImport(Lib)]
    private static partial int mosquitto_lib_init();

    [LibraryImport(Lib)]
    private static partial nint mosquitto_strerror(int rc);

    [LibraryImport(Lib)]
    private static partial nint mosquitto_connack_string(int code);

    [LibraryImport(Lib)]
    private static partial nint mosquitto_reason_string(int code);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial MosquittoHandle mosquitto_new(string? id, [MarshalAs(UnmanagedType.U1)] bool cleanSession, nint obj);

    [LibraryImport(Lib)]
    internal static partial void mosquitto_destroy(nint mosq);

    [LibraryImport(Lib)]
    public static partial int mosquitto_int_option(MosquittoHandle mosq, int option, int value);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_will_set(
        MosquittoHandle mosq, string topic, int payloadLength, byte* payload, int qos, [MarshalAs(UnmanagedType.U1)] bool retain);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_username_pw_set(MosquittoHandle mosq, string? username, string? password);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_tls_set(
        MosquittoHandle mosq, string? caFile, string? caPath, string? certFile, string? keyFile, nint passwordCallback);

    [LibraryImport(Lib)]
    public static partial int mosquitto_tls_insecure_set(MosquittoHandle mosq, [MarshalAs(UnmanagedType.U1)] bool value);

    [LibraryImport(Lib)]
    public static partial int mosquitto_reconnect_delay_set(
        MosquittoHandle mosq, uint delay, uint delayMax, [MarshalAs(UnmanagedType.U1)] bool exponential);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_connect_async(MosquittoHandle mosq, string host, int port, int keepalive);

    [LibraryImport(Lib)]
    public static partial int mosquitto_reconnect_async(MosquittoHandle mosq);

    [LibraryImport(Lib)]
    public static partial int mosquitto_threaded_set(MosquittoHandle mosq, [MarshalAs(UnmanagedType.U1)] bool threaded);

    /// <summary>Runs the network loop on the calling thread, reconnecting on its own, until a disconnect or a fatal error.</summary>
    [LibraryImport(Lib)]
    public static partial int mosquitto_loop_forever(MosquittoHandle mosq, int timeout, int maxPackets);

    [LibraryImport(Lib)]
    public static partial int mosquitto_disconnect(MosquittoHandle mosq);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_publish_v5(
        MosquittoHandle mosq, int* mid, string topic, int payloadLength, byte* payload, int qos,
        [MarshalAs(UnmanagedType.U1)] bool retain, nint properties);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_subscribe(MosquittoHandle mosq, int* mid, string pattern, int qos);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_unsubscribe(MosquittoHandle mosq, int* mid, string pattern);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_property_add_string(nint* properties, int identifier, string value);

    [LibraryImport(Lib)]
    public static partial int mosquitto_property_add_binary(nint* properties, int identifier, byte* value, ushort length);

    [LibraryImport(Lib)]
    public static partial void mosquitto_property_free_all(nint* properties);

    [LibraryImport(Lib)]
    private static partial nint mosquitto_property_read_string(nint properties, int identifier, byte** value, byte skipFirst);

    [LibraryImport(Lib)]
    private static partial nint mosquitto_property_read_binary(
        nint properties, int identifier, void** value, ushort* length, byte skipFirst);

    // Callbacks: (mosq, obj, ...). All run on the client's loop thread.

    [LibraryImport(Lib)]
    public static partial void mosquitto_connect_v5_callback_set(
        MosquittoHandle mosq, delegate* unmanaged[Cdecl]<nint, nint, int, int, nint, void> callback);

    [LibraryImport(Lib)]
    public static partial void mosquitto_disconnect_v5_callback_set(
        MosquittoHandle mosq, delegate* unmanaged[Cdecl]<nint, nint, int, nint, void> callback);

    [LibraryImport(Lib)]
    public static partial void mosquitto_publish_v5_callback_set(
        MosquittoHandle mosq, delegate* unmanaged[Cdecl]<nint, nint, int, int, nint, void> callback);

    [LibraryImport(Lib)]
    public static partial void mosquitto_message_v5_callback_set(
        MosquittoHandle mosq, delegate* unmanaged[Cdecl]<nint, nint, Message*, nint, void> callback);

    [LibraryImport(Lib)]
    public static partial void mosquitto_subscribe_v5_callback_set(
        MosquittoHandle mosq, delegate* unmanaged[Cdecl]<nint, nint, int, int, int*, nint, void> callback);

    [LibraryImport(Lib)]
    public static partial void mosquitto_log_callback_set(
        MosquittoHandle mosq, delegate* unmanaged[Cdecl]<nint, nint, int, byte*, void> callback);
}
