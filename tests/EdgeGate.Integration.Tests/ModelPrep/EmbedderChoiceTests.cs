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

    private void WriteFast(string? sourceSha = null, string? ownSha = null, string variant = EmbedderVariants.Fast)
    {
        File.WriteAllText(Fast, "fast bytes");
        var card = new ModelCard
        {
            Variant = variant, File = EmbedderVariants.FastFileName, Sha256 = ownSha ?? EmbedderVariants.Sha256(Fast),
            SourceFile = EmbedderVariants.OriginalFileName, SourceSha256 = sourceSha ?? EmbedderVariants.Sha256(Path.Combine(Models, EmbedderVariants.OriginalFileName)),
            Recipe = "r", Opset = 9, NodesReplaced = 33, CreatedUtc = DateTimeOffset.UnixEpoch,
            Verification = new ModelCardVerification { Engine = "e", Faces = 8, Runs = 32, FaceSource = "f", Tolerance = 1e-5, MaxAbsDiff = 1e-7, MinCosine = 1 },
        };
        File.WriteAllText(ModelCard.PathFor(Fast), card.ToJson());
    }

    [Fact]
    public void Auto_WithNothingPrepared_RunsTheOriginal_AtLevel1()
    {
        var c = FaceModels.ChooseEmbedder(Options(EmbedderVariants.Auto));
        Assert.Equal(EmbedderVariants.Original, c.Variant);
        Assert.Equal(1, c.GraphOptimizationLevel);
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
        Assert.Equal(99, FaceModels.ChooseEmbedder(Options(EmbedderVariants.Fast) with { EmbedderGraphOptimizationLevel = 99 }).GraphOptimizationLevel);
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
