using EdgeGate.Cli;
using EdgeGate.Composition;
using EdgeGate.Core.Evaluation;
using EdgeGate.ModelPrep;
using EdgeGate.Onnx;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.ModelPrep;

/// <summary>
/// Real faces for the int8 quantiser, aligned once per class: calibration from the smallest person folders, and a
/// gate set from six other people with ten photos each (their genuine pairs and the impostor pairs among them).
/// </summary>
public sealed class Int8Fixture : IDisposable
{
    public Int8Fixture()
    {
        Stack = FaceStack.Create(new FaceStackOptions { IntraOpThreads = 2, EmbedderVariant = EmbedderVariants.Original });
        OriginalPath = Path.Combine(AssetLocator.ModelsDirectory(Stack.AssetsRoot), EmbedderVariants.OriginalFileName);
        var faces = TestData.IsCi ? TestData.RequireFaces() : TestData.FacesDirOrNull();
        if (faces is null) return;
        var people = Path.Combine(faces, "people");
        var bySize = Directory.GetDirectories(people).OrderBy(d => Directory.GetFiles(d).Length).ThenBy(d => d, StringComparer.Ordinal).ToList();
        var calibration = new List<byte[]>();
        foreach (var person in bySize)
        {
            if (calibration.Count >= 16) break;
            calibration.AddRange(ModelCommand.AlignedFaces(Stack, person, int.MaxValue));
        }
        Calibration = calibration;
        var gatePeople = bySize.Where(d => Directory.GetFiles(d).Length == 10).Take(6).Select(d => Path.GetFullPath(d) + "/").ToList();
        Pairs = PairsCsv.Read(Path.Combine(faces, "pairs.csv"))
            .Where(p => gatePeople.Any(g => p.A.StartsWith(g, StringComparison.Ordinal)) && gatePeople.Any(g => p.B.StartsWith(g, StringComparison.Ordinal)))
            .ToList();
        var gateFaces = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var image in Pairs.SelectMany(p => new[] { p.A, p.B }).Distinct())
        {
            using var frame = Stack.Decoder.DecodeFile(image);
            gateFaces[image] = Stack.Engine.Observe(frame)[0].AlignedBgr;
        }
        GateFaces = gateFaces;
    }

    public string Dir { get; } = Directory.CreateTempSubdirectory("edgegate-int8-test-").FullName;
    public FaceStack Stack { get; }
    public string OriginalPath { get; }
    public IReadOnlyList<byte[]> Calibration { get; } = [];
    public IReadOnlyList<LabelledPair> Pairs { get; } = [];
    public IReadOnlyDictionary<string, byte[]> GateFaces { get; } = new Dictionary<string, byte[]>();
    public bool HasFaces => Calibration.Count > 0;

    /// <summary>
    /// The layers the sensitivity search of `edgegate model prepare` kept float on the dev faces (its card's
    /// float_nodes, x64, 99.99th percentile); a test repeats that result instead of the ~60 search steps.
    /// </summary>
    public static readonly string[] RecordedFloatNodes =
    [
        "Conv_0", "Conv_91", "Conv_93", "Conv_35", "Conv_31", "Conv_37", "Conv_33", "Conv_29", "Conv_2", "Add_43",
        "Conv_38", "Conv_44", "Conv_76", "Conv_78", "Add_49", "Add_55", "Conv_46", "Conv_27", "Conv_25",
    ];

    public Int8Options Options(string output, int weightBits = 8) => new()
    {
        Source = OriginalPath,
        OutputDirectory = output,
        CalibrationFaces = Calibration,
        CalibrationSet = "test calibration faces",
        GateFaces = GateFaces,
        GatePairs = Pairs,
        GateSet = "test gate pairs",
        KeepFloat = RecordedFloatNodes,
        WeightBits = weightBits,
        Threads = 2,
        Time = new FixedTime(),
    };

    private sealed class FixedTime : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);
    }

    public void Dispose()
    {
        Stack.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>The int8 quantiser and its accuracy gate against the real fr_feature.onnx, ORT and faces.</summary>
public sealed class Int8PreparerTests(Int8Fixture fx, ITestOutputHelper output) : IClassFixture<Int8Fixture>
{
    private bool Skip()
    {
        if (fx.HasFaces) return false;
        output.WriteLine("SKIPPED: no face photos (set EDGEGATE_FACES)");
        return true;
    }

    [Fact]
    public void TheRealInt8Model_PassesTheGate_IsWritten_WithACardAndItsOwnThresholds()
    {
        if (Skip()) return;
        var dir = Path.Combine(fx.Dir, "real");
        var r = Int8Preparer.Prepare(fx.Stack.Runtime, fx.Options(dir), output.WriteLine);

        Assert.True(File.Exists(r.ModelPath));
        var card = ModelCard.ReadFor(r.ModelPath)!;
        Assert.Equal(EmbedderVariants.Int8, card.Variant);
        Assert.Equal(EmbedderVariants.Sha256(r.ModelPath), card.Sha256);
        Assert.Equal(EmbedderVariants.Sha256(fx.OriginalPath), card.SourceSha256);
        Assert.Equal(Int8Fixture.RecordedFloatNodes, card.Quantization!.FloatNodes);
        Assert.Equal(62 - Int8Fixture.RecordedFloatNodes.Length, card.Quantization.QuantizedNodes);
        var gate = card.Gate!;
        output.WriteLine($"gate: mean cosine {gate.MeanCosine}, flipped {gate.Flipped}/{gate.Pairs}, TAR {gate.TarReference} -> {gate.TarCandidate}, cross TAR {gate.CrossTar}");
        Assert.InRange(gate.MeanCosine, 0.99, 1.0);
        Assert.InRange(gate.FlippedFraction, 0, 0.01);
        Assert.True(gate.TarReference - gate.TarCandidate <= 0.005);
        Assert.Equal(fx.Pairs.Count, gate.Pairs);
        Assert.NotNull(card.Thresholds);
        Assert.InRange(card.Thresholds!.Verify, 0.2, 0.6);
        Assert.Equal(card.Thresholds.Verify + 0.05, card.Thresholds.Identify, 3);
        // ORT fused every quantised Conv into QLinearConv (its saved optimised graph, counted into the card).
        var quantizedConvs = QdqQuantizer.Quantizable(OnnxGraphs.Read(fx.OriginalPath)).Count(n => n.StartsWith("Conv")) - Int8Fixture.RecordedFloatNodes.Count(n => n.StartsWith("Conv"));
        Assert.Contains($"{quantizedConvs} QLinearConv", card.Verification.Engine);

        // The product picks it up: int8 on request, with the card's thresholds, under the original's model id.
        var choice = FaceModels.ChooseEmbedder(new FaceModelOptions
        {
            ModelsDirectory = Path.GetDirectoryName(fx.OriginalPath)!, PreparedDirectory = dir, EmbedderVariant = EmbedderVariants.Int8,
        });
        Assert.Equal(r.ModelPath, choice.ModelPath);
        Assert.Equal(card.Thresholds.Verify, choice.Thresholds!.Verify);
        Assert.Equal(FaceModels.ModelId(fx.OriginalPath, flipAugment: true), choice.ModelId);
    }

    [Fact]
    public void Int8Activations_TheArmDefault_AlsoRunInOrt_AndPassTheGate()
    {
        if (Skip()) return;
        var dir = Path.Combine(fx.Dir, "s8");
        var r = Int8Preparer.Prepare(fx.Stack.Runtime, fx.Options(dir) with { Activations = ActivationType.Int8 }, output.WriteLine);
        Assert.Equal("int8 asymmetric per tensor", r.Card.Quantization!.Activations);
        Assert.InRange(r.Card.Gate!.MeanCosine, 0.99, 1.0);
        // Activation zero points are int8 tensors now (uint8 on x86 by default).
        var model = OnnxGraphs.Read(r.ModelPath);
        var zeroPoints = model.Graph.Node.Where(n => n.OpType == "QuantizeLinear").Select(n => n.Input[2]).ToHashSet();
        Assert.All(model.Graph.Initializer.Where(t => zeroPoints.Contains(t.Name)), t => Assert.Equal(QdqQuantizer.Int8Type, t.DataType));
    }

    [Fact]
    public void ADeliberatelyBrokenModel_TwoBitWeights_IsRefusedWithTheFigures_AndNothingIsWritten()
    {
        if (Skip()) return;
        var dir = Path.Combine(fx.Dir, "broken");
        var e = Assert.Throws<ModelRefusedException>(() => Int8Preparer.Prepare(fx.Stack.Runtime, fx.Options(dir, weightBits: 2), output.WriteLine));
        output.WriteLine(e.Message);
        Assert.Contains("failed the accuracy gate", e.Message);
        Assert.Contains("mean cosine to the reference", e.Message);
        Assert.False(File.Exists(Path.Combine(dir, EmbedderVariants.Int8FileName)));
        Assert.False(File.Exists(ModelCard.PathFor(Path.Combine(dir, EmbedderVariants.Int8FileName))));
        Assert.Empty(Directory.Exists(dir) ? Directory.GetFiles(dir) : []);
    }

    [Fact]
    public void QuantisedWeights_AreWithinHalfAStep_PerOutputChannel_AndADeadChannelKeepsAUsableScale()
    {
        var weights = new float[] { 0.5f, -1.27f, 0.01f, 0, 0, 0, 3e-3f, -1e-3f, 2e-3f };
        var (q, scales) = QdqQuantizer.QuantizeWeights(weights, outputChannels: 3);
        Assert.Equal(1.27f / 127, scales[0], 7);
        Assert.Equal(QdqQuantizer.MinWeightScale, scales[1]); // all zero: floored, never 0 (a 0 scale would divide by zero in ORT)
        Assert.Equal(3e-3f / 127, scales[2], 9);
        for (var i = 0; i < weights.Length; i++)
            Assert.InRange(Math.Abs(q[i] * scales[i / 3] - weights[i]), 0, scales[i / 3] / 2 + 1e-9);
        Assert.Equal((sbyte)-127, q[1]);
        Assert.Equal((sbyte)127, q[6]);
        Assert.All(q.Skip(3).Take(3), v => Assert.Equal((sbyte)0, v));
    }

    [Fact]
    public void ActivationParameters_HoldZeroExactly_ForBothTypes()
    {
        foreach (var type in new[] { ActivationType.UInt8, ActivationType.Int8 })
        {
            var (scale, zp) = QdqQuantizer.ActivationParameters(new ActivationRange(-1.5f, 6f), type);
            Assert.Equal(7.5f / 255, scale, 6);
            Assert.Equal(type == ActivationType.UInt8 ? 51 : -77, zp);
            // A range entirely above 0 is widened to 0, so a ReLU-like output's 0 is a code, not a rounding.
            var (_, zpPositive) = QdqQuantizer.ActivationParameters(new ActivationRange(0.5f, 2f), type);
            Assert.Equal(type == ActivationType.UInt8 ? 0 : -128, zpPositive);
        }
    }

    [Fact]
    public void WithNothingQuantised_TheRewriteKeepsTheOriginalsOutputs()
    {
        if (Skip()) return;
        var source = OnnxGraphs.Read(fx.OriginalPath);
        var plain = QdqQuantizer.Quantize(source, [], new Dictionary<string, ActivationRange>(), ActivationType.UInt8);
        Assert.Equal(QdqQuantizer.Opset, OnnxGraphs.DefaultOpset(plain));
        Assert.Equal(0, OnnxGraphs.CountOps(plain, "QuantizeLinear"));
        var path = Path.Combine(fx.Dir, "opset13.onnx");
        OnnxGraphs.Write(plain, path);
        using var a = OnnxModel.Load(fx.Stack.Runtime, fx.OriginalPath, new OnnxSessionOptions { GraphOptimizationLevel = 1 }, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
        using var b = OnnxModel.Load(fx.Stack.Runtime, path, new OnnxSessionOptions { GraphOptimizationLevel = 1 }, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
        var report = EmbedderEquivalence.Compare(a, b, fx.Calibration.Take(4).ToList());
        Assert.Equal(0, report.MaxAbsDiff);
    }
}
