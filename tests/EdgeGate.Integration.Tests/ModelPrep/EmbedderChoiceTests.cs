using EdgeGate.Onnx;

namespace EdgeGate.Integration.Tests.ModelPrep;

/// <summary>Which embedder the product runs, from the variant setting and what is on disk. Files only, no ORT.</summary>
public sealed class EmbedderChoiceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgegate-choice-").FullName;
    private string Models => Path.Combine(_dir, "models");
    private string Prepared => Path.Combine(_dir, "prepared");
    private string Fast => Path.Combine(Prepared, EmbedderVariants.FastFileName);

    public EmbedderChoiceTests()
    {
        Directory.CreateDirectory(Models);
        Directory.CreateDirectory(Prepared);
        File.WriteAllText(Path.Combine(Models, EmbedderVariants.OriginalFileName), "original bytes");
    }

    private FaceModelOptions Options(string variant) => new() { ModelsDirectory = Models, PreparedDirectory = Prepared, EmbedderVariant = variant };

    private string Int8 => Path.Combine(Prepared, EmbedderVariants.Int8FileName);

    private void WriteFast(string? sourceSha = null, string? ownSha = null, string variant = EmbedderVariants.Fast) =>
        WritePrepared(Fast, sourceSha, ownSha, variant);

    private void WriteInt8(bool withGate = true) =>
        WritePrepared(Int8, null, null, EmbedderVariants.Int8, withGate);

    private void WriteBench(string json) => File.WriteAllText(Path.Combine(Prepared, EmbedderVariants.BenchFileName), json);

    private void WritePrepared(string path, string? sourceSha, string? ownSha, string variant, bool withGate = false)
    {
        File.WriteAllText(path, variant + " bytes");
        var card = new ModelCard
        {
            Variant = variant, File = Path.GetFileName(path), Sha256 = ownSha ?? EmbedderVariants.Sha256(path),
            SourceFile = EmbedderVariants.OriginalFileName, SourceSha256 = sourceSha ?? EmbedderVariants.Sha256(Path.Combine(Models, EmbedderVariants.OriginalFileName)),
            Recipe = "r", Opset = 9, NodesReplaced = 33, CreatedUtc = DateTimeOffset.UnixEpoch,
            Verification = new ModelCardVerification { Engine = "e", Faces = 8, Runs = 32, FaceSource = "f", Tolerance = 1e-5, MaxAbsDiff = 1e-7, MinCosine = 1 },
            Gate = withGate
                ? new ModelCardGate { GateSet = "g", Pairs = 10, Images = 8, Threshold = 0.4, OperatingFar = 1e-3, MeanCosine = 0.995, MinCosine = 0.98, Flipped = 0, FlippedFraction = 0, TarReference = 1, TarCandidate = 1, CrossFlipped = 0, CrossTar = 1, Limits = "l" }
                : null,
            Thresholds = withGate
                ? new ModelCardThresholds { Verify = 0.39, Identify = 0.44, IdentifyMargin = 0.05, PSameA = 28, PSameB = -9.9, Rule = "r" }
                : null,
        };
        File.WriteAllText(ModelCard.PathFor(path), card.ToJson());
    }

    [Fact]
    public void Auto_WithNothingPrepared_RunsTheOriginal_AtLevel99()
    {
        var c = FaceModels.ChooseEmbedder(Options(EmbedderVariants.Auto));
        Assert.Equal(EmbedderVariants.Original, c.Variant);
        Assert.Equal(99, c.GraphOptimizationLevel);
        Assert.Contains("no prepared model", c.Reason);
    }

    [Fact]
    public void Auto_WithAVerifiedFastModel_RunsIt_AtItsLevel_UnderTheOriginalsModelId()
    {
        var original = FaceModels.ChooseEmbedder(Options(EmbedderVariants.Original));
        WriteFast();
        var c = FaceModels.ChooseEmbedder(Options(EmbedderVariants.Auto));
        Assert.Equal(EmbedderVariants.Fast, c.Variant);
        Assert.Equal(Fast, c.ModelPath);
        Assert.Equal(EmbedderVariants.DefaultGraphOptimizationLevel(EmbedderVariants.Fast), c.GraphOptimizationLevel);
        Assert.Equal(original.ModelId, c.ModelId); // templates stay comparable
        Assert.Equal(FaceModels.ModelId(Path.Combine(Models, EmbedderVariants.OriginalFileName), flipAugment: true), c.ModelId);
    }

    [Fact]
    public void AConfiguredLevel_OverridesTheVariantsDefault()
    {
        WriteFast();
        Assert.Equal(1, FaceModels.ChooseEmbedder(Options(EmbedderVariants.Fast) with { EmbedderGraphOptimizationLevel = 1 }).GraphOptimizationLevel);
    }

    [Fact]
    public void Auto_TakesTheFastestMeasuredVariantWhoseCardVerifies_WithItsThresholds()
    {
        WriteFast();
        WriteInt8();
        WriteBench("""{"embed_ms":{"original":30.5,"fp32-fast":9.2,"int8":7.1}}""");
        var c = FaceModels.ChooseEmbedder(Options(EmbedderVariants.Auto));
        Assert.Equal(EmbedderVariants.Int8, c.Variant);
        Assert.Equal(Int8, c.ModelPath);
        Assert.Equal(0.39, c.Thresholds!.Verify);
        Assert.Contains("fastest measured", c.Reason);
        Assert.Equal(FaceModels.ChooseEmbedder(Options(EmbedderVariants.Original)).ModelId, c.ModelId);

        WriteBench("""{"embed_ms":{"original":30.5,"fp32-fast":6.0,"int8":7.1}}""");
        var fast = FaceModels.ChooseEmbedder(Options(EmbedderVariants.Auto));
        Assert.Equal(EmbedderVariants.Fast, fast.Variant);
        Assert.Null(fast.Thresholds); // the original's operating point

        // The original's old name in a bench file still counts as the original.
        WriteBench("""{"embed_ms":{"fp32":3.0,"fp32-fast":6.0}}""");
        Assert.Equal(EmbedderVariants.Original, FaceModels.ChooseEmbedder(Options(EmbedderVariants.Auto)).Variant);
    }

    [Fact]
    public void Auto_SkipsAFasterVariantThatDoesNotVerify_AndSaysWhy()
    {
        WriteFast();
        WriteInt8(withGate: false); // a card without gate figures: never run
        WriteBench("""{"embed_ms":{"original":30.5,"fp32-fast":9.2,"int8":7.1}}""");
        var c = FaceModels.ChooseEmbedder(Options(EmbedderVariants.Auto));
        Assert.Equal(EmbedderVariants.Fast, c.Variant);
        Assert.Contains("skipped int8", c.Reason);
        Assert.Throws<InvalidDataException>(() => FaceModels.ChooseEmbedder(Options(EmbedderVariants.Int8)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("{ not json")]
    [InlineData("""{"embed_ms":{"fp64":1}}""")]
    public void Auto_WithoutAUsableBenchFile_PrefersFastThenOriginal(string? bench)
    {
        if (bench is not null) WriteBench(bench);
        WriteInt8();
        Assert.Equal(EmbedderVariants.Original, FaceModels.ChooseEmbedder(Options(EmbedderVariants.Auto)).Variant);
        WriteFast();
        var c = FaceModels.ChooseEmbedder(Options(EmbedderVariants.Auto));
        Assert.Equal(EmbedderVariants.Fast, c.Variant);
        Assert.Contains(EmbedderVariants.BenchFileName, c.Reason);
    }

    [Fact]
    public void TheOldNameOfTheOriginal_IsStillAccepted()
    {
        WriteFast();
        Assert.Equal(EmbedderVariants.Original, FaceModels.ChooseEmbedder(Options(EmbedderVariants.OriginalAlias)).Variant);
    }

    [Theory]
    [InlineData("other-source")]
    [InlineData("edited-model")]
    [InlineData("no-card")]
    [InlineData("bad-card")]
    [InlineData("wrong-variant")]
    public void AFastModelThatDoesNotCheckOut_IsSkippedByAuto_AndRefusedWhenAskedFor(string fault)
    {
        switch (fault)
        {
            case "other-source": WriteFast(sourceSha: new string('0', 64)); break;
            case "edited-model": WriteFast(); File.AppendAllText(Fast, "!"); break;
            case "no-card": WriteFast(); File.Delete(ModelCard.PathFor(Fast)); break;
            case "bad-card": WriteFast(); File.WriteAllText(ModelCard.PathFor(Fast), "{ not json"); break;
            case "wrong-variant": WriteFast(variant: "int8"); break;
        }
        var auto = FaceModels.ChooseEmbedder(Options(EmbedderVariants.Auto));
        Assert.Equal(EmbedderVariants.Original, auto.Variant);
        Assert.StartsWith("auto: ", auto.Reason);
        var e = Assert.ThrowsAny<Exception>(() => FaceModels.ChooseEmbedder(Options(EmbedderVariants.Fast)));
        Assert.True(e is InvalidDataException or FileNotFoundException, e.GetType().Name);
        Assert.Contains("edgegate model prepare", e.Message);
    }

    [Fact]
    public void FastAskedFor_ButNotPrepared_IsFileNotFound()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FaceModels.ChooseEmbedder(Options(EmbedderVariants.Fast)));
        Assert.Contains(Fast, e.Message);
    }

    [Fact]
    public void Original_IsUsedEvenWhenAFastModelIsPrepared()
    {
        WriteFast();
        Assert.Equal(EmbedderVariants.Original, FaceModels.ChooseEmbedder(Options(EmbedderVariants.Original)).Variant);
    }

    [Fact]
    public void AnUnknownVariant_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FaceModels.ChooseEmbedder(Options("fp16")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
