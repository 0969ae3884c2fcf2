using System.Diagnostics;
using System.Runtime.InteropServices;
using EdgeGate.Camera;
using EdgeGate.Camera.Interop;
using EdgeGate.Core.Capture;
using EdgeGate.Core.Ports;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Camera;

public sealed class GstFrameSourceTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);
    private static readonly CameraSourceOptions Fast = new() { RealTime = false };

    // Durations are the video track's own (mdhd for MP4; the GRID corpus clips are 3 s), not the container's.
    // The GRID .mpg files carry a 157 ms timestamp gap at 1.92 s (75 frames span 3.157 s), hence the 6 % tolerance.
    [Theory]
    [InlineData("video/grid_brbk7n.mpg", 360, 288, 3.0)]
    [InlineData("video/grid_pwij3p.mpg", 360, 288, 3.0)]
    [InlineData("video/blink_example.mp4", 96, 128, 3.0)]
    [InlineData("video/hamilton_short_clip.mp4", 0, 0, 9.176)]
    public void FastMode_ReadsEveryFrame_WithIncreasingStreamTime_SpanningTheClip(string file, int width, int height, double seconds)
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        using var source = new GstFrameSource(CameraSourceSpec.Parse(Path.Combine(faces, file), Fast));
        Assert.False(source.IsLive);

        source.Start();
        var frames = ReadToEnd(source, out var sizes);

        output.WriteLine($"{file}: {frames.Count} frames, sizes {string.Join(", ", sizes.Distinct())}, "
            + $"first {frames[0].StreamTime.TotalSeconds:0.000} s, last {frames[^1].StreamTime.TotalSeconds:0.000} s");
        var (w, h) = sizes[0];
        if (width > 0) Assert.Equal((width, height), (w, h));
        Assert.All(sizes, s => Assert.Equal((w, h), s));
        Assert.Equal(Enumerable.Range(0, frames.Count).Select(i => (long)i), frames.Select(f => f.Sequence));
        for (var i = 1; i < frames.Count; i++)
            Assert.True(frames[i].StreamTime > frames[i - 1].StreamTime, $"StreamTime does not increase at frame {i}");

        // The frame period from the timestamps themselves (median, so a stray gap cannot skew it); the clip covers
        // first..last plus one period.
        var deltas = frames.Zip(frames.Skip(1), (a, b) => (b.StreamTime - a.StreamTime).TotalSeconds).Order().ToList();
        var period = deltas[deltas.Count / 2];
        var span = (frames[^1].StreamTime - frames[0].StreamTime).TotalSeconds + period;
        output.WriteLine($"period {period * 1000:0.00} ms ({1 / period:0.00} fps), span {span:0.000} s");
        Assert.InRange(span, seconds * 0.94, seconds * 1.06);
        Assert.InRange(frames.Count, (int)Math.Floor(seconds / period * 0.97), (int)Math.Ceiling(seconds / period * 1.03));
    }

    [Fact]
    public void StreamTime_IsTheBufferPts_CheckedAgainstVideotestsrcsExactTimestamps()
    {
        // videotestsrc stamps frame n with n * 1/framerate exactly; 7/1 fps gives 142857142 ns steps, which no
        // other field of GstBuffer (dts is NONE, duration is constant) would reproduce.
        const string pipeline = "videotestsrc num-buffers=12 ! video/x-raw,format=BGR,width=64,height=48,framerate=7/1 "
            + "! appsink name=sink sync=false max-buffers=2 drop=false";
        using var source = new GstFrameSource(CameraSourceSpec.Parse(pipeline, Fast));
        source.Start();
        var frames = ReadToEnd(source, out _);

        Assert.Equal(12, frames.Count);
        for (var n = 0; n < frames.Count; n++)
            Assert.Equal(TimeSpan.FromTicks(n * 1_000_000_000L / 7 / 100), frames[n].StreamTime);
    }

    [Fact]
    public void NativeLayouts_MatchThe122Headers()
    {
        if (IntPtr.Size != 8)
        {
            output.WriteLine("SKIPPED: the offsets below are for 64-bit processes");
            return;
        }
        Assert.Equal(72, (int)Marshal.OffsetOf<GStreamer.GstBufferHead>(nameof(GStreamer.GstBufferHead.Pts)));
        Assert.Equal(88, (int)Marshal.OffsetOf<GStreamer.GstBufferHead>(nameof(GStreamer.GstBufferHead.Duration)));
        Assert.Equal(48, (int)Marshal.OffsetOf<GStreamer.GstVideoMetaHead>(nameof(GStreamer.GstVideoMetaHead.Offset0)));
        Assert.Equal(80, (int)Marshal.OffsetOf<GStreamer.GstVideoMetaHead>(nameof(GStreamer.GstVideoMetaHead.Stride0)));
    }

    [Fact]
    public void RealTimeMode_PacesFramesAtStreamRate_FastModeDoesNot()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var path = Path.Combine(faces, "video/grid_brbk7n.mpg");

        var fast = WallPerStreamSecond(CameraSourceSpec.Parse(path, Fast));
        var realTime = WallPerStreamSecond(CameraSourceSpec.Parse(path));
        output.WriteLine($"wall seconds per stream second: fast {fast:0.000}, real time {realTime:0.000}");

        // Real time cannot run ahead of the clock (wall ≥ stream, less one frame of slack); fast mode decodes
        // 360x288 MPEG-1 many times faster than it plays. Both ratios come from the same run on the same machine.
        Assert.True(realTime > 0.9, $"real-time playback ran {1 / realTime:0.0}x faster than the stream");
        Assert.True(fast < realTime / 3, $"fast mode ({fast:0.000}) was not clearly faster than real time ({realTime:0.000})");
    }

    [Fact]
    public void OddWidth_RowPaddingIsStripped_PixelsExact()
    {
        // 641 px of BGR is 1923 bytes, padded to 1924 in GStreamer's buffer; a wrong stride shifts each row by one
        // more byte than the last, so channels stop lining up from the second row on.
        const string pipeline = "videotestsrc num-buffers=3 pattern=solid-color foreground-color=0xff204080 "
            + "! video/x-raw,format=BGR,width=641,height=481 ! appsink name=sink sync=false max-buffers=2 drop=false";
        using var source = new GstFrameSource(CameraSourceSpec.Parse(pipeline, Fast));
        source.Start();

        Assert.Equal(FrameReadStatus.Frame, source.Read(ReadTimeout, out var frame));
        using (frame)
        {
            Assert.Equal((641, 481), (frame!.Image.Width, frame.Image.Height));
            var pixels = frame.Image.Pixels;
            for (var i = 0; i < pixels.Length; i += 3)
            {
                if (pixels[i] != 0x80 || pixels[i + 1] != 0x40 || pixels[i + 2] != 0x20)
                    Assert.Fail($"pixel ({i / 3 % 641},{i / 3 / 641}) is {pixels[i]:X2}{pixels[i + 1]:X2}{pixels[i + 2]:X2}, expected 804020 (B,G,R)");
            }
        }
    }

    [Fact]
    public unsafe void VideoMeta_StrideAndOffset_AreHonoured()
    {
        // Elements may hand over a layout of their own (a hardware stride, a plane offset) described by a GstVideoMeta.
        const int width = 5, height = 3, stride = 32, offset = 7;
        GStreamer.EnsureInitialized();
        var bytes = new byte[offset + stride * height];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width * 3; x++)
                bytes[offset + y * stride + x] = (byte)(y * 40 + x);
        var buffer = GStreamer.gst_buffer_new_allocate(0, (nuint)bytes.Length, 0);
        try
        {
            fixed (byte* p = bytes) GStreamer.gst_buffer_fill(buffer, 0, p, (nuint)bytes.Length);
            var offsets = stackalloc nuint[4] { offset, 0, 0, 0 };
            var strides = stackalloc int[4] { stride, 0, 0, 0 };
            const int bgrFormat = 16; // GST_VIDEO_FORMAT_BGR
            Assert.NotEqual(0, GStreamer.gst_buffer_add_video_meta_full(buffer, 0, bgrFormat, width, height, 1, offsets, strides));

            using var frame = GstVideoFrames.CopyBgr(buffer, width, height);

            for (var y = 0; y < height; y++)
                Assert.Equal(bytes.AsSpan(offset + y * stride, width * 3).ToArray(), frame.Row(y).ToArray());
        }
        finally
        {
            GStreamer.gst_mini_object_unref(buffer);
        }
    }

    [Fact]
    public void MissingFile_StartThrowsACameraException_NamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"edgegate-missing-{Guid.NewGuid():N}.mp4");
        using var source = new GstFrameSource(CameraSourceSpec.Parse(path));

        var e = Assert.ThrowsAny<CameraException>(source.Start);

        output.WriteLine(e.Message);
        Assert.IsType<GstException>(e);
        Assert.Contains(path, e.Message);
        Assert.Contains("Resource not found", e.Message);
        source.Dispose(); // after a failed Start
        source.Dispose(); // and twice
    }

    [Fact]
    public void V4l2Preset_MissingDevice_StartThrowsNamingTheDevice()
    {
        // Also shows the preset's text (MJPEG caps, jpegdec, BGR appsink) is accepted by gst_parse_launch.
        const string device = "/dev/video-edgegate-missing";
        using var source = new GstFrameSource(CameraSourceSpec.Parse($"v4l2:{device}"));

        var e = Assert.ThrowsAny<CameraException>(source.Start);

        output.WriteLine(e.Message);
        Assert.StartsWith($"v4l2 {device} 640x480@30: ", e.Message);
        Assert.Contains(device, e.Message[$"v4l2 {device}".Length..]);
    }

    [Fact]
    public void FileWithSpacesAndQuotesInItsName_Opens()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var dir = Directory.CreateTempSubdirectory("edgegate cam ");
        try
        {
            var path = Path.Combine(dir.FullName, "it's a \"door\" \\ take!2.mpg");
            File.Copy(Path.Combine(faces, "video/grid_brbk7n.mpg"), path);
            using var source = new GstFrameSource(CameraSourceSpec.Parse(path, Fast));
            source.Start();
            Assert.Equal(FrameReadStatus.Frame, source.Read(ReadTimeout, out var frame));
            frame!.Dispose();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void UnknownElement_StartThrows_NoElement()
    {
        using var source = new GstFrameSource(CameraSourceSpec.Parse(
            "nosuchcamerasrc ! videoconvert ! video/x-raw,format=BGR ! appsink name=sink"));

        var e = Assert.ThrowsAny<CameraException>(source.Start);

        output.WriteLine(e.Message);
        Assert.Contains("no element \"nosuchcamerasrc\"", e.Message);
    }

    [Fact]
    public void RawPipelineWithoutAnAppsink_IsAClearError_InTheSpecAndInTheSource()
    {
        var parse = Assert.Throws<FormatException>(() => CameraSourceSpec.Parse("videotestsrc ! videoconvert ! autovideosink"));
        Assert.Contains("EdgeGate:Camera:Source", parse.Message);
        Assert.Contains("appsink name=sink", parse.Message);

        // The source checks again on the built pipeline (the spec's check is textual).
        using var notNamed = new GstFrameSource("videotestsrc ! fakesink", isLive: true, "raw");
        Assert.Contains("no element named 'sink'", Assert.ThrowsAny<CameraException>(notNamed.Start).Message);
        using var notAppsink = new GstFrameSource("videotestsrc ! fakesink name=sink", isLive: true, "raw");
        Assert.Contains("is a fakesink, not an appsink", Assert.ThrowsAny<CameraException>(notAppsink.Start).Message);
    }

    [Fact]
    public void NonBgrAppsink_IsAClearError()
    {
        using var source = new GstFrameSource(CameraSourceSpec.Parse(
            "videotestsrc num-buffers=2 ! video/x-raw,format=I420 ! appsink name=sink sync=false", Fast));
        source.Start();

        var e = Assert.ThrowsAny<CameraException>(() => source.Read(ReadTimeout, out _));
        Assert.Contains("delivers I420, not BGR", e.Message);
    }

    [Fact]
    public void LiveSource_EndOfStream_IsReported_AndSticks()
    {
        var spec = CameraSourceSpec.Parse("videotestsrc is-live=true num-buffers=4 ! video/x-raw,width=64,height=48,framerate=30/1 "
            + "! videoconvert ! video/x-raw,format=BGR ! appsink name=sink max-buffers=1 drop=true sync=false");
        using var source = new GstFrameSource(spec);
        Assert.True(source.IsLive);
        source.Start();

        var frames = ReadToEnd(source, out _);

        Assert.InRange(frames.Count, 1, 4); // newest-wins may drop one if this thread is slow
        Assert.Equal(FrameReadStatus.EndOfStream, source.Read(TimeSpan.Zero, out var none));
        Assert.Null(none);
    }

    [Fact]
    public void Timeout_IsReported_WhenNoFrameComesInTime()
    {
        // A live source at 1 fps: after the first frame, a 50 ms read finds nothing.
        var spec = CameraSourceSpec.Parse("testsrc", new CameraSourceOptions { Width = 32, Height = 24, Fps = 1 });
        using var source = new GstFrameSource(spec);
        source.Start();
        Assert.Equal(FrameReadStatus.Frame, source.Read(ReadTimeout, out var first));
        first!.Dispose();

        Assert.Equal(FrameReadStatus.Timeout, source.Read(TimeSpan.FromMilliseconds(50), out var none));
        Assert.Null(none);
    }

    [Fact]
    public void RtspConnectionRefused_IsACameraException_WithoutThePassword()
    {
        // Port 9 (discard) on loopback: nothing listens, the TCP connect is refused at once.
        var spec = CameraSourceSpec.Parse("rtsp://door:hunter2@127.0.0.1:9/live");
        using var source = new GstFrameSource(spec);

        var e = Assert.ThrowsAny<CameraException>(() =>
        {
            source.Start();
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                if (source.Read(TimeSpan.FromMilliseconds(200), out var f) == FrameReadStatus.Frame) f!.Dispose();
            }
        });

        output.WriteLine(e.Message);
        Assert.DoesNotContain("hunter2", e.Message);
        Assert.DoesNotContain("hunter2", ((GstException)e).DebugInfo ?? "");
        Assert.StartsWith("rtsp://door:***@127.0.0.1:9/live: ", e.Message);
    }

    [Fact]
    public void Lifecycle_MisuseIsRefused_AndDisposeIsIdempotent()
    {
        var source = new GstFrameSource(CameraSourceSpec.Parse("testsrc"));
        Assert.Throws<InvalidOperationException>(() => source.Read(TimeSpan.Zero, out _));
        source.Start();
        Assert.Throws<InvalidOperationException>(source.Start);
        source.Dispose();
        source.Dispose();
        Assert.Throws<ObjectDisposedException>(() => source.Read(TimeSpan.Zero, out _));
    }

    private static List<CapturedFrame> ReadToEnd(IFrameSource source, out List<(int Width, int Height)> sizes)
    {
        var frames = new List<CapturedFrame>();
        sizes = [];
        while (true)
        {
            var status = source.Read(ReadTimeout, out var frame);
            if (status == FrameReadStatus.EndOfStream) break;
            Assert.Equal(FrameReadStatus.Frame, status);
            sizes.Add((frame!.Image.Width, frame.Image.Height));
            frame.Dispose(); // the pixels go back to the pool; the timestamps stay readable
            frames.Add(frame);
            Assert.True(frames.Count < 100_000, "no end of stream");
        }
        Assert.NotEmpty(frames);
        return frames;
    }

    /// <summary>Wall-clock time to read a whole file, per second of stream time it spans.</summary>
    private static double WallPerStreamSecond(CameraSourceSpec spec)
    {
        using var source = new GstFrameSource(spec);
        source.Start();
        var wall = Stopwatch.StartNew();
        var frames = ReadToEnd(source, out _);
        var elapsed = wall.Elapsed;
        return elapsed.TotalSeconds / (frames[^1].StreamTime - frames[0].StreamTime).TotalSeconds;
    }
}
