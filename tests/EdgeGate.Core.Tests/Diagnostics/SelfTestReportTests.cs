using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using EdgeGate.Core.Diagnostics;
using EdgeGate.Core.Frames;

namespace EdgeGate.Core.Tests.Diagnostics;

public class SelfTestReportTests
{
    private static CheckResult R(string name, bool required, CheckStatus status) => new(name, required, status, "detail", 1.26);

    [Fact]
    public void OnlyARequiredFailure_FailsTheReport()
    {
        var fine = new SelfTestReport([R("a", true, CheckStatus.Pass), R("b", true, CheckStatus.Warn), R("c", true, CheckStatus.Skip), R("d", false, CheckStatus.Fail)], null);
        Assert.True(fine.Ok);
        Assert.Equal(0, fine.ExitCode);

        var broken = new SelfTestReport([R("a", true, CheckStatus.Pass), R("broker", true, CheckStatus.Fail), R("camera", true, CheckStatus.Fail)], null);
        Assert.False(broken.Ok);
        Assert.Equal(1, broken.ExitCode);
        Assert.StartsWith("FAILED (broker, camera)", broken.Summary());
    }

    [Fact]
    public void Json_HasTheStableKeys()
    {
        var json = new SelfTestReport([R("models", true, CheckStatus.Warn)], "/tmp/s.png").ToJson();
        Assert.Equal(["ok", "checks", "snapshot"], json.Select(p => p.Key));
        var check = json["checks"]![0]!.AsObject();
        Assert.Equal(["name", "required", "status", "detail", "ms"], check.Select(p => p.Key));
        Assert.Equal("warn", (string)check["status"]!);
        Assert.Equal(1.3, (double)check["ms"]!);
        Assert.Equal("/tmp/s.png", (string)json["snapshot"]!);
        Assert.Null(new SelfTestReport([], null).ToJson()["snapshot"]);
    }

    [Theory]
    [InlineData(19L * 1024 * 1024, CheckStatus.Fail)]
    [InlineData(20L * 1024 * 1024, CheckStatus.Warn)]
    [InlineData(199L * 1024 * 1024, CheckStatus.Warn)]
    [InlineData(200L * 1024 * 1024, CheckStatus.Pass)]
    public void DiskSpace_WarnsBelow200MiB_FailsBelow20MiB(long free, CheckStatus expected)
    {
        var outcome = SelfTestRules.DiskSpace("/var/lib/edgegate", free, 8L << 30);
        Assert.Equal(expected, outcome.Status);
        Assert.Contains("/var/lib/edgegate", outcome.Detail);
    }

    [Fact]
    public void Clock_BeforeTheBuildFails_NtpDecidesBetweenPassAndWarn()
    {
        var built = new DateOnly(2026, 11, 1);
        Assert.Equal(CheckStatus.Fail, SelfTestRules.Clock(new DateTimeOffset(2026, 10, 31, 23, 0, 0, TimeSpan.Zero), built, true, "x").Status);
        Assert.Equal(CheckStatus.Fail, SelfTestRules.Clock(new DateTimeOffset(1970, 1, 1, 0, 0, 0, TimeSpan.Zero), null, true, "x").Status);
        var now = new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
        Assert.Equal(CheckStatus.Pass, SelfTestRules.Clock(now, built, true, "timesyncd").Status);
        Assert.Equal(CheckStatus.Warn, SelfTestRules.Clock(now, built, false, "timedatectl").Status);
        var unknown = SelfTestRules.Clock(now, built, null, "no timedatectl");
        Assert.Equal(CheckStatus.Warn, unknown.Status);
        Assert.Contains("no timedatectl", unknown.Detail);
    }

    [Fact]
    public void Manifest_ReadsSha256sumLines_AndNamesABadLine()
    {
        var hash = new string('a', 64);
        var m = ChecksumManifest.Parse($"{hash}  models/fr_detect.onnx\n{hash.ToUpperInvariant()} *./assets/x.bin\r\n\n", "m");
        Assert.Equal(hash, m.Expected("models/fr_detect.onnx"));
        Assert.Equal(hash, m.Expected("assets/x.bin"));
        Assert.Equal(hash, m.Expected("./assets/x.bin"));
        Assert.Null(m.Expected("models/other.onnx"));
        var e = Assert.Throws<FormatException>(() => ChecksumManifest.Parse($"{hash}  ok\nnot a checksum line\n", "assets.sha256"));
        Assert.Contains("assets.sha256:2", e.Message);
    }

    [Fact]
    public void Png_IsValidRgb_WithCorrectCrcs_AndPixelsInRgbOrder()
    {
        using var frame = new BgrFrame(3, 2);
        frame.Pixels.Clear();
        frame.Pixels[0] = 10; frame.Pixels[1] = 20; frame.Pixels[2] = 30; // B, G, R of (0,0)
        FrameOverlay.Dot(frame, 2, 1, FrameOverlay.BoxColour, radius: 0);

        var png = PngWriter.Encode(frame);

        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        var chunks = new List<(string Type, byte[] Data)>();
        for (var at = 8; at < png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var type = Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length).ToArray();
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            Assert.Equal(BitwiseCrc32(png.AsSpan(at + 4, 4 + length)), crc);
            chunks.Add((type, data));
            at += 12 + length;
        }
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
        Assert.Equal(3, BinaryPrimitives.ReadInt32BigEndian(chunks[0].Data));
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(chunks[0].Data.AsSpan(4)));
        Assert.Equal(8, chunks[0].Data[8]);
        Assert.Equal(2, chunks[0].Data[9]);

        using var inflated = new MemoryStream();
        using (var z = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress)) z.CopyTo(inflated);
        var raw = inflated.ToArray();
        Assert.Equal(2 * (1 + 3 * 3), raw.Length);
        Assert.Equal([0, 30, 20, 10], raw[..4]); // filter byte, then R, G, B
        Assert.Equal([0, 255, 0], raw[(10 + 1 + 6)..(10 + 1 + 9)]); // row 1, x 2: the green dot
    }

    [Fact]
    public void Rectangle_IsClippedToTheFrame()
    {
        using var frame = new BgrFrame(10, 8);
        frame.Pixels.Clear();
        FrameOverlay.Rectangle(frame, -5, 2, 20, 30, FrameOverlay.BoxColour);
        var green = 0;
        for (var i = 0; i < frame.ByteLength; i += 3)
            if (frame.Pixels[i] == 0 && frame.Pixels[i + 1] == 255 && frame.Pixels[i + 2] == 0) green++;
        Assert.Equal(2 * 10, green); // only the top edge (2 px thick) is inside; the others are off-frame
    }

    private static uint BitwiseCrc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
