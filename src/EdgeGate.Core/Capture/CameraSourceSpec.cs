using System.Buffers;
using System.Globalization;
using System.Text;

namespace EdgeGate.Core.Capture;

/// <summary>What kind of source <see cref="CameraSourceSpec.Source"/> named.</summary>
public enum CameraSourceKind
{
    /// <summary>A raw GStreamer pipeline ending in <c>appsink name=sink</c>, used as written.</summary>
    Pipeline,
    /// <summary>A local video file path.</summary>
    File,
    /// <summary>A <c>file://</c>, <c>http://</c> or <c>https://</c> URI (uridecodebin).</summary>
    Uri,
    /// <summary>An <c>rtsp://</c> or <c>rtsps://</c> network camera.</summary>
    Rtsp,
    /// <summary>A USB (UVC) camera through Video4Linux2.</summary>
    V4l2,
    /// <summary>A Raspberry Pi CSI camera through libcamera.</summary>
    Libcamera,
    /// <summary>A Jetson CSI camera through NVIDIA Argus.</summary>
    Argus,
    /// <summary>GStreamer's synthetic live test pattern.</summary>
    TestSource,
}

/// <summary>How frames should travel from capture to the consumer.</summary>
public enum FrameDelivery
{
    /// <summary>Live and real-time sources: a frame the consumer has not taken is replaced (and disposed) by a newer one.</summary>
    NewestWins,
    /// <summary>Files in fast mode: capture waits for the consumer, so every decoded frame is seen.</summary>
    Lossless,
}

/// <summary>Settings that shape the pipeline built from <see cref="CameraSourceSpec.Source"/>.</summary>
public sealed record CameraSourceOptions
{
    /// <summary>Capture width for the camera presets (v4l2, libcamera, argus, testsrc); null = the preset's default.</summary>
    public int? Width { get; init; }

    /// <summary>Capture height for the camera presets; null = the preset's default.</summary>
    public int? Height { get; init; }

    /// <summary>Frames per second requested from the camera presets; null = 30.</summary>
    public int? Fps { get; init; }

    /// <summary>
    /// Files and file URIs: true plays them at their own rate (a stand-in for a camera, stale frames dropped);
    /// false decodes as fast as the consumer takes frames and loses none (evaluation, benchmarks).
    /// </summary>
    public bool RealTime { get; init; } = true;

    /// <summary>Raw pipelines only: whether the source is live. Null guesses from the elements (file sources are not live).</summary>
    public bool? Live { get; init; }
}

/// <summary>
/// The parsed <c>EdgeGate:Camera:Source</c> setting and the GStreamer pipeline text it stands for. Pure string logic:
/// nothing here touches GStreamer, so a bad setting is reported at start-up, before any pipeline is built.
/// </summary>
/// <remarks>
/// Accepted forms:
/// <list type="bullet">
/// <item>a raw pipeline, recognised by a <c>!</c>, ending in <c>appsink name=sink</c> (used verbatim, appsink settings included);</item>
/// <item><c>v4l2:/dev/videoN</c> (or a bare <c>/dev/video…</c>, or <c>v4l2</c> for /dev/video0), <c>libcamera[:camera-name]</c>,
/// <c>argus[:sensor-id]</c>, <c>testsrc[:pattern]</c>;</item>
/// <item><c>rtsp://</c> / <c>rtsps://</c> URLs; <c>file://</c>, <c>http://</c>, <c>https://</c> URIs;</item>
/// <item>anything else is a file path.</item>
/// </list>
/// Every built pipeline ends <c>videoconvert ! video/x-raw,format=BGR ! appsink name=sink …</c>.
/// </remarks>
public sealed class CameraSourceSpec
{
    /// <summary>The configuration key this setting is read from; every parse error names it.</summary>
    public const string ConfigKey = "EdgeGate:Camera:Source";

    /// <summary>The name the frame source looks the appsink up by.</summary>
    public const string SinkName = "sink";

    private const string ToBgr = "videoconvert ! video/x-raw,format=BGR ! ";

    // Newest frame wins: the appsink keeps one frame and drops the older one when a new frame arrives, so a slow
    // consumer sees current frames instead of a backlog. sync=false for live sources (they already arrive in real
    // time and waiting on the clock only adds latency); sync=true for real-time files so they play at their own rate.
    private const string LiveSink = "appsink name=sink max-buffers=1 drop=true sync=false";
    private const string RealTimeFileSink = "appsink name=sink max-buffers=1 drop=true sync=true";

    // Every frame, as fast as the consumer takes them: no clock, and the appsink blocks the decoder instead of
    // dropping. Two buffers let the decoder work on the next frame while the consumer holds the current one.
    private const string FastFileSink = "appsink name=sink sync=false max-buffers=2 drop=false";

    // rtspsrc's default jitter buffer is 2 s; for a door, a late frame is worth less than a lost one, so keep
    // 100 ms and let the jitter buffer drop packets that miss it.
    private const int RtspLatencyMs = 100;

    private static readonly string[] FileSourceElements = ["filesrc", "multifilesrc", "splitfilesrc"];

    private static readonly SearchValues<char> UriSchemeChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");

    private CameraSourceSpec(string source, CameraSourceKind kind, string pipeline, bool isLive, bool realTime,
        string description, int? width = null, int? height = null, int? fps = null, (string Find, string Replace)? secret = null)
    {
        Source = source;
        Kind = kind;
        Pipeline = pipeline;
        IsLive = isLive;
        RealTime = realTime;
        Description = description;
        Width = width;
        Height = height;
        Fps = fps;
        _secret = secret;
    }

    private readonly (string Find, string Replace)? _secret;

    /// <summary>The setting as configured (trimmed).</summary>
    public string Source { get; }

    public CameraSourceKind Kind { get; }

    /// <summary>The gst-launch pipeline text to build; may hold URL credentials, so log <see cref="Description"/> instead.</summary>
    public string Pipeline { get; }

    /// <summary>True for cameras and network streams; false for files (end of stream is normal).</summary>
    public bool IsLive { get; }

    /// <summary>False only for files read in fast mode.</summary>
    public bool RealTime { get; }

    /// <summary>How the capture stage should hand frames on; follows from <see cref="IsLive"/> and <see cref="RealTime"/>.</summary>
    public FrameDelivery Delivery => !IsLive && !RealTime ? FrameDelivery.Lossless : FrameDelivery.NewestWins;

    /// <summary>A short, loggable name for the source, with any URL password replaced by <c>***</c>.</summary>
    public string Description { get; }

    /// <summary>Requested capture size and rate (camera presets only).</summary>
    public int? Width { get; }
    public int? Height { get; }
    public int? Fps { get; }

    public override string ToString() => Description;

    /// <summary>Replaces the URL password (if the source has one) in <paramref name="text"/>, e.g. a GStreamer error message.</summary>
    public string Redact(string text) =>
        _secret is { } s ? text.Replace(s.Find, s.Replace, StringComparison.Ordinal) : text;

    /// <summary>Parses the <c>EdgeGate:Camera:Source</c> setting. Throws <see cref="FormatException"/> naming the key.</summary>
    public static CameraSourceSpec Parse(string? source, CameraSourceOptions? options = null)
    {
        options ??= new CameraSourceOptions();
        var text = source?.Trim();
        if (string.IsNullOrEmpty(text))
            throw Error("is empty; set it to a device (v4l2:/dev/video0, libcamera, argus, testsrc), an rtsp:// URL, a file, or a pipeline ending in 'appsink name=sink'");
        CheckOptions(options);

        if (IsRawPipeline(text))
            return ParsePipeline(text, options);

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var scheme = colon > 0 ? text[..colon].ToLowerInvariant() : text.ToLowerInvariant();
        var argument = colon > 0 ? text[(colon + 1)..] : null;

        if (StartsWithUriScheme(text))
        {
            return scheme switch
            {
                "rtsp" or "rtsps" => Rtsp(text, options),
                "file" or "http" or "https" => Uri(text, scheme, options),
                _ => throw Error($"URI scheme '{scheme}' is not supported (use rtsp://, rtsps://, file://, http:// or https://, or a raw pipeline)"),
            };
        }

        return scheme switch
        {
            "v4l2" => V4l2(text, string.IsNullOrWhiteSpace(argument) ? "/dev/video0" : argument.Trim(), options),
            "libcamera" => Libcamera(text, argument, options),
            "argus" => Argus(text, argument, options),
            "testsrc" => TestSource(text, argument, options),
            _ when text.StartsWith("/dev/video", StringComparison.Ordinal) => V4l2(text, text, options),
            _ => File(text, options),
        };
    }

    /// <summary>
    /// Quotes a property value for gst_parse_launch: double quotes, with backslash and double quote escaped
    /// (the parser removes one backslash before any character inside quotes, and nothing else).
    /// </summary>
    public static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\') sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    // A path never starts like a gst-launch element, and a URI is never a pipeline even if its query holds a '!'.
    private static bool IsRawPipeline(string text) =>
        text.Contains('!', StringComparison.Ordinal) && !StartsWithUriScheme(text) && text[0] is not ('/' or '.' or '~');

    /// <summary>RFC 3986 scheme (a letter, then letters, digits, '+', '-', '.') followed by "://".</summary>
    private static bool StartsWithUriScheme(string text)
    {
        var end = text.IndexOf("://", StringComparison.Ordinal);
        return end > 0 && char.IsAsciiLetter(text[0])
            && text.AsSpan(0, end).IndexOfAnyExcept(UriSchemeChars) < 0;
    }


    private static CameraSourceSpec ParsePipeline(string text, CameraSourceOptions options)
    {
        var elements = SplitLinks(text).Select(Tokens).ToList();
        if (elements.Any(e => e.Count == 0))
            throw Error($"pipeline has an empty element between '!' links: '{text}'");
        var namedSink = elements.FirstOrDefault(e => e.Skip(1).Any(IsSinkName));
        if (namedSink is null || namedSink[0] != "appsink")
        {
            var found = namedSink is null ? "no element is named 'sink'" : $"the element named 'sink' is a '{namedSink[0]}'";
            throw Error($"a raw pipeline must end in '... ! videoconvert ! video/x-raw,format=BGR ! appsink name=sink' ({found}): '{text}'");
        }
        var fromFile = elements.Any(e => FileSourceElements.Contains(e[0])
            || e.Skip(1).Any(p => p.StartsWith("uri=", StringComparison.Ordinal) && Unquote(p[4..]).StartsWith("file:", StringComparison.OrdinalIgnoreCase)));
        var live = options.Live ?? !fromFile;
        return new CameraSourceSpec(text, CameraSourceKind.Pipeline, text, live, live || options.RealTime, $"pipeline '{text}'");
    }

    private static bool IsSinkName(string token) =>
        token.StartsWith("name=", StringComparison.Ordinal) && Unquote(token[5..]) == SinkName;

    private static CameraSourceSpec File(string text, CameraSourceOptions options)
    {
        // An absolute path makes the description and GStreamer's errors say exactly what was opened;
        // a service's working directory is rarely what the person who wrote the setting had in mind.
        var path = Path.GetFullPath(text);
        // decodebin picks the demuxer and decoder; parse-launch links only its video pad to videoconvert
        // (an audio stream stays unlinked, which the demuxer tolerates as long as one stream is linked).
        var pipeline = $"filesrc location={Quote(path)} ! decodebin ! {ToBgr}{FileSink(options)}";
        return new CameraSourceSpec(text, CameraSourceKind.File, pipeline, isLive: false, options.RealTime, $"file {path}");
    }

    private static CameraSourceSpec Uri(string text, string scheme, CameraSourceOptions options)
    {
        var (description, secret) = RedactUrl(text);
        var isFile = scheme == "file";
        // http(s) is treated as a network camera (an MJPEG or HLS stream): newest frame wins.
        var sink = isFile ? FileSink(options) : LiveSink;
        var pipeline = $"uridecodebin uri={Quote(text)} ! {ToBgr}{sink}";
        return new CameraSourceSpec(text, CameraSourceKind.Uri, pipeline, isLive: !isFile, !isFile || options.RealTime,
            description, secret: secret);
    }

    private static CameraSourceSpec Rtsp(string text, CameraSourceOptions options)
    {
        var (description, secret) = RedactUrl(text);
        // The caps filter lets parse-launch link only the video RTP stream (cameras often send audio too);
        // decodebin then picks the depayloader and decoder (H.264, H.265, MJPEG) from the stream's caps.
        var pipeline = $"rtspsrc location={Quote(text)} latency={RtspLatencyMs} drop-on-latency=true "
            + $"! application/x-rtp,media=video ! decodebin ! {ToBgr}{LiveSink}";
        return new CameraSourceSpec(text, CameraSourceKind.Rtsp, pipeline, isLive: true, realTime: true, description, secret: secret);
    }

    private static CameraSourceSpec V4l2(string text, string device, CameraSourceOptions options)
    {
        var (w, h, fps) = Format(options, 640, 480);
        // USB 2.0 cannot carry raw YUYV at full rate beyond about 640x480@30, so UVC cameras offer their higher
        // rates only as MJPEG; asking for image/jpeg pins that mode, and jpegdec (libjpeg-turbo) is cheap.
        // 640x480 is the mode every UVC camera has, and more than the 320x240 the face detector looks at.
        var pipeline = $"v4l2src device={Quote(device)} ! image/jpeg,width={w},height={h},framerate={fps}/1 ! jpegdec ! "
            + $"{ToBgr}{LiveSink}";
        return new CameraSourceSpec(text, CameraSourceKind.V4l2, pipeline, isLive: true, realTime: true,
            $"v4l2 {device} {w}x{h}@{fps}", w, h, fps);
    }

    private static CameraSourceSpec Libcamera(string text, string? camera, CameraSourceOptions options)
    {
        var (w, h, fps) = Format(options, 1280, 720);
        // NV12 is what the Pi ISP produces natively, so libcamera scales in hardware and only videoconvert touches
        // the pixels on the CPU. No camera-name picks the first camera.
        var name = string.IsNullOrWhiteSpace(camera) ? "" : $" camera-name={Quote(camera.Trim())}";
        var pipeline = $"libcamerasrc{name} ! video/x-raw,width={w},height={h},framerate={fps}/1,format=NV12 ! {ToBgr}{LiveSink}";
        return new CameraSourceSpec(text, CameraSourceKind.Libcamera, pipeline, isLive: true, realTime: true,
            $"libcamera {(string.IsNullOrWhiteSpace(camera) ? "(first camera)" : camera.Trim())} {w}x{h}@{fps}", w, h, fps);
    }

    private static CameraSourceSpec Argus(string text, string? sensor, CameraSourceOptions options)
    {
        var (w, h, fps) = Format(options, 1280, 720);
        var sensorId = 0;
        if (!string.IsNullOrWhiteSpace(sensor)
            && !int.TryParse(sensor.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out sensorId))
            throw Error($"'argus:{sensor}': the sensor id must be a number (argus:0, argus:1)");
        // Argus hands frames over in NVMM (GPU) memory, where only NVIDIA elements can read them: nvvidconv copies
        // them out to system memory, converting in hardware to BGRx because it cannot write 24-bit BGR;
        // videoconvert then only strips the padding byte.
        var pipeline = $"nvarguscamerasrc sensor-id={sensorId} ! video/x-raw(memory:NVMM),width={w},height={h},framerate={fps}/1,format=NV12 "
            + $"! nvvidconv ! video/x-raw,format=BGRx ! {ToBgr}{LiveSink}";
        return new CameraSourceSpec(text, CameraSourceKind.Argus, pipeline, isLive: true, realTime: true,
            $"argus sensor {sensorId} {w}x{h}@{fps}", w, h, fps);
    }

    private static CameraSourceSpec TestSource(string text, string? pattern, CameraSourceOptions options)
    {
        var (w, h, fps) = Format(options, 640, 480);
        var p = string.IsNullOrWhiteSpace(pattern) ? "smpte" : pattern.Trim();
        if (!p.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            throw Error($"'testsrc:{pattern}': the pattern must be a videotestsrc pattern name (smpte, ball, snow, red, ...)");
        // is-live=true makes videotestsrc pace itself like a camera (frames at the clock rate, none while paused).
        var pipeline = $"videotestsrc is-live=true pattern={p} ! video/x-raw,width={w},height={h},framerate={fps}/1 ! {ToBgr}{LiveSink}";
        return new CameraSourceSpec(text, CameraSourceKind.TestSource, pipeline, isLive: true, realTime: true,
            $"testsrc {p} {w}x{h}@{fps}", w, h, fps);
    }

    private static string FileSink(CameraSourceOptions options) => options.RealTime ? RealTimeFileSink : FastFileSink;

    private static (int Width, int Height, int Fps) Format(CameraSourceOptions options, int width, int height) =>
        (options.Width ?? width, options.Height ?? height, options.Fps ?? 30);

    private static void CheckOptions(CameraSourceOptions options)
    {
        if (options.Width is <= 0 or > 16384 || options.Height is <= 0 or > 16384)
            throw Error($"capture size {options.Width}x{options.Height} is out of range (1..16384)");
        if (options.Fps is <= 0 or > 1000)
            throw Error($"frame rate {options.Fps} is out of range (1..1000)");
    }

    /// <summary>
    /// The URL with its password replaced by <c>***</c>, and the user:password@ text with its replacement, to scrub
    /// error messages (the whole user-info is matched so a short password cannot mangle unrelated text).
    /// </summary>
    private static (string Description, (string Find, string Replace)? Secret) RedactUrl(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var hostEnd = url.IndexOfAny(['/', '?', '#'], start);
        var authority = hostEnd < 0 ? url[start..] : url[start..hostEnd];
        var at = authority.LastIndexOf('@');
        var colon = at < 0 ? -1 : authority.IndexOf(':');
        if (colon < 0 || colon > at || colon == at - 1)
            return (url, null);
        var userInfo = authority[..(at + 1)];
        var redacted = authority[..(colon + 1)] + "***@";
        return (url.Replace(userInfo, redacted, StringComparison.Ordinal), (userInfo, redacted));
    }

    /// <summary>Splits gst-launch text at the '!' links, ignoring any '!' inside a quoted value.</summary>
    private static IEnumerable<string> SplitLinks(string text)
    {
        var start = 0;
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted && c == '\\') { i++; continue; }
            if (c == '"') quoted = !quoted;
            else if (c == '!' && !quoted)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        if (quoted)
            throw Error($"pipeline has an unterminated quote: '{text}'");
        yield return text[start..];
    }

    /// <summary>The whitespace-separated words of one element: its factory name, then key=value properties.</summary>
    private static List<string> Tokens(string element)
    {
        var tokens = new List<string>();
        var sb = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < element.Length; i++)
        {
            var c = element[i];
            if (quoted && c == '\\' && i + 1 < element.Length) { sb.Append(c).Append(element[++i]); continue; }
            if (c == '"') quoted = !quoted;
            if (char.IsWhiteSpace(c) && !quoted)
            {
                if (sb.Length > 0) { tokens.Add(sb.ToString()); sb.Clear(); }
                continue;
            }
            sb.Append(c);
        }
        if (sb.Length > 0) tokens.Add(sb.ToString());
        return tokens;
    }

    private static string Unquote(string value)
    {
        if (value.Length < 2 || value[0] != '"' || value[^1] != '"') return value;
        var sb = new StringBuilder(value.Length);
        for (var i = 1; i < value.Length - 1; i++)
        {
            if (value[i] == '\\' && i + 1 < value.Length - 1) i++;
            sb.Append(value[i]);
        }
        return sb.ToString();
    }

    private static FormatException Error(string message) => new($"{ConfigKey}: {message}");
}
