using EdgeGate.Cli;
using EdgeGate.Core.Evaluation;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Gallery;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Faces;

public sealed class FaceEngineTests(FaceStackFixture fixture, ITestOutputHelper output) : IClassFixture<FaceStackFixture>
{
    private const string Lfw1 = "people/Tony_Blair/2.jpg";
    private const string Lfw2 = "people/Colin_Powell/1.jpg";

    [Fact]
    public void DevPairs_MeetTheDoorOperatingPoint()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var pairs = PairsCsv.Read(Path.Combine(faces, "pairs.csv"));
        var stack = fixture.Stack;

        var (r, failedImages, _, images) = EvalCommand.Evaluate(stack, pairs, stack.Matcher.Options.VerifyThreshold, progress: false);

        output.WriteLine(EvalCommand.ToJson(r, failedImages).ToJsonString());
        Assert.True(failedImages <= images.Count / 100, $"{failedImages} of {images.Count} images had no usable face");
        Assert.True(r.Far <= 0.001, $"FAR {r.Far} at the configured τ is too high for a door");
        Assert.True(r.Accuracy >= 0.995, $"accuracy {r.Accuracy}");
        Assert.True(r.Eer <= 0.005, $"EER {r.Eer}");
        Assert.True(r.TarAtFar1e3 >= 0.99, $"TAR@FAR1e-3 {r.TarAtFar1e3}");
    }

    [Fact]
    public void OpenSetIdentification_NamesEnrolledPeople_AndNoStranger()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var stack = fixture.Stack;
        // People with at least 3 photos; alternate ones are enrolled (first photo), the others are strangers.
        var people = Directory.GetDirectories(Path.Combine(faces, "people")).OrderBy(d => d, StringComparer.Ordinal)
            .Select(d => (Id: Path.GetFileName(d), Photos: Directory.GetFiles(d).OrderBy(f => f, StringComparer.Ordinal).ToArray()))
            .Where(p => p.Photos.Length >= 3).ToList();
        var enrolled = people.Where((_, i) => i % 2 == 0).ToList();
        var strangers = people.Where((_, i) => i % 2 == 1).ToList();
        var templates = enrolled.Select((p, i) => new FaceTemplate(i, p.Id, stack.Engine.ModelId, Embed(p.Photos[0]), 1, DateTimeOffset.UnixEpoch)).ToList();
        stack.Matcher.Load(templates);

        int genuine = 0, named = 0, wrong = 0, strangerProbes = 0, strangerNamed = 0;
        foreach (var p in enrolled)
            foreach (var photo in p.Photos.Skip(1))
            {
                var r = stack.Matcher.Identify(Embed(photo));
                genuine++;
                if (r.PersonId == p.Id) named++;
                else if (r.PersonId is not null) wrong++;
            }
        foreach (var p in strangers)
            foreach (var photo in p.Photos)
            {
                strangerProbes++;
                if (stack.Matcher.Identify(Embed(photo)).PersonId is not null) strangerNamed++;
            }

        output.WriteLine($"enrolled {enrolled.Count}: {named}/{genuine} named, {wrong} misnamed; strangers: {strangerNamed}/{strangerProbes} given a name");
        Assert.Equal(0, wrong);
        Assert.Equal(0, strangerNamed);
        Assert.True(named >= 0.95 * genuine, $"only {named} of {genuine} enrolled probes were named");
    }

    [Fact]
    public void TwoPeopleSideBySide_AreRejectedAsMultipleFaces()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        using var a = fixture.Stack.Decoder.DecodeFile(Path.Combine(faces, Lfw1));
        using var b = fixture.Stack.Decoder.DecodeFile(Path.Combine(faces, Lfw2));
        using var both = new BgrFrame(a.Width + b.Width, Math.Max(a.Height, b.Height));
        for (var y = 0; y < both.Height; y++)
        {
            if (y < a.Height) a.Row(y).CopyTo(both.Row(y));
            if (y < b.Height) b.Row(y).CopyTo(both.Row(y)[a.Stride..]);
        }

        var r = fixture.Stack.Engine.AnalyzeSingle(both);

        Assert.Equal(FaceRejection.MultipleFaces, r.Rejection);
        Assert.Equal(2, r.FacesFound);
        Assert.Null(r.Embedding);
    }

    [Fact]
    public void FlatGreyFrame_HasNoFace()
    {
        using var frame = new BgrFrame(320, 240);
        frame.Pixels.Fill(128);

        var r = fixture.Stack.Engine.AnalyzeSingle(frame);

        Assert.Equal(FaceRejection.NoFace, r.Rejection);
    }

    [Fact]
    public void HeavilyBlurredFace_IsRejectedAsTooBlurry()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        using var sharp = fixture.Stack.Decoder.DecodeFile(Path.Combine(faces, Lfw1));
        using var blurred = BoxBlur(sharp, radius: 2, passes: 2);

        var good = fixture.Stack.Engine.AnalyzeSingle(sharp);
        var bad = fixture.Stack.Engine.AnalyzeSingle(blurred);

        output.WriteLine($"sharpness {good.Face?.Quality.Sharpness} -> {bad.Face?.Quality.Sharpness}");
        Assert.True(good.Ok, good.Detail);
        Assert.Equal(FaceRejection.TooBlurry, bad.Rejection);
    }

    [Fact]
    public void SmallFaceInALargeFrame_IsRejectedAsTooSmall()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        using var photo = fixture.Stack.Decoder.DecodeFile(Path.Combine(faces, Lfw1));
        // The 250 px photo shrunk to 100 px on a grey 640x480 canvas: the face is found, its eyes ~17 px apart.
        using var canvas = new BgrFrame(640, 480);
        canvas.Pixels.Fill(120);
        var small = new byte[100 * 100 * 3];
        ImageSampler.Warp(photo, ImageSampler.RectToGrid(0, 0, photo.Width, photo.Height, 100, 100), 100, 100, small);
        for (var y = 0; y < 100; y++) small.AsSpan(y * 300, 300).CopyTo(canvas.Row(190 + y)[(270 * 3)..]);

        var r = fixture.Stack.Engine.AnalyzeSingle(canvas);

        output.WriteLine($"faces {r.FacesFound}, eye distance {r.Face?.Quality.EyeDistancePx}");
        Assert.Equal(FaceRejection.FaceTooSmall, r.Rejection);
    }

    [Fact]
    public void SameImage_GivesTheSameUnitEmbedding_AndMirrorAugmentationIsOn()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var e1 = Embed(Path.Combine(faces, Lfw1));
        var e2 = Embed(Path.Combine(faces, Lfw1));

        Assert.Equal(FaceEmbedder.Dimension, e1.Length);
        Assert.Equal(e1, e2);
        Assert.Equal(1.0, Math.Sqrt(e1.Sum(v => (double)v * v)), 4);
        Assert.EndsWith("-flip", fixture.Stack.Engine.ModelId);
    }

    private float[] Embed(string path)
    {
        using var frame = fixture.Stack.Decoder.DecodeFile(path);
        var r = fixture.Stack.Engine.AnalyzeSingle(frame, enforceQuality: false, rejectRivals: false);
        return r.Embedding ?? throw new InvalidOperationException($"{path}: {r.Rejection} {r.Detail}");
    }

    private static BgrFrame BoxBlur(BgrFrame src, int radius, int passes)
    {
        var a = src.Pixels.ToArray();
        var b = new byte[a.Length];
        int w = src.Width, h = src.Height;
        for (var p = 0; p < passes; p++)
        {
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                    for (var c = 0; c < 3; c++)
                    {
                        int sum = 0, n = 0;
                        for (var dy = -radius; dy <= radius; dy++)
                            for (var dx = -radius; dx <= radius; dx++)
                            {
                                int xx = Math.Clamp(x + dx, 0, w - 1), yy = Math.Clamp(y + dy, 0, h - 1);
                                sum += a[(yy * w + xx) * 3 + c]; n++;
                            }
                        b[(y * w + x) * 3 + c] = (byte)(sum / n);
                    }
            (a, b) = (b, a);
        }
        return BgrFrame.FromPacked(a, w, h, w * 3);
    }
}
