using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using EdgeGate.Camera;
using EdgeGate.Composition;
using EdgeGate.Daemon;
using EdgeGate.Core.Access;
using EdgeGate.Core.Capture;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Liveness;
using EdgeGate.Core.Ports;
using EdgeGate.Onnx;
using Spectre.Console;

namespace EdgeGate.Cli;

/// <summary>What <c>edgegate bench</c> runs on.</summary>
internal sealed record BenchOptions
{
    /// <summary>A still photo: per-stage timings on it as well (optional).</summary>
    public string? Image { get; init; }

    /// <summary>The clip played through the door's pipeline; null = a clip from $EDGEGATE_FACES/video.</summary>
    public string? Video { get; init; }

    /// <summary>Timed runs per stage on the still.</summary>
    public int Iterations { get; init; } = 30;

    /// <summary>Frames of the clip used (decoded once into memory).</summary>
    public int Frames { get; init; } = 75;

    /// <summary>Timed visits: passes over the clip, each a new track (after one untimed warm-up pass).</summary>
    public int Passes { get; init; } = 2;

    /// <summary>Templates in the synthetic gallery the pipeline matches against (3 per person).</summary>
    public int GalleryTemplates { get; init; } = 3000;

    public int Threads { get; init; } = 1;
    public string? PreparedDirectory { get; init; }

    /// <summary>Write &lt;prepared&gt;/embedder-bench.json for the daemon's <c>auto</c> choice.</summary>
    public bool Save { get; init; }

    /// <summary>Run the daemon's default liveness policy (passive model, blink or mouth) in the pipeline, as the door does.</summary>
    public bool Liveness { get; init; } = true;
}

/// <summary>
/// <c>edgegate bench</c>: what the door costs on this device, for each embedder variant that is installed (BenchmarkDotNet
/// under bench/ is the developers' tool; this one ships). A clip is decoded once into memory (decode timed on its own),
/// then played through the daemon's <see cref="AccessPipeline"/> as visits: each pass over the clip is one person
/// walking up (a new track, enrolled in a synthetic gallery of realistic size), so every frame with the face is timed,
/// the frame that embeds and decides included. The stages are also timed one by one on every frame. Medians and p95;
/// nothing is asserted, the figures are reported.
/// </summary>
internal static class BenchCommand
{
    public const string SavedFileName = EmbedderVariants.BenchFileName;
    private const int SearchTemplates = 100_000;
    private const int SearchProbes = 30;

    /// <summary>The names the JSON uses for the variants (the daemon's `auto` choice reads them back).</summary>
    public static string JsonName(string variant) => EmbedderVariants.Canonical(variant);

    public static JsonObject Run(BenchOptions options)
    {
        if (options.Iterations is < 3 or > 10_000) throw new CliError("invalid_argument", "--iterations must be 3..10000");
        if (options.Frames is < 5 or > 10_000) throw new CliError("invalid_argument", "--frames must be 5..10000");
        if (options.Passes is < 1 or > 100) throw new CliError("invalid_argument", "--passes must be 1..100");
        if (options.GalleryTemplates is < 0 or > 10_000_000) throw new CliError("invalid_argument", "--gallery-size must be 0..10000000");
        var (video, enrolFrom) = ChooseVideo(options.Video);
        var decodeSamples = new List<double>();
        var frames = DecodeVideo(video, options.Frames, decodeSamples);
        var enrolFrame = enrolFrom == video ? null : DecodeVideo(enrolFrom, int.MaxValue, null, TimeSpan.FromSeconds(1)).Single();
        try
        {
            var variants = new JsonArray();
            var embedMs = new JsonObject();
            var embedPairMs = new JsonObject();
            JsonObject? pipelineOfChoice = null;
            string? ortVersion = null;
            foreach (var variant in EmbedderVariants.Concrete)
            {
                FaceStack stack;
                try
                {
                    stack = FaceStack.Create(new FaceStackOptions { IntraOpThreads = options.Threads, EmbedderVariant = variant, PreparedDirectory = options.PreparedDirectory, LoadLivenessModel = options.Liveness });
                }
                catch (Exception e) when (variant != EmbedderVariants.Original && e is FileNotFoundException or InvalidDataException)
                {
                    variants.Add(new JsonObject { ["variant"] = variant, ["name"] = JsonName(variant), ["available"] = false, ["reason"] = e.Message });
                    continue;
                }
                using (stack)
                {
                    ortVersion = stack.OrtVersion;
                    stack.Engine.WarmUp();
                    var result = new JsonObject
                    {
                        ["variant"] = variant,
                        ["name"] = JsonName(variant),
                        ["available"] = true,
                        ["embedder"] = stack.Embedder.ModelPath,
                        ["graph_optimization_level"] = stack.Embedder.GraphOptimizationLevel,
                    };
                    if (options.Image is { } image) StillStages(stack, image, options.Iterations, result);
                    var stages = VideoStages(stack, frames, options.GalleryTemplates);
                    result["stages_ms"] = stages;
                    var pipeline = Pipeline(stack, frames, enrolFrame ?? frames[Math.Min(frames.Length - 1, 25)], options);
                    result["pipeline"] = pipeline;
                    // embed_ms is one inference (the issue's and the model card's unit); a decision runs face and mirror.
                    embedMs[JsonName(variant)] = stages["embed_inference"]!["median"]!.DeepClone();
                    embedPairMs[JsonName(variant)] = stages["embed"]!["median"]!.DeepClone();
                    // The figures at the top are the variant the daemon would run here: the fastest embedder.
                    if (pipelineOfChoice is null || (double)stages["embed"]!["median"]! < (double)embedPairMs[(string)pipelineOfChoice["name"]!]!)
                        pipelineOfChoice = new JsonObject { ["variant"] = variant, ["name"] = JsonName(variant), ["pipeline"] = pipeline.DeepClone() };
                    variants.Add(result);
                }
            }
            var chosen = pipelineOfChoice!["pipeline"]!;
            var (search, searchInt8, searchFloat) = Search100k();
            var o = new JsonObject
            {
                ["video"] = video,
                ["frames"] = frames.Length,
                ["frame_size"] = $"{frames[0].Width}x{frames[0].Height}",
                ["enrolled_from"] = enrolFrom == video ? $"{video} at 1.0 s" : $"{enrolFrom} at 1.0 s",
                ["gallery_templates"] = options.GalleryTemplates,
                ["threads"] = options.Threads,
                ["ort_version"] = ortVersion,
                ["machine"] = Machine(),
                ["liveness"] = options.Liveness ? "default policy" : "disabled",
                ["decode_ms"] = Stats([.. decodeSamples]),
                ["embed_ms"] = embedMs,
                ["embed_face_mirror_ms"] = embedPairMs,
                ["pipeline_variant"] = pipelineOfChoice["name"]!.DeepClone(),
                ["pipeline_p95_ms"] = chosen["frame_ms"]!["p95"]!.DeepClone(),
                ["pipeline_median_ms"] = chosen["frame_ms"]!["median"]!.DeepClone(),
                ["decision_frame_ms"] = chosen["decision_frame_ms"]!.DeepClone(),
                ["fps"] = chosen["fps"]!.DeepClone(),
                ["alloc_bytes_per_frame"] = chosen["alloc_bytes_per_frame"]!.DeepClone(),
                ["rss_mb"] = RssMegabytes(),
                ["search_100k_ms"] = search,
                ["search_100k_float_ms"] = searchFloat,
                ["search_100k_int8_ms"] = searchInt8,
                ["variants"] = variants,
                ["fastest_embedder"] = pipelineOfChoice["variant"]!.DeepClone(),
            };
            if (options.Image is { } img) o["image"] = img;
            if (options.Save) o["saved"] = Save(o, options.PreparedDirectory);
            return o;
        }
        finally
        {
            foreach (var f in frames) f.Dispose();
            enrolFrame?.Dispose();
        }
    }

    public static void Print(JsonObject o)
    {
        var table = new Table().AddColumns("variant", "detect", "landmarks", "align", "quality", "embed (face+mirror)", "match",
            "pipeline per frame", "decision frame", "fps", "alloc/frame");
        var missing = new List<string>();
        foreach (var v in o["variants"]!.AsArray().Select(v => v!.AsObject()))
        {
            if (!(bool)v["available"]!)
            {
                table.AddRow((string)v["variant"]!, "-", "-", "-", "-", "-", "-", "-", "-", "-", "not installed");
                missing.Add($"{(string)v["variant"]!}: {(string)v["reason"]!}");
                continue;
            }
            static string Cell(JsonNode n) => $"{n["median"]} (p95 {n["p95"]})";
            var s = v["stages_ms"]!;
            var p = v["pipeline"]!;
            table.AddRow((string)v["variant"]!, Cell(s["detect"]!), Cell(s["landmarks"]!), Cell(s["align"]!), Cell(s["quality"]!), Cell(s["embed"]!),
                Cell(s["match"]!), Cell(p["frame_ms"]!), Cell(p["decision_frame_ms"]!), $"{p["fps"]}", $"{p["alloc_bytes_per_frame"]} B");
        }
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape((string)o["video"]!)}[/], {o["frames"]} frames {o["frame_size"]}; decode {o["decode_ms"]!["median"]} ms/frame (p95 {o["decode_ms"]!["p95"]}); all times ms");
        AnsiConsole.Write(table);
        foreach (var m in missing) AnsiConsole.MarkupLine(Markup.Escape(m));
        if (o["image"] is { } image)
        {
            var still = new Table().AddColumns("variant", "decode ms", "detect+landmarks+align ms", "embed ms", "tracking fps", "decision frame ms");
            foreach (var v in o["variants"]!.AsArray().Select(v => v!.AsObject()).Where(v => (bool)v["available"]!))
            {
                static string Cell(JsonNode n) => $"{n["median"]} (p95 {n["p95"]})";
                still.AddRow((string)v["variant"]!, Cell(v["decode_ms"]!), Cell(v["observe_ms"]!), Cell(v["embed_ms"]!), $"{v["tracking_fps"]}", $"{v["decision_frame_ms"]}");
            }
            AnsiConsole.MarkupLine($"still {Markup.Escape((string)image!)}:");
            AnsiConsole.Write(still);
        }
        AnsiConsole.MarkupLine($"1:N search over {SearchTemplates:N0} templates, one core: {o["search_100k_ms"]} ms (float scan {o["search_100k_float_ms"]} ms); RSS {o["rss_mb"]} MB");
        AnsiConsole.MarkupLine($"{Markup.Escape((string)o["machine"]!)}; {o["threads"]} ORT thread(s); fastest embedder here: [green]{o["fastest_embedder"]}[/]" +
                               (o["saved"] is { } saved ? $"; saved {Markup.Escape((string)saved!)}" : ""));
    }

    /// <summary>The clip to play and the clip to enrol the person from (another recording of the same speaker when known).</summary>
    private static (string Video, string EnrolFrom) ChooseVideo(string? video)
    {
        if (video is not null)
        {
            if (!File.Exists(video)) throw new FileNotFoundException($"video not found: {video}", video);
            return (Path.GetFullPath(video), Path.GetFullPath(video));
        }
        var faces = Environment.GetEnvironmentVariable("EDGEGATE_FACES") is { Length: > 0 } env ? env : Path.Combine("..", "shared", "faces");
        var dir = Path.Combine(faces, "video");
        // One GRID speaker, enrolled from another of their recordings as scripts/run.sh does.
        var clip = Path.Combine(dir, "grid_id2_vcd_swwp2s.mpg");
        var enrol = Path.Combine(dir, "grid_pwij3p.mpg");
        if (File.Exists(clip) && File.Exists(enrol)) return (Path.GetFullPath(clip), Path.GetFullPath(enrol));
        throw new FileNotFoundException($"no video given and {clip} is missing: pass --video FILE or set EDGEGATE_FACES", clip);
    }

    /// <summary>Every frame (fast mode), copied out of the capture pool; each Read timed into <paramref name="samples"/>.</summary>
    private static BgrFrame[] DecodeVideo(string path, int count, List<double>? samples, TimeSpan? at = null)
    {
        var result = new List<BgrFrame>();
        BgrFrame? last = null;
        try
        {
            using var source = new GstFrameSource(CameraSourceSpec.Parse(path, new CameraSourceOptions { RealTime = false }));
            source.Start();
            while (result.Count < count)
            {
                var start = Stopwatch.GetTimestamp();
                var status = source.Read(TimeSpan.FromSeconds(10), out var frame);
                if (status == FrameReadStatus.Timeout) throw new CliError("video_timeout", $"{path}: no frame within 10 s");
                if (status == FrameReadStatus.EndOfStream || frame is null) break;
                samples?.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                using (frame)
                {
                    var copy = new BgrFrame(frame.Image.Width, frame.Image.Height);
                    frame.Image.Pixels.CopyTo(copy.Pixels);
                    if (at is null) { result.Add(copy); continue; }
                    last?.Dispose();
                    last = copy;
                    if (frame.StreamTime >= at) break;
                }
            }
            if (at is not null && last is not null) { result.Add(last); last = null; }
        }
        catch (CameraException e)
        {
            foreach (var f in result) f.Dispose();
            throw new CliError("video_unreadable", $"{path}: {e.Message}");
        }
        finally { last?.Dispose(); }
        if (result.Count == 0) throw new CliError("no_frames", $"{path}: no frames decoded");
        return [.. result];
    }

    /// <summary>Each stage on its own, on the main face of every frame that has one.</summary>
    private static JsonObject VideoStages(FaceStack stack, BgrFrame[] frames, int galleryTemplates)
    {
        var engine = stack.Engine;
        var boxes = new List<FaceBox>();
        var points = new PointF[LandmarkDetector.PointCount];
        var aligned = new byte[FaceAligner.Size * FaceAligner.Size * 3];
        var embedding = new float[FaceEmbedder.Dimension];
        var gallery = SyntheticMatcher(stack.Engine.ModelId, Math.Max(1, galleryTemplates), seed: 1);
        var raw = new float[FaceEmbedder.Dimension];
        List<double> detect = [], landmarks = [], align = [], quality = [], passive = [], inference = [], embed = [], match = [];
        foreach (var frame in frames)
        {
            var t = Stopwatch.GetTimestamp();
            engine.Detector.Detect(frame, boxes);
            detect.Add(Lap(ref t));
            if (boxes.Count == 0) continue;
            engine.Landmarks.Detect(frame, boxes[0], points);
            landmarks.Add(Lap(ref t));
            var five = FivePoints.From68(points);
            var toTemplate = FaceAligner.Align(frame, five, aligned);
            align.Add(Lap(ref t));
            FaceQualityMeter.Pose(five, toTemplate);
            FaceQualityMeter.Sharpness(aligned, FaceAligner.Size);
            quality.Add(Lap(ref t));
            if (stack.Liveness is { } scorer)
            {
                scorer.Score(frame, boxes[0]);
                passive.Add(Lap(ref t));
            }
            engine.Embedder.RunOnce(aligned, raw);
            inference.Add(Lap(ref t));
            engine.Embedder.Embed(aligned, embedding);
            embed.Add(Lap(ref t));
            gallery.Identify(embedding);
            match.Add(Lap(ref t));
        }
        if (embed.Count == 0) throw new CliError("no_face", "no face found in any frame of the clip; bench needs a clip with a face");
        return new JsonObject
        {
            ["frames_with_face"] = embed.Count,
            ["detect"] = Stats([.. detect]),
            ["landmarks"] = Stats([.. landmarks]),
            ["align"] = Stats([.. align]),
            ["quality"] = Stats([.. quality]),
            // the passive liveness model on the face (blink and mouth are landmark arithmetic, inside "landmarks")
            ["liveness"] = passive.Count > 0 ? Stats([.. passive]) : null,
            // one pass through the embedder (the model's own cost), then face + mirror as a decision runs it
            ["embed_inference"] = Stats([.. inference]),
            ["embed"] = Stats([.. embed]),
            ["match"] = Stats([.. match]),
        };
    }

    /// <summary>
    /// The clip through <see cref="AccessPipeline.Process"/>, one visit per pass: the person's track starts on the first
    /// frame with the face, embeds (face + mirror) and matches until decided, then is only tracked. A frame with no face
    /// 2 s later (untimed) ends the track between passes. Timed: every frame with exactly one face.
    /// </summary>
    private static JsonObject Pipeline(FaceStack stack, BgrFrame[] frames, BgrFrame enrolFrame, BenchOptions options)
    {
        const string personId = "bench-subject";
        var enrolled = stack.Engine.AnalyzeSingle(enrolFrame, enforceQuality: false, rejectRivals: false);
        if (!enrolled.Ok) throw new CliError("no_face", $"cannot enrol the bench subject: {enrolled.Detail}");
        var matcher = SyntheticMatcher(stack.Engine.ModelId, options.GalleryTemplates, seed: 2);
        matcher.Add([new FaceTemplate(-1, personId, stack.Engine.ModelId, enrolled.Embedding!, enrolled.QualityScore, DateTimeOffset.UtcNow)]);
        using var blank = new BgrFrame(frames[0].Width, frames[0].Height);
        blank.Pixels.Fill(0);
        ILivenessStage liveness = DisabledLiveness.Instance;
        if (options.Liveness)
        {
            var (policy, errors) = new LivenessSettings().ToPolicy($"{DaemonOptions.Section}:Liveness");
            if (policy is null) throw new CliError("invalid_argument", string.Join("; ", errors));
            liveness = new LivenessStage(policy, stack.Liveness);
        }
        using var pipeline = new AccessPipeline(stack.Engine, matcher, new EveryoneEnrolled(), new BenchDoor(), liveness,
            new AccessOptions { Cooldown = TimeSpan.Zero });
        var clock = TimeSpan.Zero;
        var sequence = 0L;
        List<double> all = [], deciding = [];
        long allocated = 0;
        int timed = 0, decisions = 0, granted = 0;
        for (var pass = 0; pass <= options.Passes; pass++)
        {
            foreach (var image in frames)
            {
                clock += TimeSpan.FromMilliseconds(40);
                var frame = new CapturedFrame(image, sequence++, clock, Stopwatch.GetTimestamp());
                var bytes = GC.GetAllocatedBytesForCurrentThread();
                var start = Stopwatch.GetTimestamp();
                var made = pipeline.Process(frame);
                var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                bytes = GC.GetAllocatedBytesForCurrentThread() - bytes;
                if (pass == 0 || pipeline.LastFrame.Faces != 1) continue; // pass 0 warms up
                all.Add(ms);
                allocated += bytes;
                timed++;
                if (pipeline.LastFrame.Embedded > 0) deciding.Add(ms);
                decisions += made.Count;
                foreach (var d in made) if (d.Granted) granted++;
            }
            clock += TimeSpan.FromSeconds(2);
            pipeline.Process(new CapturedFrame(blank, sequence++, clock, Stopwatch.GetTimestamp()));
        }
        if (timed == 0) throw new CliError("no_face", "no frame of the clip had exactly one face");
        var sorted = all.ToArray();
        Array.Sort(sorted);
        return new JsonObject
        {
            ["visits"] = options.Passes,
            ["frames_timed"] = timed,
            ["frames_embedded"] = deciding.Count,
            ["decisions"] = decisions,
            ["granted"] = granted,
            ["frame_ms"] = Stats(sorted),
            ["decision_frame_ms"] = deciding.Count > 0 ? Stats([.. deciding]) : null,
            ["fps"] = Math.Round(1000 / sorted.Average(), 1),
            ["alloc_bytes_per_frame"] = allocated / timed,
        };
    }

    /// <summary>Per-stage timings on one still, as before the video bench existed (decode of the file included).</summary>
    private static void StillStages(FaceStack stack, string image, int iterations, JsonObject result)
    {
        using var frame = stack.Decoder.DecodeFile(image);
        var faces = stack.Engine.Observe(frame);
        if (faces.Count == 0) throw new CliError("no_face", $"{image}: no face found; bench needs a photo with a face");
        var decode = Time(iterations, () => { using var f = stack.Decoder.DecodeFile(image); });
        var observe = Time(iterations, () => stack.Engine.Observe(frame));
        var embed = Time(iterations, () => stack.Engine.Embed(faces[0]));
        result["decode_ms"] = Stats(decode);
        // detect + landmarks + align + quality: the cost of every frame a face is in
        result["observe_ms"] = Stats(observe);
        // face and mirror through the embedder: paid on the frames that lead to a decision
        result["embed_ms"] = Stats(embed);
        result["tracking_fps"] = Math.Round(1000 / Median(observe), 1);
        result["decision_frame_ms"] = Math.Round(Median(observe) + Median(embed), 2);
    }

    /// <summary>
    /// 1:N over 100k random unit templates (3 per person) on this thread: probes near an enrolled template (a known
    /// face) and random ones (strangers). Returns the median of the matcher as configured (int8 pre-pass at this size),
    /// of the int8 pass forced and of the float scan forced.
    /// </summary>
    private static (double Auto, double Int8, double Float) Search100k()
    {
        var templates = SyntheticTemplates("bench", SearchTemplates, seed: 3);
        var matcher = new GalleryMatcher("bench", OperatingPoint.Match, OperatingPoint.Calibration);
        matcher.Load(templates);
        var rng = new Random(4);
        var probes = new float[SearchProbes][];
        for (var i = 0; i < probes.Length; i++)
            probes[i] = i % 2 == 0 ? RandomUnit(rng) : Near(rng, templates[rng.Next(templates.Count)].Embedding);
        double Median(SearchPrecision precision)
        {
            matcher.Precision = precision;
            matcher.Identify(probes[0]);
            var samples = new double[probes.Length];
            for (var i = 0; i < probes.Length; i++)
            {
                var start = Stopwatch.GetTimestamp();
                matcher.Identify(probes[i]);
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Array.Sort(samples);
            return Math.Round(samples[samples.Length / 2], 3);
        }
        return (Median(SearchPrecision.Auto), Median(SearchPrecision.Int8), Median(SearchPrecision.Float));
    }

    /// <summary>A gallery of random unit vectors, three templates per person: what a site's gallery costs to search.</summary>
    private static GalleryMatcher SyntheticMatcher(string modelId, int templates, int seed)
    {
        var matcher = new GalleryMatcher(modelId, OperatingPoint.Match, OperatingPoint.Calibration);
        matcher.Load(SyntheticTemplates(modelId, templates, seed));
        return matcher;
    }

    private static List<FaceTemplate> SyntheticTemplates(string modelId, int templates, int seed)
    {
        var rng = new Random(seed);
        var list = new List<FaceTemplate>(templates);
        for (var i = 0; i < templates; i++)
            list.Add(new FaceTemplate(i + 1, $"synthetic-{i / 3}", modelId, RandomUnit(rng), 1, DateTimeOffset.UnixEpoch));
        return list;
    }

    private static float[] RandomUnit(Random rng)
    {
        var v = new float[FaceEmbedder.Dimension];
        for (var i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        Embeddings.Normalize(v);
        return v;
    }

    /// <summary>A probe at cosine ≈ 0.7 to an enrolled template (a synthetic known face).</summary>
    private static float[] Near(Random rng, float[] template)
    {
        var probe = (float[])template.Clone();
        var noise = RandomUnit(rng);
        for (var i = 0; i < probe.Length; i++) probe[i] = 0.7f * probe[i] + 0.71f * noise[i];
        Embeddings.Normalize(probe);
        return probe;
    }

    private static string Save(JsonObject o, string? preparedDirectory)
    {
        var dir = preparedDirectory ?? AssetLocator.PreparedDirectory(AssetLocator.Root());
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, SavedFileName);
        var saved = new JsonObject
        {
            ["measured_utc"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["machine"] = o["machine"]!.DeepClone(),
            ["ort_version"] = o["ort_version"]?.DeepClone(),
            ["threads"] = o["threads"]!.DeepClone(),
            ["embed_ms"] = o["embed_ms"]!.DeepClone(),
        };
        // Written beside, then renamed: a daemon reading it never sees half a file.
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, saved.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        File.Move(tmp, path, overwrite: true);
        return path;
    }

    private static string Machine() =>
        $"{RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}";

    /// <summary>Resident set size from /proc/self/status (VmRSS, kB), in MB; null where there is no procfs.</summary>
    private static double? RssMegabytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return Math.Round(double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024, 1);
        }
        catch (IOException) { }
        return null;
    }

    private static double Lap(ref long t)
    {
        var now = Stopwatch.GetTimestamp();
        var ms = Stopwatch.GetElapsedTime(t, now).TotalMilliseconds;
        t = now;
        return ms;
    }

    private static double[] Time(int n, Action action)
    {
        var samples = new double[n];
        for (var i = 0; i < n; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(samples);
        return samples;
    }

    private static double Median(double[] sorted) => sorted[sorted.Length / 2];

    private static JsonObject Stats(double[] samples)
    {
        var sorted = (double[])samples.Clone();
        Array.Sort(sorted);
        return new JsonObject
        {
            ["median"] = Math.Round(Median(sorted), 3),
            ["p95"] = Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(0.95 * sorted.Length) - 1)], 3),
            ["min"] = Math.Round(sorted[0], 3),
            ["n"] = sorted.Length,
        };
    }

    private sealed class BenchDoor : IDoorActuator
    {
        public long Open(string cause) => Stopwatch.GetTimestamp();
    }

    /// <summary>Every matched id is an enabled person: the synthetic gallery has no directory of its own.</summary>
    private sealed class EveryoneEnrolled : IPersonDirectory
    {
        private readonly Dictionary<string, Person> _people = [];

        public Person? Find(string personId)
        {
            if (!_people.TryGetValue(personId, out var p))
                _people[personId] = p = new Person(personId, personId, true, null, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
            return p;
        }
    }
}
