using System.Runtime.InteropServices;
using EdgeGate.Core.Evaluation;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Onnx;
using OnnxProto = global::Onnx;

namespace EdgeGate.ModelPrep;

public sealed record Int8Options
{
    /// <summary>The original fr_feature.onnx.</summary>
    public required string Source { get; init; }

    public required string OutputDirectory { get; init; }

    /// <summary>Aligned 112×112 BGR faces whose activations set the ranges (and on which the search measures).</summary>
    public required IReadOnlyList<byte[]> CalibrationFaces { get; init; }

    public required string CalibrationSet { get; init; }

    /// <summary>Aligned faces of the gate's images, by the paths the pairs name; disjoint from the calibration faces.</summary>
    public required IReadOnlyDictionary<string, byte[]> GateFaces { get; init; }

    public required IReadOnlyList<LabelledPair> GatePairs { get; init; }

    public required string GateSet { get; init; }

    public ActivationType Activations { get; init; } = DefaultActivations;

    /// <summary>Each activation's range: this percentile of its values at the top and (100 − it) at the bottom.</summary>
    public double Percentile { get; init; } = 99.99;

    public AccuracyGateLimits Limits { get; init; } = new();

    /// <summary>The sensitivity search keeps layers float until the mean cosine on the calibration faces reaches this.</summary>
    public double SearchTarget { get; init; } = 0.995;

    /// <summary>Calibration faces the search measures on (each one run, no mirror).</summary>
    public int SearchFaces { get; init; } = 24;

    /// <summary>The search gives up (model refused) rather than keep more layers than this float.</summary>
    public int MaxFloatNodes { get; init; } = 24;

    /// <summary>Skip the search and keep exactly these nodes float (a repeat of a recorded search, or a test).</summary>
    public IReadOnlyList<string>? KeepFloat { get; init; }

    /// <summary>Weight bits; only tests lower it, to build a deliberately damaged model the gate must refuse.</summary>
    internal int WeightBits { get; init; } = 8;

    public int Threads { get; init; } = 1;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>uint8 on x86 (the only activation type ORT fuses there), int8 elsewhere (ARM's s8·s8 kernels).</summary>
    public static ActivationType DefaultActivations =>
        RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 ? ActivationType.UInt8 : ActivationType.Int8;
}

/// <summary>
/// <c>edgegate model prepare</c>, int8: static QDQ quantisation of fr_feature.onnx (<see cref="QdqQuantizer"/>),
/// calibrated on real aligned faces run through ONNX Runtime, with a sensitivity search that keeps float the
/// layers whose quantisation costs most, then the accuracy gate against the original on labelled pairs. Written
/// (with its model card and its re-derived thresholds) only when the gate passes; otherwise
/// <see cref="ModelRefusedException"/> with the figures, and nothing is written.
/// </summary>
public static class Int8Preparer
{
    private const int Level = 99; // ORT fuses QDQ into QLinear ops from level 2; 99 also lays the float islands out in NCHWc
    private static readonly long[] InputShape = [1, 3, FaceAligner.Size, FaceAligner.Size];

    public static PrepareResult Prepare(OrtRuntime runtime, Int8Options options, Action<string>? progress = null)
    {
        if (options.CalibrationFaces.Count < ModelPreparer.MinimumFaces)
            throw new ModelRefusedException($"only {options.CalibrationFaces.Count} calibration faces; at least {ModelPreparer.MinimumFaces} are needed");
        if (options.GatePairs.Count == 0) throw new ModelRefusedException("no gate pairs to check the int8 model on");
        if (options.Percentile is <= 50 or > 100) throw new ArgumentOutOfRangeException(nameof(options), options.Percentile, "percentile must be in (50, 100]");
        var source = OnnxGraphs.Read(options.Source);
        var sourceSha = OnnxGraphs.Sha256(options.Source);
        Directory.CreateDirectory(options.OutputDirectory);
        var work = Directory.CreateTempSubdirectory("edgegate-int8-").FullName;
        try
        {
            var session = new OnnxSessionOptions { IntraOpThreads = options.Threads, GraphOptimizationLevel = Level };
            progress?.Invoke($"calibrating {QdqQuantizer.AllActivations(source).Count} activations on {options.CalibrationFaces.Count} faces and their mirrors");
            var ranges = Calibrate(runtime, source, options.CalibrationFaces, options.Percentile, session, work);

            var searchFaces = options.CalibrationFaces.Take(options.SearchFaces).ToList();
            using var reference = OnnxModel.Load(runtime, options.Source, session, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
            var referenceOutputs = RawOutputs(reference, searchFaces);
            var all = QdqQuantizer.Quantizable(source);
            var counter = 0;
            double MeanCosine(IEnumerable<string> floatNodes)
            {
                var keep = floatNodes.ToHashSet(StringComparer.Ordinal);
                var path = Path.Combine(work, $"candidate{counter++}.onnx");
                OnnxGraphs.Write(QdqQuantizer.Quantize(source, all.Where(n => !keep.Contains(n)).ToList(), ranges, options.Activations, options.WeightBits), path);
                using var model = OnnxModel.Load(runtime, path, session, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
                var outputs = RawOutputs(model, searchFaces);
                File.Delete(path);
                return outputs.Select((o, i) => AccuracyGate.Cosine(o, referenceOutputs[i])).Average();
            }

            // Sensitivity: each node's own cost, quantised alone. The greedy order is most harmful first.
            var sensitivity = new Dictionary<string, double>(StringComparer.Ordinal);
            List<string> order;
            var search = new List<double>();
            List<string> floatNodes;
            if (options.KeepFloat is { } fixedFloat)
            {
                floatNodes = fixedFloat.ToList();
                order = floatNodes.Concat(all.Except(floatNodes)).ToList();
                search.Add(MeanCosine(floatNodes));
            }
            else
            {
                progress?.Invoke($"sensitivity of {all.Count} nodes on {searchFaces.Count} faces");
                foreach (var node in all) sensitivity[node] = 1 - MeanCosine(all.Where(n => n != node));
                order = all.OrderByDescending(n => sensitivity[n]).ThenBy(n => n, StringComparer.Ordinal).ToList();
                floatNodes = [];
                search.Add(MeanCosine(floatNodes));
                while (search[^1] < options.SearchTarget && floatNodes.Count < options.MaxFloatNodes)
                {
                    floatNodes.Add(order[floatNodes.Count]);
                    search.Add(MeanCosine(floatNodes));
                    progress?.Invoke($"kept {floatNodes[^1]} float: mean cosine {search[^1]:F5}");
                }
            }

            // The gate, on pairs the calibration never saw; while it fails, the search goes on (up to its limit).
            using var referenceEmbedder = new FaceEmbedder(OnnxModel.Load(runtime, options.Source, session, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs), "reference");
            var referenceEmbeddings = options.GateFaces.ToDictionary(kv => kv.Key, kv => referenceEmbedder.Embed(kv.Value), StringComparer.Ordinal);
            var candidatePath = Path.Combine(work, EmbedderVariants.Int8FileName);
            while (true)
            {
                var model = QdqQuantizer.Quantize(source, all.Except(floatNodes).ToList(), ranges, options.Activations, options.WeightBits);
                OnnxGraphs.Write(model, candidatePath);
                Dictionary<string, float[]> candidateEmbeddings;
                using (var candidate = new FaceEmbedder(OnnxModel.Load(runtime, candidatePath, session, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs), "candidate"))
                    candidateEmbeddings = options.GateFaces.ToDictionary(kv => kv.Key, kv => candidate.Embed(kv.Value), StringComparer.Ordinal);
                var gate = AccuracyGate.Evaluate(referenceEmbeddings, candidateEmbeddings, options.GatePairs, options.Limits);
                progress?.Invoke($"gate with {floatNodes.Count} float nodes: {gate}");
                if (!gate.Passed)
                {
                    if (options.KeepFloat is null && floatNodes.Count < Math.Min(options.MaxFloatNodes, order.Count))
                    {
                        floatNodes.Add(order[floatNodes.Count]);
                        search.Add(MeanCosine(floatNodes));
                        continue;
                    }
                    throw new ModelRefusedException(
                        $"the int8 model failed the accuracy gate ({options.Limits}) with {floatNodes.Count} of {all.Count} nodes float: " +
                        $"{string.Join("; ", gate.Failures)}. Figures: {gate}. Not written.");
                }
                var cross = AccuracyGate.Evaluate(referenceEmbeddings, candidateEmbeddings, options.GatePairs, options.Limits, templateModel: referenceEmbeddings);
                var scored = options.GatePairs.Select(p => new ScoredPair((float)AccuracyGate.Cosine(candidateEmbeddings[p.A], candidateEmbeddings[p.B]), p.Same)).ToList();
                var (match, calibration) = AccuracyGate.DeriveOperatingPoint(scored);
                var fused = FusionSummary(runtime, candidatePath, session, work);

                var final = Path.Combine(options.OutputDirectory, EmbedderVariants.Int8FileName);
                File.Copy(candidatePath, final + ".part", overwrite: true);
                File.Move(final + ".part", final, overwrite: true);
                var card = new ModelCard
                {
                    Variant = EmbedderVariants.Int8,
                    File = Path.GetFileName(final),
                    Sha256 = OnnxGraphs.Sha256(final),
                    SourceFile = Path.GetFileName(options.Source),
                    SourceSha256 = sourceSha,
                    Recipe = $"static QDQ: int8 weights per output channel, {ActivationName(options.Activations)} activations per tensor, int32 bias",
                    Opset = OnnxGraphs.DefaultOpset(model),
                    NodesReplaced = all.Count - floatNodes.Count,
                    Verification = new ModelCardVerification
                    {
                        Engine = $"onnxruntime {runtime.Version}, {options.Threads} thread(s), level {Level}; ORT's optimised graph: {fused}",
                        Faces = gate.Images,
                        Runs = gate.Images * 4,
                        FaceSource = options.GateSet,
                        Tolerance = Math.Round(1 - options.Limits.MinMeanCosine, 6),
                        MaxAbsDiff = MaxAbsDiff(referenceEmbeddings, candidateEmbeddings),
                        MinCosine = gate.MinCosine,
                    },
                    Quantization = new ModelCardQuantization
                    {
                        Weights = $"int{options.WeightBits} symmetric per output channel, scale max|w|/{(1 << (options.WeightBits - 1)) - 1} (at least {QdqQuantizer.MinWeightScale:G1})",
                        Activations = $"{ActivationName(options.Activations)} asymmetric per tensor",
                        Bias = "int32, scale s_x·s_w per output channel, zero point 0",
                        Calibration = $"{options.Percentile}th percentile of each activation (and {100 - options.Percentile:0.####}th at the bottom), range widened to hold 0; faces and mirrors through {Path.GetFileName(options.Source)} in ONNX Runtime",
                        CalibrationSet = options.CalibrationSet,
                        QuantizedNodes = all.Count - floatNodes.Count,
                        FloatNodes = floatNodes,
                        Sensitivity = sensitivity.OrderByDescending(kv => kv.Value).ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value, 7)),
                        Search = search.Select(v => Math.Round(v, 6)).ToList(),
                    },
                    Gate = new ModelCardGate
                    {
                        GateSet = options.GateSet,
                        Pairs = gate.Pairs,
                        Images = gate.Images,
                        Threshold = Math.Round(options.Limits.Threshold, 4),
                        OperatingFar = options.Limits.OperatingFar,
                        MeanCosine = Math.Round(gate.MeanCosine, 6),
                        MinCosine = Math.Round(gate.MinCosine, 6),
                        Flipped = gate.Flipped,
                        FlippedFraction = Math.Round(gate.FlippedFraction, 6),
                        TarReference = Math.Round(gate.TarReference, 6),
                        TarCandidate = Math.Round(gate.TarCandidate, 6),
                        CrossFlipped = cross.Flipped,
                        CrossTar = Math.Round(cross.TarCandidate, 6),
                        Limits = options.Limits.ToString(),
                    },
                    Thresholds = new ModelCardThresholds
                    {
                        Verify = Math.Round(match.VerifyThreshold, 4),
                        Identify = Math.Round(match.IdentifyThreshold, 4),
                        IdentifyMargin = Math.Round(match.IdentifyMargin, 4),
                        PSameA = Math.Round(calibration.A, 4),
                        PSameB = Math.Round(calibration.B, 4),
                        Rule = $"on the {gate.Pairs} gate pairs with this model: τ_verify = highest impostor + 0.05 (2 decimals), τ_identify = τ_verify + 0.05, margin 0.05, P(same) logistic fit with ridge 0.01",
                    },
                    CreatedUtc = options.Time.GetUtcNow(),
                };
                var cardPath = ModelCard.PathFor(final);
                File.WriteAllText(cardPath + ".part", card.ToJson());
                File.Move(cardPath + ".part", cardPath, overwrite: true);
                return new PrepareResult(final, cardPath, card);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Largest difference of one component between the two models' unit embeddings of the same image.</summary>
    private static double MaxAbsDiff(Dictionary<string, float[]> a, Dictionary<string, float[]> b) =>
        a.Where(kv => b.ContainsKey(kv.Key)).Max(kv => kv.Value.Zip(b[kv.Key], (x, y) => Math.Abs((double)x - y)).Max());

    public static string ActivationName(ActivationType t) => t == ActivationType.UInt8 ? "uint8" : "int8";

    /// <summary>Raw (unnormalised) outputs for each face, no mirror.</summary>
    private static List<float[]> RawOutputs(OnnxModel model, IReadOnlyList<byte[]> faces)
    {
        var result = new List<float[]>(faces.Count);
        foreach (var face in faces)
        {
            Feed(model, face, mirror: false);
            model.Run();
            result.Add(model.Output().ToArray());
        }
        return result;
    }

    private static void Feed(OnnxModel model, byte[] face, bool mirror) =>
        TensorWriter.Planar(face, FaceAligner.Size * FaceAligner.Size, model.Input(), rgb: false, mean: 127.5f, scale: 1f / 127.5f, mirror: mirror, width: FaceAligner.Size);

    /// <summary>
    /// Each activation's range from its values on the faces and their mirrors: a first pass for min and max, a
    /// second for a 4096-bin histogram between them, from which the percentiles are read.
    /// </summary>
    private static Dictionary<string, ActivationRange> Calibrate(OrtRuntime runtime, OnnxProto.ModelProto source,
        IReadOnlyList<byte[]> faces, double percentile, OnnxSessionOptions session, string work)
    {
        var (model, outputs) = QdqQuantizer.WithActivationOutputs(source, QdqQuantizer.AllActivations(source), InputShape);
        var path = Path.Combine(work, "calibration.onnx");
        OnnxGraphs.Write(model, path);
        var specs = FaceModels.EmbedderOutputs.Concat(outputs.Select(o => new TensorSpec(o.Name, o.Shape))).ToArray();
        using var calib = OnnxModel.Load(runtime, path, session with { GraphOptimizationLevel = 1 }, FaceModels.EmbedderInputs, specs);
        var min = new float[outputs.Count];
        var max = new float[outputs.Count];
        Array.Fill(min, float.MaxValue);
        Array.Fill(max, float.MinValue);
        const int bins = 4096;
        var histograms = new long[outputs.Count][];
        for (var pass = 0; pass < 2; pass++)
        {
            if (pass == 1) for (var t = 0; t < outputs.Count; t++) histograms[t] = new long[bins];
            foreach (var face in faces)
                foreach (var mirror in (bool[])[false, true])
                {
                    Feed(calib, face, mirror);
                    calib.Run();
                    for (var t = 0; t < outputs.Count; t++)
                    {
                        var values = calib.Output(t + 1);
                        if (pass == 0)
                        {
                            foreach (var v in values) { if (v < min[t]) min[t] = v; if (v > max[t]) max[t] = v; }
                            continue;
                        }
                        var width = Math.Max(max[t] - min[t], 1e-12f);
                        var h = histograms[t];
                        foreach (var v in values) h[Math.Clamp((int)((v - min[t]) / width * bins), 0, bins - 1)]++;
                    }
                }
        }
        var ranges = new Dictionary<string, ActivationRange>(StringComparer.Ordinal);
        for (var t = 0; t < outputs.Count; t++)
        {
            var h = histograms[t];
            var total = h.Sum();
            var tail = (long)Math.Floor(total * (100 - percentile) / 100);
            var width = (max[t] - min[t]) / bins;
            int lo = 0, hi = bins - 1;
            for (long seen = 0; lo < bins - 1 && seen + h[lo] <= tail; lo++) seen += h[lo];
            for (long seen = 0; hi > 0 && seen + h[hi] <= tail; hi--) seen += h[hi];
            ranges[outputs[t].Name] = new ActivationRange(min[t] + lo * width, min[t] + (hi + 1) * width);
        }
        File.Delete(path);
        return ranges;
    }

    /// <summary>Which quantised kernels ORT actually runs: its saved optimised graph, ops counted.</summary>
    private static string FusionSummary(OrtRuntime runtime, string modelPath, OnnxSessionOptions session, string work)
    {
        var optimized = Path.Combine(work, "ort-optimized.onnx");
        using (OnnxModel.Load(runtime, modelPath, session with { OptimizedModelPath = optimized }, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs)) { }
        var graph = OnnxGraphs.Read(optimized);
        return string.Join(", ", graph.Graph.Node.GroupBy(n => n.OpType).OrderByDescending(g => g.Count()).Select(g => $"{g.Count()} {g.Key}"));
    }
}
