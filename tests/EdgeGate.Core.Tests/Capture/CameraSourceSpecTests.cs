using EdgeGate.Core.Capture;

namespace EdgeGate.Core.Tests.Capture;

public sealed class CameraSourceSpecTests
{
    private const string Bgr = "videoconvert ! video/x-raw,format=BGR ! ";
    private const string LiveSink = "appsink name=sink max-buffers=1 drop=true sync=false";
    private const string RealTimeSink = "appsink name=sink max-buffers=1 drop=true sync=true";
    private const string FastSink = "appsink name=sink sync=false max-buffers=2 drop=false";

    private static readonly CameraSourceOptions Fast = new() { RealTime = false };

    [Theory]
    [InlineData("v4l2:/dev/video2", "/dev/video2")]
    [InlineData("/dev/video3", "/dev/video3")]
    [InlineData("v4l2", "/dev/video0")]
    [InlineData("V4L2:/dev/v4l/by-id/usb-Logitech_C270-video-index0", "/dev/v4l/by-id/usb-Logitech_C270-video-index0")]
    public void V4l2_AsksForMjpegAtThePresetSize(string source, string device)
    {
        var spec = CameraSourceSpec.Parse(source);

        Assert.Equal(CameraSourceKind.V4l2, spec.Kind);
        Assert.Equal($"v4l2src device=\"{device}\" ! image/jpeg,width=640,height=480,framerate=30/1 ! jpegdec ! {Bgr}{LiveSink}", spec.Pipeline);
        Assert.True(spec.IsLive);
        Assert.Equal(FrameDelivery.NewestWins, spec.Delivery);
        Assert.Equal((640, 480, 30), (spec.Width, spec.Height, spec.Fps));
        Assert.Equal($"v4l2 {device} 640x480@30", spec.Description);
    }

    [Fact]
    public void Presets_TakeWidthHeightAndFpsFromTheOptions()
    {
        var options = new CameraSourceOptions { Width = 1920, Height = 1080, Fps = 15, RealTime = false };

        Assert.Equal($"v4l2src device=\"/dev/video0\" ! image/jpeg,width=1920,height=1080,framerate=15/1 ! jpegdec ! {Bgr}{LiveSink}",
            CameraSourceSpec.Parse("v4l2:/dev/video0", options).Pipeline);
        // RealTime=false is about files: a camera cannot be read faster than it runs, so it keeps newest-wins.
        Assert.Equal(FrameDelivery.NewestWins, CameraSourceSpec.Parse("testsrc", options).Delivery);
        Assert.Contains("width=1920,height=1080,framerate=15/1", CameraSourceSpec.Parse("libcamera", options).Pipeline);
        Assert.Contains("width=1920,height=1080,framerate=15/1", CameraSourceSpec.Parse("argus", options).Pipeline);
    }

    [Fact]
    public void Libcamera_AsksTheIspForNv12()
    {
        var spec = CameraSourceSpec.Parse("libcamera");
        Assert.Equal($"libcamerasrc ! video/x-raw,width=1280,height=720,framerate=30/1,format=NV12 ! {Bgr}{LiveSink}", spec.Pipeline);
        Assert.Equal(CameraSourceKind.Libcamera, spec.Kind);
        Assert.True(spec.IsLive);

        var named = CameraSourceSpec.Parse("libcamera:/base/soc/i2c0mux/i2c@1/imx708@1a");
        Assert.StartsWith("libcamerasrc camera-name=\"/base/soc/i2c0mux/i2c@1/imx708@1a\" ! ", named.Pipeline);
    }

    [Fact]
    public void Argus_UsesNvmmCapsAndNvvidconv()
    {
        var spec = CameraSourceSpec.Parse("argus:1");
        Assert.Equal("nvarguscamerasrc sensor-id=1 ! video/x-raw(memory:NVMM),width=1280,height=720,framerate=30/1,format=NV12 "
            + $"! nvvidconv ! video/x-raw,format=BGRx ! {Bgr}{LiveSink}", spec.Pipeline);
        Assert.Equal(CameraSourceKind.Argus, spec.Kind);
        Assert.StartsWith("nvarguscamerasrc sensor-id=0 ", CameraSourceSpec.Parse("argus").Pipeline);
    }

    [Fact]
    public void TestSource_IsALiveVideotestsrc()
    {
        var spec = CameraSourceSpec.Parse("testsrc");
        Assert.Equal($"videotestsrc is-live=true pattern=smpte ! video/x-raw,width=640,height=480,framerate=30/1 ! {Bgr}{LiveSink}", spec.Pipeline);
        Assert.True(spec.IsLive);
        Assert.Contains("pattern=ball", CameraSourceSpec.Parse("testsrc:ball").Pipeline);
    }

    [Fact]
    public void Rtsp_LowLatency_VideoOnly_AndThePasswordNeverReachesTheDescription()
    {
        var spec = CameraSourceSpec.Parse("rtsp://admin:s3cr3t@192.168.1.20:554/Streaming/Channels/102");

        Assert.Equal("rtspsrc location=\"rtsp://admin:s3cr3t@192.168.1.20:554/Streaming/Channels/102\" latency=100 drop-on-latency=true "
            + $"! application/x-rtp,media=video ! decodebin ! {Bgr}{LiveSink}", spec.Pipeline);
        Assert.Equal(CameraSourceKind.Rtsp, spec.Kind);
        Assert.True(spec.IsLive);
        Assert.Equal("rtsp://admin:***@192.168.1.20:554/Streaming/Channels/102", spec.Description);
        Assert.Equal("could not open rtsp://admin:***@192.168.1.20:554/x",
            spec.Redact("could not open rtsp://admin:s3cr3t@192.168.1.20:554/x"));

        Assert.StartsWith("rtspsrc location=\"rtsps://cam.local/live\"", CameraSourceSpec.Parse("rtsps://cam.local/live").Pipeline);
        // No password: nothing to hide, and a short text is not mangled.
        var plain = CameraSourceSpec.Parse("rtsp://viewer@cam.local:8554/live");
        Assert.Equal("rtsp://viewer@cam.local:8554/live", plain.Description);
        Assert.Equal("a b c", plain.Redact("a b c"));
    }

    [Fact]
    public void Redact_MatchesTheWholeUserInfo_SoAShortPasswordDoesNotMangleText()
    {
        var spec = CameraSourceSpec.Parse("rtsp://u:1@cam/live");
        Assert.Equal("rtsp://u:***@cam/live", spec.Description);
        Assert.Equal("port 10, rtsp://u:***@cam/live", spec.Redact("port 10, rtsp://u:1@cam/live"));
    }

    [Theory]
    [InlineData("file:///srv/clips/door.mp4", false)]
    [InlineData("http://cam.local/mjpeg", true)]
    [InlineData("https://cam.local/stream.m3u8", true)]
    public void Uris_GoThroughUridecodebin(string uri, bool live)
    {
        var spec = CameraSourceSpec.Parse(uri);

        Assert.Equal($"uridecodebin uri=\"{uri}\" ! {Bgr}{(live ? LiveSink : RealTimeSink)}", spec.Pipeline);
        Assert.Equal(CameraSourceKind.Uri, spec.Kind);
        Assert.Equal(live, spec.IsLive);
    }

    [Fact]
    public void FileUri_InFastMode_IsLossless()
    {
        var spec = CameraSourceSpec.Parse("file:///srv/clips/door.mp4", Fast);
        Assert.EndsWith(FastSink, spec.Pipeline);
        Assert.Equal(FrameDelivery.Lossless, spec.Delivery);
    }

    [Fact]
    public void FilePath_RealTime_PlaysAtItsOwnRate_NewestWins()
    {
        var spec = CameraSourceSpec.Parse("/srv/clips/door.mp4");

        Assert.Equal($"filesrc location=\"/srv/clips/door.mp4\" ! decodebin ! {Bgr}{RealTimeSink}", spec.Pipeline);
        Assert.Equal(CameraSourceKind.File, spec.Kind);
        Assert.False(spec.IsLive);
        Assert.True(spec.RealTime);
        Assert.Equal(FrameDelivery.NewestWins, spec.Delivery);
        Assert.Equal("file /srv/clips/door.mp4", spec.Description);
    }

    [Fact]
    public void FilePath_FastMode_WaitsForTheConsumer_Lossless()
    {
        var spec = CameraSourceSpec.Parse("/srv/clips/door.mp4", Fast);

        Assert.Equal($"filesrc location=\"/srv/clips/door.mp4\" ! decodebin ! {Bgr}{FastSink}", spec.Pipeline);
        Assert.False(spec.RealTime);
        Assert.Equal(FrameDelivery.Lossless, spec.Delivery);
    }

    [Fact]
    public void FilePath_WithSpacesQuotesBackslashesAndBangs_IsQuotedForParseLaunch()
    {
        var spec = CameraSourceSpec.Parse("/srv/my clips/it's a \"door\" \\ take!2.mp4");

        // gst_parse_launch drops one backslash before any character inside double quotes.
        Assert.StartsWith("filesrc location=\"/srv/my clips/it's a \\\"door\\\" \\\\ take!2.mp4\" ! decodebin", spec.Pipeline);
        Assert.Equal(CameraSourceKind.File, spec.Kind);
    }

    [Fact]
    public void RelativeFilePath_IsMadeAbsolute()
    {
        var spec = CameraSourceSpec.Parse("clips/door.mpg");
        var expected = Path.GetFullPath("clips/door.mpg");
        Assert.Equal($"file {expected}", spec.Description);
        Assert.Contains($"location=\"{expected}\"", spec.Pipeline);
    }

    [Theory]
    [InlineData("a", "\"a\"")]
    [InlineData("a \"b\"", "\"a \\\"b\\\"\"")]
    [InlineData("c:\\d", "\"c:\\\\d\"")]
    [InlineData("", "\"\"")]
    public void Quote_EscapesBackslashAndDoubleQuote(string value, string quoted) =>
        Assert.Equal(quoted, CameraSourceSpec.Quote(value));

    [Fact]
    public void RawPipeline_IsUsedVerbatim()
    {
        const string text = "videotestsrc is-live=true num-buffers=10 ! videoconvert ! video/x-raw,format=BGR ! appsink name=sink sync=false";
        var spec = CameraSourceSpec.Parse("  " + text + " ");

        Assert.Equal(text, spec.Pipeline);
        Assert.Equal(CameraSourceKind.Pipeline, spec.Kind);
        Assert.True(spec.IsLive);
        Assert.Equal(FrameDelivery.NewestWins, spec.Delivery);
    }

    [Theory]
    [InlineData("filesrc location=/a.mp4 ! decodebin ! videoconvert ! video/x-raw,format=BGR ! appsink name=sink", false)]
    [InlineData("uridecodebin uri=\"file:///a b.mp4\" ! videoconvert ! video/x-raw,format=BGR ! appsink name=\"sink\"", false)]
    [InlineData("souphttpsrc location=http://cam/mjpeg ! jpegdec ! videoconvert ! video/x-raw,format=BGR ! appsink name=sink", true)]
    public void RawPipeline_IsLiveUnlessItReadsAFile(string text, bool live)
    {
        var spec = CameraSourceSpec.Parse(text);
        Assert.Equal(live, spec.IsLive);
        Assert.Equal(!live, CameraSourceSpec.Parse(text, Fast).Delivery == FrameDelivery.Lossless);
        Assert.True(CameraSourceSpec.Parse(text, new CameraSourceOptions { Live = true }).IsLive);
    }

    [Fact]
    public void RawPipeline_ABangInsideAQuotedValue_DoesNotSplitTheElement()
    {
        var spec = CameraSourceSpec.Parse("filesrc location=\"/a ! appsink name=sink\" ! decodebin ! appsink name=sink");
        Assert.Equal(CameraSourceKind.Pipeline, spec.Kind);

        var e = Assert.Throws<FormatException>(() =>
            CameraSourceSpec.Parse("filesrc location=\"/x ! appsink name=sink\" ! decodebin ! fakesink"));
        Assert.Contains("no element is named 'sink'", e.Message);
    }

    [Theory]
    [InlineData("videotestsrc ! videoconvert ! fakesink", "no element is named 'sink'")]
    [InlineData("videotestsrc ! appsink", "no element is named 'sink'")]
    [InlineData("videotestsrc ! appsink name=frames", "no element is named 'sink'")]
    [InlineData("videotestsrc ! fakesink name=sink", "the element named 'sink' is a 'fakesink'")]
    public void RawPipeline_WithoutAnAppsinkNamedSink_IsAClearError(string text, string why)
    {
        var e = Assert.Throws<FormatException>(() => CameraSourceSpec.Parse(text));

        Assert.StartsWith("EdgeGate:Camera:Source: ", e.Message);
        Assert.Contains("appsink name=sink", e.Message);
        Assert.Contains(why, e.Message);
        Assert.Contains(text, e.Message);
    }

    [Theory]
    [InlineData(null, "is empty")]
    [InlineData("", "is empty")]
    [InlineData("   ", "is empty")]
    [InlineData("ftp://cam/x.mp4", "URI scheme 'ftp' is not supported")]
    [InlineData("argus:left", "sensor id must be a number")]
    [InlineData("testsrc:ball ! fakesink", "no element is named 'sink'")]
    [InlineData("testsrc:b;all", "videotestsrc pattern name")]
    [InlineData("videotestsrc ! ! appsink name=sink", "empty element")]
    [InlineData("filesrc location=\"/a ! appsink name=sink", "unterminated quote")]
    public void BadSettings_AreRefusedNamingTheKey(string? source, string why)
    {
        var e = Assert.Throws<FormatException>(() => CameraSourceSpec.Parse(source));
        Assert.StartsWith("EdgeGate:Camera:Source: ", e.Message);
        Assert.Contains(why, e.Message);
    }

    [Theory]
    [InlineData(0, 480, 30)]
    [InlineData(640, -1, 30)]
    [InlineData(640, 480, 0)]
    public void BadCaptureFormat_IsRefused(int width, int height, int fps)
    {
        var e = Assert.Throws<FormatException>(() =>
            CameraSourceSpec.Parse("testsrc", new CameraSourceOptions { Width = width, Height = height, Fps = fps }));
        Assert.StartsWith("EdgeGate:Camera:Source: ", e.Message);
    }
}
