using EdgeGate.Daemon;

namespace EdgeGate.Integration.Tests.Daemon;

/// <summary>The daemon's embedder setting is checked with the rest of the configuration, naming the key.</summary>
public sealed class EmbedderVariantConfigTests
{
    [Theory]
    [InlineData("auto")]
    [InlineData("fp32")]
    [InlineData("original")]
    [InlineData("fp32-fast")]
    [InlineData("int8")]
    public void KnownVariants_Pass(string variant)
    {
        var o = new DaemonOptions();
        o.Recognition.EmbedderVariant = variant;
        Assert.DoesNotContain(DaemonOptionsValidator.Check(o), m => m.Contains("EmbedderVariant"));
    }

    [Fact]
    public void ABadEmbedderLevel_IsAConfigurationError()
    {
        var o = new DaemonOptions();
        o.Recognition.EmbedderGraphOptimizationLevel = 3;
        Assert.Contains(DaemonOptionsValidator.Check(o), m => m.Contains("EdgeGate:Recognition:EmbedderGraphOptimizationLevel must be 0, 1, 2 or 99, got 3"));
        o.Recognition.EmbedderGraphOptimizationLevel = 99;
        Assert.DoesNotContain(DaemonOptionsValidator.Check(o), m => m.Contains("EmbedderGraphOptimizationLevel"));
    }

    [Fact]
    public void AnUnknownVariant_IsAConfigurationError_NamingTheKeyAndValue()
    {
        var o = new DaemonOptions();
        o.Recognition.EmbedderVariant = "int4";
        var problem = Assert.Single(DaemonOptionsValidator.Check(o), m => m.Contains("EmbedderVariant"));
        Assert.Contains("EdgeGate:Recognition:EmbedderVariant", problem);
        Assert.Contains("'int4'", problem);
    }
}
