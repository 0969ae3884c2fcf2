using OnnxProto = global::Onnx;

namespace EdgeGate.ModelPrep;

/// <summary>
/// Replaces every PRelu(x, a) with per-channel slopes by y = x + DWConv1×1(Relu(DWConv1×1(x, −1)), 1 − a):
/// for x ≥ 0 the second term is 0 and y = x exactly; for x &lt; 0 it is (1 − a)·(−x) and y = a·x up to rounding.
/// Unlike max(x, a·x) this holds for any slope, negative or above 1. ONNX Runtime runs depthwise 1×1 Conv, Relu
/// (fused into the Conv) and Add (fused as the Conv's sum input) in its blocked NCHWc layout, which PRelu breaks.
/// Conv, Relu and Add exist since opset 1 (Add with broadcasting since 7), so no opset upgrade is needed.
/// </summary>
internal static class PreluRewriter
{
    public const string Recipe = "PRelu(x,a) -> x + DWConv1x1(Relu(DWConv1x1(x, -1)), 1 - a)";

    /// <summary>Returns a rewritten copy and the number of PRelu nodes replaced; the input model is not changed.</summary>
    /// <exception cref="InvalidDataException">a PRelu whose slope is not a constant per-channel float tensor.</exception>
    public static (OnnxProto.ModelProto Model, int Replaced) Rewrite(OnnxProto.ModelProto source)
    {
        if (OnnxGraphs.DefaultOpset(source) < 7)
            throw new InvalidDataException($"opset {OnnxGraphs.DefaultOpset(source)} is older than 7 (Add without broadcasting); upgrade it first");
        var model = source.Clone();
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var taken = new HashSet<string>(graph.Node.SelectMany(n => n.Input.Concat(n.Output)).Concat(initializers.Keys).Concat(graph.Input.Select(i => i.Name)));
        string Fresh(string stem)
        {
            var name = stem;
            for (var k = 1; !taken.Add(name); k++) name = $"{stem}_{k}";
            return name;
        }

        var nodes = new List<OnnxProto.NodeProto>(graph.Node.Count);
        var replaced = 0;
        foreach (var node in graph.Node)
        {
            if (node.OpType != "PRelu" || node.Domain is not ("" or "ai.onnx")) { nodes.Add(node); continue; }
            var label = string.IsNullOrEmpty(node.Name) ? node.Output[0] : node.Name;
            if (node.Input.Count != 2 || !initializers.TryGetValue(node.Input[1], out var slopeTensor))
                throw new InvalidDataException($"PRelu '{label}': its slope is not a constant initializer");
            var dims = slopeTensor.Dims.ToArray();
            // Per-channel for an NCHW input means shape [C,1,1] or [1,C,1,1]; anything else broadcasts differently.
            var channels = dims switch
            {
                [var c, 1, 1] => c,
                [1, var c, 1, 1] => c,
                _ => throw new InvalidDataException($"PRelu '{label}': slope shape [{string.Join(',', dims)}] is not per-channel [C,1,1]"),
            };
            var slope = OnnxGraphs.Floats(slopeTensor);
            var stem = Fresh(label + "_fast");
            var negW = OnnxGraphs.FloatTensor(Fresh(stem + "_neg_w"), [channels, 1, 1, 1], Enumerable.Repeat(-1f, (int)channels).ToArray());
            var scaleW = OnnxGraphs.FloatTensor(Fresh(stem + "_scale_w"), [channels, 1, 1, 1], slope.Select(a => 1f - a).ToArray());
            graph.Initializer.Add(negW);
            graph.Initializer.Add(scaleW);
            string x = node.Input[0], neg = Fresh(stem + "_neg"), relu = Fresh(stem + "_relu"), scaled = Fresh(stem + "_scaled");
            nodes.Add(DepthwiseConv(Fresh(stem + "_negate"), x, negW.Name, neg, channels));
            nodes.Add(Node("Relu", Fresh(stem + "_relu_op"), [neg], relu));
            nodes.Add(DepthwiseConv(Fresh(stem + "_scale"), relu, scaleW.Name, scaled, channels));
            nodes.Add(Node("Add", Fresh(stem + "_add"), [x, scaled], node.Output[0]));
            replaced++;
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        RemoveUnusedInitializers(graph);
        return (model, replaced);
    }

    private static OnnxProto.NodeProto DepthwiseConv(string name, string input, string weight, string output, long channels)
    {
        var n = Node("Conv", name, [input, weight], output);
        n.Attribute.Add(OnnxGraphs.Int("group", channels));
        n.Attribute.Add(OnnxGraphs.Ints("kernel_shape", 1, 1));
        n.Attribute.Add(OnnxGraphs.Ints("strides", 1, 1));
        n.Attribute.Add(OnnxGraphs.Ints("pads", 0, 0, 0, 0));
        n.Attribute.Add(OnnxGraphs.Ints("dilations", 1, 1));
        return n;
    }

    private static OnnxProto.NodeProto Node(string op, string name, string[] inputs, string output)
    {
        var n = new OnnxProto.NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        return n;
    }

    /// <summary>Drops the slope initializers nothing reads any more (and their graph-input entries, as old IRs list them).</summary>
    private static void RemoveUnusedInitializers(OnnxProto.GraphProto graph)
    {
        var used = new HashSet<string>(graph.Node.SelectMany(n => n.Input));
        foreach (var o in graph.Output) used.Add(o.Name);
        var dead = graph.Initializer.Where(t => !used.Contains(t.Name)).Select(t => t.Name).ToHashSet();
        if (dead.Count == 0) return;
        var keep = graph.Initializer.Where(t => !dead.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(keep);
        var inputs = graph.Input.Where(i => !dead.Contains(i.Name)).ToList();
        graph.Input.Clear();
        graph.Input.AddRange(inputs);
        var infos = graph.ValueInfo.Where(i => !dead.Contains(i.Name)).ToList();
        graph.ValueInfo.Clear();
        graph.ValueInfo.AddRange(infos);
    }
}
