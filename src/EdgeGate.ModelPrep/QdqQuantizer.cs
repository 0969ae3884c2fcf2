using System.Runtime.InteropServices;
using Google.Protobuf;
using OnnxProto = global::Onnx;

namespace EdgeGate.ModelPrep;

/// <summary>Activation element type of a QDQ model.</summary>
public enum ActivationType
{
    /// <summary>x86: ORT fuses QDQ into QLinearConv only for uint8 activations there (u8·s8 kernels).</summary>
    UInt8,
    /// <summary>ARM: ORT's s8·s8 kernels.</summary>
    Int8,
}

/// <summary>Quantisation of one activation tensor: real = scale · (q − zero point).</summary>
public readonly record struct ActivationRange(float Low, float High);

/// <summary>
/// Static QDQ quantisation of a float Conv/PRelu/Add graph (fr_feature.onnx), as a rewrite of its ONNX protobuf:
/// <list type="bullet">
/// <item>a quantised Conv reads DequantizeLinear(int8 weights, per output channel, symmetric, zero point 0) and
/// DequantizeLinear(int32 bias, scale s_x·s_w[c]): the form ONNX Runtime fuses into QLinearConv;</item>
/// <item>every activation a quantised node reads or writes gets one QuantizeLinear → DequantizeLinear pair, per
/// tensor, with the range measured on calibration faces; all readers of that tensor read the dequantised value,
/// so ORT sees one Q after the producer and fuses it;</item>
/// <item>nodes not in the quantised set (and every PRelu: ORT has no quantised PRelu) stay float.</item>
/// </list>
/// The opset becomes 13 (per-axis DequantizeLinear); Conv, PRelu, Add and Reshape mean the same in 9 and 13.
/// </summary>
internal static class QdqQuantizer
{
    public const long Opset = 13;
    public const int Int8Type = (int)OnnxProto.TensorProto.Types.DataType.Int8;
    public const int UInt8Type = (int)OnnxProto.TensorProto.Types.DataType.Uint8;
    public const int Int32Type = (int)OnnxProto.TensorProto.Types.DataType.Int32;

    /// <summary>A weight scale never goes below this, so a dead channel (all weights 0) still gets a usable scale.</summary>
    public const float MinWeightScale = 1e-8f;

    /// <summary>The nodes that can be quantised: Conv and Add, by name (nodes without a name are named after their output).</summary>
    public static IReadOnlyList<string> Quantizable(OnnxProto.ModelProto model) =>
        model.Graph.Node.Where(n => n.OpType is "Conv" or "Add").Select(NodeName).ToList();

    public static string NodeName(OnnxProto.NodeProto n) => string.IsNullOrEmpty(n.Name) ? $"{n.OpType}:{n.Output[0]}" : n.Name;

    /// <summary>The activations (not initializers) that quantising <paramref name="nodes"/> puts a Q/DQ pair on.</summary>
    public static HashSet<string> ActivationsOf(OnnxProto.ModelProto model, IEnumerable<string> nodes)
    {
        var set = nodes.ToHashSet(StringComparer.Ordinal);
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in model.Graph.Node.Where(n => set.Contains(NodeName(n))))
        {
            if (n.OpType == "Conv") result.Add(n.Input[0]);
            else foreach (var i in n.Input) if (!initializers.Contains(i)) result.Add(i);
            result.Add(n.Output[0]);
        }
        return result;
    }

    /// <summary>Every activation any quantisation could touch: what calibration must measure.</summary>
    public static HashSet<string> AllActivations(OnnxProto.ModelProto model) => ActivationsOf(model, Quantizable(model));

    /// <summary>Scale and zero point for a measured range; the range is widened to hold 0, so 0 is exact (padding).</summary>
    public static (float Scale, int ZeroPoint) ActivationParameters(ActivationRange range, ActivationType type)
    {
        var lo = Math.Min(0f, range.Low);
        var hi = Math.Max(0f, range.High);
        var scale = Math.Max((hi - lo) / 255f, 1e-8f);
        var (qmin, qmax) = type == ActivationType.UInt8 ? (0, 255) : (-128, 127);
        var zp = (int)Math.Round(qmin - lo / scale);
        return (scale, Math.Clamp(zp, qmin, qmax));
    }

    /// <summary>Per output channel symmetric int8 (or fewer bits): scale = max|w| / (2^(bits−1) − 1), floored.</summary>
    public static (sbyte[] Values, float[] Scales) QuantizeWeights(float[] weights, int outputChannels, int bits = 8)
    {
        if (bits is < 2 or > 8) throw new ArgumentOutOfRangeException(nameof(bits), bits, "2..8 bits");
        var qmax = (1 << (bits - 1)) - 1;
        var per = weights.Length / outputChannels;
        var q = new sbyte[weights.Length];
        var scales = new float[outputChannels];
        for (var c = 0; c < outputChannels; c++)
        {
            var span = weights.AsSpan(c * per, per);
            float max = 0;
            foreach (var w in span) max = Math.Max(max, Math.Abs(w));
            var s = Math.Max(max / qmax, MinWeightScale);
            scales[c] = s;
            for (var k = 0; k < per; k++) q[c * per + k] = (sbyte)Math.Clamp((int)MathF.Round(span[k] / s), -qmax, qmax);
        }
        return (q, scales);
    }

    /// <summary>
    /// The QDQ model: <paramref name="quantized"/> nodes quantised with the measured <paramref name="ranges"/>.
    /// <paramref name="weightBits"/> below 8 only exists to build deliberately damaged models for the gate's tests.
    /// </summary>
    public static OnnxProto.ModelProto Quantize(OnnxProto.ModelProto source, IReadOnlyCollection<string> quantized,
        IReadOnlyDictionary<string, ActivationRange> ranges, ActivationType type, int weightBits = 8)
    {
        var model = source.Clone();
        var graph = model.Graph;
        foreach (var o in model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx")) o.Version = Math.Max(o.Version, Opset);
        if (model.IrVersion < 7) model.IrVersion = 7;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var chosen = quantized.ToHashSet(StringComparer.Ordinal);
        var unknown = chosen.Except(Quantizable(source)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"not quantisable nodes: {string.Join(", ", unknown)}", nameof(quantized));
        var activations = ActivationsOf(source, chosen);
        var taken = new HashSet<string>(graph.Node.SelectMany(n => n.Input.Concat(n.Output)).Concat(initializers.Keys).Concat(graph.Input.Select(i => i.Name)), StringComparer.Ordinal);
        string Fresh(string stem)
        {
            var name = stem;
            for (var k = 1; !taken.Add(name); k++) name = $"{stem}_{k}";
            return name;
        }

        var zpType = type == ActivationType.UInt8 ? UInt8Type : Int8Type;
        var dequantized = new Dictionary<string, string>(StringComparer.Ordinal);
        var scales = new Dictionary<string, float>(StringComparer.Ordinal);
        List<OnnxProto.NodeProto> QdqFor(string tensor)
        {
            if (!ranges.TryGetValue(tensor, out var range)) throw new ArgumentException($"no calibration range for '{tensor}'", nameof(ranges));
            var (scale, zp) = ActivationParameters(range, type);
            scales[tensor] = scale;
            var scaleName = Fresh(tensor + "_scale");
            var zpName = Fresh(tensor + "_zero_point");
            graph.Initializer.Add(Scalar(scaleName, scale));
            graph.Initializer.Add(ZeroPoint(zpName, zp, zpType));
            var q = Fresh(tensor + "_quantized");
            var dq = Fresh(tensor + "_dequantized");
            dequantized[tensor] = dq;
            return
            [
                Node("QuantizeLinear", Fresh(tensor + "_Q"), [tensor, scaleName, zpName], q),
                Node("DequantizeLinear", Fresh(tensor + "_DQ"), [q, scaleName, zpName], dq),
            ];
        }

        var nodes = new List<OnnxProto.NodeProto>();
        var constants = new List<OnnxProto.NodeProto>();
        foreach (var input in graph.Input.Where(i => activations.Contains(i.Name))) nodes.AddRange(QdqFor(input.Name));
        foreach (var original in graph.Node)
        {
            var node = original.Clone();
            for (var i = 0; i < node.Input.Count; i++)
                if (dequantized.TryGetValue(node.Input[i], out var dq)) node.Input[i] = dq;
            if (node.OpType == "Conv" && chosen.Contains(NodeName(original)))
                QuantizeConvInputs(node, original, initializers, scales, graph, constants, Fresh, weightBits);
            nodes.Add(node);
            foreach (var output in node.Output.Where(activations.Contains)) nodes.AddRange(QdqFor(output));
        }
        graph.Node.Clear();
        // The weight and bias DQ nodes read only initializers; first is a valid topological place for them.
        graph.Node.AddRange(constants.Concat(nodes));
        RemoveUnused(graph);
        return model;
    }

    private static void QuantizeConvInputs(OnnxProto.NodeProto node, OnnxProto.NodeProto original,
        Dictionary<string, OnnxProto.TensorProto> initializers, Dictionary<string, float> scales, OnnxProto.GraphProto graph,
        List<OnnxProto.NodeProto> constants, Func<string, string> fresh, int weightBits)
    {
        var label = NodeName(original);
        if (!initializers.TryGetValue(original.Input[1], out var weight))
            throw new InvalidDataException($"Conv '{label}': weights are not an initializer");
        var dims = weight.Dims.ToArray();
        var channels = checked((int)dims[0]);
        var (wq, ws) = QuantizeWeights(OnnxGraphs.Floats(weight), channels, weightBits);
        var sx = scales[original.Input[0]];
        float[]? bias = original.Input.Count > 2 ? OnnxGraphs.Floats(initializers[original.Input[2]]) : null;
        if (bias is not null)
            for (var c = 0; c < channels; c++)
            {
                // The bias is stored as int32 in units of s_x·s_w; a scale too small for it would overflow int32.
                var needed = (float)(Math.Abs(bias[c]) / (sx * (double)int.MaxValue / 2));
                if (ws[c] < needed)
                {
                    ws[c] = needed;
                    var span = OnnxGraphs.Floats(weight).AsSpan(c * (wq.Length / channels), wq.Length / channels);
                    for (var k = 0; k < span.Length; k++) wq[c * span.Length + k] = (sbyte)Math.Clamp((int)MathF.Round(span[k] / ws[c]), -127, 127);
                }
            }
        var wName = fresh(original.Input[1] + "_quantized");
        var wScale = fresh(original.Input[1] + "_scale");
        var wZero = fresh(original.Input[1] + "_zero_point");
        var wDq = fresh(original.Input[1] + "_dequantized");
        graph.Initializer.Add(Tensor(wName, dims, Int8Type, MemoryMarshal.AsBytes(wq.AsSpan())));
        graph.Initializer.Add(OnnxGraphs.FloatTensor(wScale, [channels], ws));
        graph.Initializer.Add(Tensor(wZero, [channels], Int8Type, new byte[channels]));
        constants.Add(DequantizeAxis0(fresh(label + "_weight_DQ"), wName, wScale, wZero, wDq));
        node.Input[1] = wDq;
        if (bias is null) return;
        var bq = new int[channels];
        var bs = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            bs[c] = sx * ws[c];
            bq[c] = (int)Math.Clamp(Math.Round(bias[c] / (double)bs[c]), int.MinValue, int.MaxValue);
        }
        var bName = fresh(original.Input[2] + "_quantized");
        var bScale = fresh(original.Input[2] + "_scale");
        var bZero = fresh(original.Input[2] + "_zero_point");
        var bDq = fresh(original.Input[2] + "_dequantized");
        graph.Initializer.Add(Tensor(bName, [channels], Int32Type, MemoryMarshal.AsBytes(bq.AsSpan())));
        graph.Initializer.Add(OnnxGraphs.FloatTensor(bScale, [channels], bs));
        graph.Initializer.Add(Tensor(bZero, [channels], Int32Type, new byte[channels * 4]));
        constants.Add(DequantizeAxis0(fresh(label + "_bias_DQ"), bName, bScale, bZero, bDq));
        node.Input[2] = bDq;
    }

    /// <summary>
    /// The float model with every activation in <paramref name="tensors"/> also a graph output, with its shape, so
    /// one run yields all of them (calibration). Shapes are computed for the ops this model has.
    /// </summary>
    public static (OnnxProto.ModelProto Model, IReadOnlyList<(string Name, long[] Shape)> Outputs) WithActivationOutputs(
        OnnxProto.ModelProto source, IReadOnlyCollection<string> tensors, long[] inputShape)
    {
        var model = source.Clone();
        var shapes = Shapes(model, inputShape);
        var outputs = new List<(string, long[])>();
        foreach (var name in tensors.Order(StringComparer.Ordinal))
        {
            if (model.Graph.Output.Any(o => o.Name == name)) continue;
            var shape = shapes.TryGetValue(name, out var s) ? s : throw new InvalidDataException($"no shape for '{name}'");
            var info = new OnnxProto.ValueInfoProto { Name = name, Type = new OnnxProto.TypeProto { TensorType = new OnnxProto.TypeProto.Types.Tensor { ElemType = OnnxGraphs.FloatType, Shape = new OnnxProto.TensorShapeProto() } } };
            foreach (var d in shape) info.Type.TensorType.Shape.Dim.Add(new OnnxProto.TensorShapeProto.Types.Dimension { DimValue = d });
            model.Graph.Output.Add(info);
            outputs.Add((name, shape));
        }
        return (model, outputs);
    }

    /// <summary>NCHW shapes of every activation, for Conv, PRelu, Add, Relu and Reshape (the ops fr_feature uses).</summary>
    public static Dictionary<string, long[]> Shapes(OnnxProto.ModelProto model, long[] inputShape)
    {
        var graph = model.Graph;
        var init = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal) { [graph.Input.First(i => !init.ContainsKey(i.Name)).Name] = inputShape };
        foreach (var n in graph.Node)
        {
            var x = shapes.TryGetValue(n.Input[0], out var s) ? s : null;
            if (x is null) continue;
            long[]? y = n.OpType switch
            {
                "Conv" => ConvShape(n, x, init[n.Input[1]].Dims.ToArray()),
                "PRelu" or "Add" or "Relu" or "QuantizeLinear" or "DequantizeLinear" => x,
                _ => null,
            };
            if (y is not null) shapes[n.Output[0]] = y;
        }
        return shapes;
    }

    private static long[] ConvShape(OnnxProto.NodeProto n, long[] x, long[] w)
    {
        long[] Attr(string name, long[] dflt) => n.Attribute.FirstOrDefault(a => a.Name == name)?.Ints.ToArray() is { Length: > 0 } v ? v : dflt;
        var k = Attr("kernel_shape", [w[2], w[3]]);
        var s = Attr("strides", [1, 1]);
        var d = Attr("dilations", [1, 1]);
        var p = Attr("pads", [0, 0, 0, 0]);
        if (n.Attribute.Any(a => a.Name == "auto_pad" && a.S.ToStringUtf8() is not ("" or "NOTSET")))
            throw new InvalidDataException($"Conv '{NodeName(n)}': auto_pad is not supported");
        var h = (x[2] + p[0] + p[2] - d[0] * (k[0] - 1) - 1) / s[0] + 1;
        var wd = (x[3] + p[1] + p[3] - d[1] * (k[1] - 1) - 1) / s[1] + 1;
        return [x[0], w[0], h, wd];
    }

    private static OnnxProto.NodeProto DequantizeAxis0(string name, string x, string scale, string zp, string output)
    {
        var n = Node("DequantizeLinear", name, [x, scale, zp], output);
        n.Attribute.Add(OnnxGraphs.Int("axis", 0));
        return n;
    }

    private static OnnxProto.NodeProto Node(string op, string name, string[] inputs, string output)
    {
        var n = new OnnxProto.NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        return n;
    }

    private static OnnxProto.TensorProto Scalar(string name, float value) => OnnxGraphs.FloatTensor(name, [], [value]);

    private static OnnxProto.TensorProto ZeroPoint(string name, int value, int type) =>
        Tensor(name, [], type, [type == UInt8Type ? (byte)value : unchecked((byte)(sbyte)value)]);

    private static OnnxProto.TensorProto Tensor(string name, long[] dims, int type, ReadOnlySpan<byte> raw)
    {
        var t = new OnnxProto.TensorProto { Name = name, DataType = type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(dims);
        return t;
    }

    /// <summary>Drops the float initializers nothing reads any more (the replaced weights and biases).</summary>
    private static void RemoveUnused(OnnxProto.GraphProto graph)
    {
        var initializerNames = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var used = new HashSet<string>(graph.Node.SelectMany(n => n.Input), StringComparer.Ordinal);
        var keep = graph.Initializer.Where(t => used.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(keep);
        var inputs = graph.Input.Where(i => used.Contains(i.Name) || !initializerNames.Contains(i.Name)).ToList();
        graph.Input.Clear();
        graph.Input.AddRange(inputs);
    }
}
