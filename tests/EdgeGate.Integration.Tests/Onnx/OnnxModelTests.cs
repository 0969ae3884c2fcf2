using EdgeGate.Composition;
using EdgeGate.Onnx;

namespace EdgeGate.Integration.Tests.Onnx;

/// <summary>The ORT adapter against the real library: signatures checked, native failures become exceptions.</summary>
public sealed class OnnxModelTests
{
    private static readonly string Root = AssetLocator.Root();
    private static OrtRuntime Runtime => OrtRuntime.Load(AssetLocator.OnnxRuntimeLibrary(Root));
    private static string Model(string name) => Path.Combine(AssetLocator.ModelsDirectory(Root), name);

    [Fact]
    public void Runtime_Is130()
    {
        Assert.Equal("1.30.0", Runtime.Version);
    }

    [Fact]
    public void AModelWithAnotherSignature_IsRefused_NamingWhatItHas()
    {
        // fr_eye.onnx takes [1,1,24,24]; the detector wrapper expects [1,3,240,320].
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(Runtime, Model("fr_eye.onnx"), new OnnxSessionOptions(),
            FaceModels.DetectorInputs, FaceModels.DetectorOutputs));
        Assert.Contains("fr_eye.onnx", e.Message);
        Assert.Contains("input[1,3,240,320]", e.Message);
    }

    [Fact]
    public void AMissingModel_IsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => OnnxModel.Load(Runtime, Model("nope.onnx"), new OnnxSessionOptions(),
            FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs));
    }

    [Fact]
    public void AGarbageModel_IsAnOrtErrorWithCodeAndMessage()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, "this is not a protobuf"u8.ToArray());
            var e = Assert.Throws<OnnxRuntimeException>(() => OnnxModel.Load(Runtime, path, new OnnxSessionOptions(),
                FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs));
            Assert.NotEqual(0, e.Code);
            Assert.False(string.IsNullOrWhiteSpace(e.NativeMessage));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void BadOptions_AreRefusedBeforeAnySession()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxModel.Load(Runtime, Model("fr_feature.onnx"),
            new OnnxSessionOptions { GraphOptimizationLevel = 5 }, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs));
    }

    [Fact]
    public void OneAndTwoThreads_GiveTheSameEmbedding_AndRunsRepeat()
    {
        using var one = OnnxModel.Load(Runtime, Model("fr_feature.onnx"), new OnnxSessionOptions { IntraOpThreads = 1, GraphOptimizationLevel = 1 },
            FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
        using var two = OnnxModel.Load(Runtime, Model("fr_feature.onnx"), new OnnxSessionOptions { IntraOpThreads = 2, GraphOptimizationLevel = 1 },
            FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
        var rng = new Random(7);
        for (var i = 0; i < one.Input().Length; i++) one.Input()[i] = two.Input()[i] = (float)(rng.NextDouble() * 2 - 1);

        one.Run();
        var first = one.Output().ToArray();
        one.Run();
        two.Run();

        Assert.Equal(first, one.Output().ToArray());
        for (var i = 0; i < first.Length; i++) Assert.Equal(first[i], two.Output()[i], 4);
        Assert.Contains(first, v => v != 0);
    }

    [Fact]
    public void ARunAfterDispose_Throws()
    {
        var m = OnnxModel.Load(Runtime, Model("fr_landmark.onnx"), new OnnxSessionOptions(), FaceModels.LandmarkInputs, FaceModels.LandmarkOutputs);
        m.Dispose();
        m.Dispose();
        Assert.Throws<ObjectDisposedException>(m.Run);
    }
}
