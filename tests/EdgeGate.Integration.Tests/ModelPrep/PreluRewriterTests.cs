using EdgeGate.ModelPrep;
using EdgeGate.Onnx;
using Google.Protobuf;
using OnnxProto = global::Onnx;

namespace EdgeGate.Integration.Tests.ModelPrep;

/// <summary>The rewrite on a one-node model, run by ONNX Runtime: slopes negative, zero, between 0 and 1, and above 1.</summary>
public sealed class PreluRewriterTests : IDisposable
{
    private static readonly float[] Slopes = [-0.5f, 0f, 0.25f, 2.5f];
    private readonly string _dir = Directory.CreateTempSubdirectory("edgegate-prelu-").FullName;
    private static OrtRuntime Runtime => OrtRuntime.Load(AssetLocator());

    private static string AssetLocator()
    {
        var root = EdgeGate.Composition.AssetLocator.Root();
        return EdgeGate.Composition.AssetLocator.OnnxRuntimeLibrary(root);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(99)]
    public void RewrittenPRelu_EqualsSlopeTimesX_ForEverySlope(int level)
    {
        var path = Path.Combine(_dir, $"fast-{level}.onnx");
        var (fast, replaced) = PreluRewriter.Rewrite(OnePRelu([Slopes.Length, 1, 1]));
        Assert.Equal(1, replaced);
        File.WriteAllBytes(path, fast.ToByteArray());
        TensorSpec[] ins = [new("x", 1, Slopes.Length, 2, 2)], outs = [new("y", 1, Slopes.Length, 2, 2)];
        using var model = OnnxModel.Load(Runtime, path, new OnnxSessionOptions { GraphOptimizationLevel = level }, ins, outs);
        float[] x = [-3f, -0.125f, 0f, 1.75f];
        for (var c = 0; c < Slopes.Length; c++) x.CopyTo(model.Input().Slice(c * 4, 4));
        model.Run();
        for (var c = 0; c < Slopes.Length; c++)
            for (var i = 0; i < 4; i++)
            {
                var expected = x[i] >= 0 ? x[i] : Slopes[c] * x[i];
                Assert.Equal(expected, model.Output()[c * 4 + i], 6);
            }
    }

    [Theory]
    [InlineData(new long[] { 1 })]
    [InlineData(new long[] { 4 })]
    [InlineData(new long[] { 4, 2, 1 })]
    public void ASlopeThatIsNotPerChannel_IsRefused_NamingTheNode(long[] dims)
    {
        var e = Assert.Throws<InvalidDataException>(() => PreluRewriter.Rewrite(OnePRelu(dims)));
        Assert.Contains("'act1'", e.Message);
        Assert.Contains("not per-channel", e.Message);
    }

    [Fact]
    public void TheSourceModel_IsNotChanged()
    {
        var source = OnePRelu([Slopes.Length, 1, 1]);
        var before = source.ToByteArray();
        PreluRewriter.Rewrite(source);
        Assert.Equal(before, source.ToByteArray());
    }

    /// <summary>x[1,4,2,2] → PRelu(x, slope) → y, opset 9, with a slope of the given shape.</summary>
    private static OnnxProto.ModelProto OnePRelu(long[] slopeDims)
    {
        var count = (int)slopeDims.Aggregate(1L, (a, b) => a * b);
        var graph = new OnnxProto.GraphProto { Name = "one-prelu" };
        graph.Input.Add(Value("x"));
        graph.Output.Add(Value("y"));
        graph.Initializer.Add(OnnxGraphs.FloatTensor("slope", slopeDims, Enumerable.Range(0, count).Select(i => Slopes[i % Slopes.Length]).ToArray()));
        var node = new OnnxProto.NodeProto { OpType = "PRelu", Name = "act1" };
        node.Input.Add("x"); node.Input.Add("slope"); node.Output.Add("y");
        graph.Node.Add(node);
        var model = new OnnxProto.ModelProto { IrVersion = 4, Graph = graph, ProducerName = "test" };
        model.OpsetImport.Add(new OnnxProto.OperatorSetIdProto { Domain = "", Version = 9 });
        return model;
    }

    private static OnnxProto.ValueInfoProto Value(string name)
    {
        var shape = new OnnxProto.TensorShapeProto();
        foreach (var d in new long[] { 1, Slopes.Length, 2, 2 }) shape.Dim.Add(new OnnxProto.TensorShapeProto.Types.Dimension { DimValue = d });
        return new OnnxProto.ValueInfoProto
        {
            Name = name,
            Type = new OnnxProto.TypeProto { TensorType = new OnnxProto.TypeProto.Types.Tensor { ElemType = OnnxGraphs.FloatType, Shape = shape } },
        };
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
