using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EdgeGate.Camera.Interop;

internal enum GstState
{
    Null = 1,
    Ready = 2,
    Paused = 3,
    Playing = 4,
}

internal enum GstStateChangeReturn
{
    Failure = 0,
    Success = 1,
    Async = 2,
    NoPreroll = 3,
}

[Flags]
internal enum GstMessageType : uint
{
    Eos = 1 << 0,
    Error = 1 << 1,
    Warning = 1 << 2,
    AsyncDone = 1 << 21,
}

/// <summary>
/// GStreamer, GLib and gst-app entry points, loaded by soname so the runtime packages suffice (no -dev symlinks).
/// </summary>
internal static unsafe partial class GStreamer
{
    private const string Gst = "libgstreamer-1.0.so.0";
    private const string GstApp = "libgstapp-1.0.so.0";
    private const string GLib = "libglib-2.0.so.0";
    private const string GObject = "libgobject-2.0.so.0";
    private const string GstVideo = "libgstvideo-1.0.so.0";

    public const ulong ClockTimeNone = ulong.MaxValue;
    private const int MapReadFlag = 1;

    /// <summary>GError: domain, code, then the message pointer (offset 8 on 32- and 64-bit alike).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct GError
    {
        public uint Domain;
        public int Code;
        public byte* Message;
    }

    /// <summary>The public head of a GstMessage: a GstMiniObject (64 bytes on 64-bit), then type, timestamp, src.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct GstMessageHead
    {
        public nuint MiniObjectType;
        public int RefCount;
        public int LockState;
        public uint Flags;
        public nint Copy;
        public nint Dispose;
        public nint Free;
        public uint PrivUint;
        public nint PrivPointer;
        public GstMessageType Type;
        public ulong Timestamp;
        public nint Source;
    }

    /// <summary>
    /// The public head of a GstBuffer (gstbuffer.h, 1.x): a GstMiniObject, the pool pointer, then the timestamps.
    /// On 64-bit the mini object is 64 bytes, so pts is at 72, dts at 80 and duration at 88.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct GstBufferHead
    {
        public nuint MiniObjectType;
        public int RefCount;
        public int LockState;
        public uint Flags;
        public nint Copy;
        public nint Dispose;
        public nint Free;
        public uint PrivUint;
        public nint PrivPointer;
        public nint Pool;
        public ulong Pts;
        public ulong Dts;
        public ulong Duration;
        public ulong Offset;
        public ulong OffsetEnd;
    }

    /// <summary>
    /// The head of a GstVideoMeta (gstvideometa.h, 1.22): GstMeta (flags, info), buffer, flags, format, id, width,
    /// height, n_planes, offset[4] (gsize), stride[4] (gint). On 64-bit: offset[0] at 48, stride[0] at 80.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct GstVideoMetaHead
    {
        public uint MetaFlags;
        public nint MetaInfo;
        public nint Buffer;
        public int VideoFlags;
        public int Format;
        public int Id;
        public uint Width;
        public uint Height;
        public uint PlaneCount;
        public nuint Offset0, Offset1, Offset2, Offset3;
        public int Stride0, Stride1, Stride2, Stride3;
    }

    /// <summary>GstMapInfo: 104 bytes on 64-bit, data at offset 16, size at 24.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct GstMapInfo
    {
        public nint Memory;
        public int Flags;
        public byte* Data;
        public nuint Size;
        public nuint MaxSize;
        // user_data[4] and _gst_reserved[4] are pointers; 8 bytes each only over-allocates on 32-bit.
        private fixed ulong _userDataAndReserved[8];
    }

    private static readonly Lazy<bool> s_initialized = new(() =>
    {
        GError* error = null;
        if (gst_init_check(null, null, &error) == 0)
            throw ToException(error, "gst_init failed");
        return true;
    });

    /// <summary>Initialises GStreamer once per process; thread-safe, and a failure is rethrown on every later call.</summary>
    public static void EnsureInitialized() => _ = s_initialized.Value;

    public static GstObjectHandle ParseLaunch(string description)
    {
        EnsureInitialized();
        GError* error = null;
        var pipeline = gst_parse_launch(description, &error);
        // The pipeline comes back floating; sinking it makes the handle's single unref the owning one.
        if (!pipeline.IsInvalid)
            gst_object_ref_sink(pipeline);
        // A recoverable error (e.g. an unknown property) still returns a pipeline; it would not do what was asked.
        if (error is not null)
        {
            pipeline.Dispose();
            throw ToException(error, $"cannot build pipeline '{description}'");
        }
        if (pipeline.IsInvalid)
            throw new GstException($"cannot build pipeline '{description}'");
        return pipeline;
    }

    public static GstObjectHandle GetByName(GstObjectHandle bin, string name)
    {
        var element = gst_bin_get_by_name(bin, name);
        if (element.IsInvalid)
            throw new GstException($"pipeline has no element named '{name}'");
        return element;
    }

    /// <summary>Pushes one buffer holding <paramref name="data"/>, then end-of-stream.</summary>
    public static void PushAndClose(GstObjectHandle appSrc, ReadOnlySpan<byte> data)
    {
        // The streaming thread reads the bytes after this returns, so they go into g_malloc memory the buffer owns.
        var memory = g_malloc((nuint)data.Length);
        data.CopyTo(new Span<byte>((void*)memory, data.Length));
        var flow = gst_app_src_push_buffer(appSrc, gst_buffer_new_wrapped(memory, (nuint)data.Length));
        if (flow != 0)
            throw new GstException($"appsrc refused the buffer (flow {flow})");
        flow = gst_app_src_end_of_stream(appSrc);
        if (flow != 0)
            throw new GstException($"appsrc refused end-of-stream (flow {flow})");
    }

    public static bool MapRead(nint buffer, GstMapInfo* info) => gst_buffer_map(buffer, info, MapReadFlag) != 0;

    /// <summary>The buffer's presentation timestamp in nanoseconds, or <see cref="ClockTimeNone"/>.</summary>
    public static ulong PtsOf(nint buffer) => ((GstBufferHead*)buffer)->Pts;

    /// <summary>Byte offset and stride of the first plane from the buffer's GstVideoMeta, if it carries one.</summary>
    public static (long Offset, int Stride)? VideoMetaPlane0(nint buffer)
    {
        var meta = (GstVideoMetaHead*)gst_buffer_get_video_meta(buffer);
        return meta is null ? null : ((long)meta->Offset0, meta->Stride0);
    }

    /// <summary>The caps' first structure's width, height and format, or null when any is missing.</summary>
    public static (int Width, int Height, string? Format)? VideoCapsOf(GstSampleHandle sample)
    {
        var caps = gst_sample_get_caps(sample);
        var structure = caps == 0 ? 0 : gst_caps_get_structure(caps, 0);
        int width, height;
        if (structure == 0
            || gst_structure_get_int(structure, "width", &width) == 0
            || gst_structure_get_int(structure, "height", &height) == 0)
            return null;
        return (width, height, Marshal.PtrToStringUTF8((nint)gst_structure_get_string(structure, "format")));
    }

    /// <summary>True when <paramref name="element"/> is a GstAppSink (or a subclass).</summary>
    public static bool IsAppSink(GstObjectHandle element) =>
        g_type_check_instance_is_a(element, gst_app_sink_get_type()) != 0;

    /// <summary>The gst-launch name of the element's factory ("appsink", "fakesink"), for messages.</summary>
    public static string FactoryNameOf(GstObjectHandle element)
    {
        var factory = gst_element_get_factory(element);
        return factory == 0 ? "?" : TakeString(gst_object_get_name(factory)) ?? "?";
    }

    /// <summary>
    /// Pops bus messages up to the first ERROR (waiting up to <paramref name="waitNs"/> for one), dropping the rest,
    /// and returns that error as an exception.
    /// </summary>
    /// <remarks>
    /// Nothing else reads this bus (no main loop), so every message GStreamer posts (state changes, QoS, stream
    /// status) would stay queued for the life of the pipeline; popping them here is what keeps a long-running
    /// camera from growing its bus without bound.
    /// </remarks>
    public static GstException? PopError(GstObjectHandle bus, ulong waitNs = 0)
    {
        using var message = gst_bus_timed_pop_filtered(bus, waitNs, GstMessageType.Error);
        return message.IsInvalid ? null : ToException(message);
    }

    public static GstMessageType TypeOf(GstMessageHandle message) =>
        ((GstMessageHead*)message.DangerousGetHandle())->Type;

    /// <summary>Turns a bus ERROR or WARNING message into an exception carrying the element name and GStreamer's text.</summary>
    public static GstException ToException(GstMessageHandle message)
    {
        var head = (GstMessageHead*)message.DangerousGetHandle();
        GError* error = null;
        byte* debug = null;
        switch (head->Type)
        {
            case GstMessageType.Error: gst_message_parse_error(message, &error, &debug); break;
            case GstMessageType.Warning: gst_message_parse_warning(message, &error, &debug); break;
            default: return new GstException($"unexpected bus message {head->Type}");
        }
        var source = head->Source == 0 ? "pipeline" : TakeString(gst_object_get_name(head->Source)) ?? "?";
        var text = TakeMessage(error) ?? head->Type.ToString();
        return new GstException($"{source}: {text}", TakeString(debug));
    }

    private static GstException ToException(GError* error, string context) =>
        new($"{context}: {TakeMessage(error) ?? "no details"}");

    private static string? TakeMessage(GError* error)
    {
        if (error is null) return null;
        var message = Marshal.PtrToStringUTF8((nint)error->Message);
        g_error_free(error);
        return message;
    }

    private static string? TakeString(byte* text)
    {
        if (text is null) return null;
        var value = Marshal.PtrToStringUTF8((nint)text);
        g_free(text);
        return value;
    }

    [LibraryImport(Gst)]
    private static partial int gst_init_check(int* argc, byte*** argv, GError** error);

    [LibraryImport(Gst, StringMarshalling = StringMarshalling.Utf8)]
    private static partial GstObjectHandle gst_parse_launch(string description, GError** error);

    [LibraryImport(Gst, StringMarshalling = StringMarshalling.Utf8)]
    private static partial GstObjectHandle gst_bin_get_by_name(GstObjectHandle bin, string name);

    [LibraryImport(Gst)]
    public static partial GstObjectHandle gst_element_get_bus(GstObjectHandle element);

    [LibraryImport(Gst)]
    public static partial GstStateChangeReturn gst_element_set_state(GstObjectHandle element, GstState state);

    [LibraryImport(Gst)]
    private static partial nint gst_object_ref_sink(GstObjectHandle gstObject);

    [LibraryImport(Gst)]
    internal static partial void gst_object_unref(nint gstObject);

    [LibraryImport(Gst)]
    private static partial byte* gst_object_get_name(nint gstObject);

    [LibraryImport(Gst)]
    public static partial GstMessageHandle gst_bus_timed_pop_filtered(GstObjectHandle bus, ulong timeoutNs, GstMessageType types);

    [LibraryImport(Gst)]
    private static partial void gst_message_parse_error(GstMessageHandle message, GError** error, byte** debug);

    [LibraryImport(Gst)]
    private static partial void gst_message_parse_warning(GstMessageHandle message, GError** error, byte** debug);

    [LibraryImport(Gst)]
    internal static partial void gst_message_unref(nint message);

    [LibraryImport(Gst)]
    private static partial nint gst_buffer_new_wrapped(nint data, nuint size);

    [LibraryImport(Gst)]
    private static partial int gst_buffer_map(nint buffer, GstMapInfo* info, int flags);

    [LibraryImport(Gst)]
    public static partial void gst_buffer_unmap(nint buffer, GstMapInfo* info);

    [LibraryImport(Gst)]
    private static partial nint gst_sample_get_caps(GstSampleHandle sample);

    [LibraryImport(Gst)]
    public static partial nint gst_sample_get_buffer(GstSampleHandle sample);

    [LibraryImport(Gst)]
    internal static partial void gst_sample_unref(nint sample);

    [LibraryImport(Gst)]
    private static partial nint gst_caps_get_structure(nint caps, uint index);

    [LibraryImport(Gst, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int gst_structure_get_int(nint structure, string field, int* value);

    [LibraryImport(GstApp)]
    private static partial int gst_app_src_push_buffer(GstObjectHandle appSrc, nint buffer);

    [LibraryImport(GstApp)]
    private static partial int gst_app_src_end_of_stream(GstObjectHandle appSrc);

    [LibraryImport(GstApp)]
    public static partial GstSampleHandle gst_app_sink_try_pull_preroll(GstObjectHandle appSink, ulong timeoutNs);

    [LibraryImport(GstApp)]
    public static partial GstSampleHandle gst_app_sink_try_pull_sample(GstObjectHandle appSink, ulong timeoutNs);

    [LibraryImport(GstApp)]
    public static partial int gst_app_sink_is_eos(GstObjectHandle appSink);

    [LibraryImport(GstApp)]
    private static partial nuint gst_app_sink_get_type();

    [LibraryImport(Gst)]
    public static partial GstStateChangeReturn gst_element_get_state(GstObjectHandle element, GstState* state, GstState* pending, ulong timeoutNs);

    [LibraryImport(Gst)]
    private static partial nint gst_element_get_factory(GstObjectHandle element);

    [LibraryImport(Gst, StringMarshalling = StringMarshalling.Utf8)]
    private static partial byte* gst_structure_get_string(nint structure, string field);

    [LibraryImport(GstVideo)]
    private static partial nint gst_buffer_get_video_meta(nint buffer);

    [LibraryImport(GObject)]
    private static partial int g_type_check_instance_is_a(GstObjectHandle instance, nuint type);

    // Test support: a buffer with a chosen layout, to check the video-meta path against a stride GStreamer's
    // own elements would not produce here.

    [LibraryImport(Gst)]
    internal static partial nint gst_buffer_new_allocate(nint allocator, nuint size, nint parameters);

    [LibraryImport(Gst)]
    internal static partial nuint gst_buffer_fill(nint buffer, nuint offset, byte* source, nuint size);

    [LibraryImport(GstVideo)]
    internal static partial nint gst_buffer_add_video_meta_full(nint buffer, int flags, int format, uint width, uint height,
        uint planeCount, nuint* offsets, int* strides);

    [LibraryImport(Gst)]
    internal static partial void gst_mini_object_unref(nint miniObject);

    [LibraryImport(GLib)]
    private static partial nint g_malloc(nuint size);

    [LibraryImport(GLib)]
    private static partial void g_free(void* memory);

    [LibraryImport(GLib)]
    private static partial void g_error_free(GError* error);
}

/// <summary>An owned reference to a GstObject (pipeline, element, bus).</summary>
internal sealed class GstObjectHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle()
    {
        GStreamer.gst_object_unref(handle);
        return true;
    }
}

internal sealed class GstSampleHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle()
    {
        GStreamer.gst_sample_unref(handle);
        return true;
    }
}

internal sealed class GstMessageHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle()
    {
        GStreamer.gst_message_unref(handle);
        return true;
    }
}
