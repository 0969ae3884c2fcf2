using System.Diagnostics;
using EdgeGate.Camera;
using EdgeGate.Composition;
using EdgeGate.Core.Capture;
using EdgeGate.Core.Diagnostics;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;
using EdgeGate.Daemon;
using EdgeGate.Onnx;

namespace EdgeGate.Cli.SelfTest;

/// <summary>
/// Every file the configuration will load (the three face models, the liveness model when enabled, this architecture's
/// ONNX Runtime) exists and has the SHA-256 that set-up recorded. The manifest ships beside the program as
/// <c>assets.sha256</c> (copied from scripts/assets.sha256 by the build, so it is in the build output, in publish.sh's
/// folders and in a package); paths in it are relative to the assets folder. An <c>assets.sha256</c> inside the
/// assets folder wins, and publish.sh's <c>SHA256SUMS</c> (paths relative to its own folder) is used as well.
/// </summary>
public sealed class ModelChecksumCheck : ISelfTestCheck
{
    public const string ManifestName = "assets.sha256";

    public string Name => "models";
    public bool IsRequired(SelfTestContext context) => true;

    public CheckOutcome Run(SelfTestContext context) => Verify(context.AssetsRoot(), context.RequireOptions().Liveness.Enabled);

    public static IReadOnlyList<string> RequiredFiles(bool liveness)
    {
        var files = new List<string> { "models/fr_detect.onnx", "models/fr_landmark.onnx", $"models/{EmbedderVariants.OriginalFileName}" };
        if (liveness) files.Add("models/fr_liveness.onnx");
        files.Add($"runtimes/{OrtRuntime.RuntimeIdentifier}/libonnxruntime.so.1");
        return files;
    }

    public static CheckOutcome Verify(string assetsRoot, bool liveness)
    {
        var manifests = Manifests(assetsRoot);
        if (manifests.Count == 0)
            return CheckOutcome.Fail($"no checksum manifest: looked for {Path.Combine(assetsRoot, ManifestName)}, {Path.Combine(AppContext.BaseDirectory, ManifestName)} and {Path.Combine(AppContext.BaseDirectory, "SHA256SUMS")}");
        var problems = new List<string>();
        var verified = new List<string>();
        var used = new HashSet<string>();
        foreach (var relative in RequiredFiles(liveness))
        {
            var path = Path.Combine(assetsRoot, relative);
            if (!File.Exists(path))
            {
                problems.Add($"{relative} is missing (in {assetsRoot}; run scripts/setup.sh or reinstall)");
                continue;
            }
            string? expected = null;
            foreach (var (manifest, baseDirectory) in manifests)
            {
                expected = manifest.Expected(Path.GetRelativePath(baseDirectory, path));
                if (expected is null) continue;
                used.Add(manifest.Source);
                break;
            }
            if (expected is null)
            {
                problems.Add($"{relative} is not listed in {string.Join(" or ", manifests.Select(m => m.Manifest.Source))}");
                continue;
            }
            var actual = EmbedderVariants.Sha256(path);
            if (actual != expected) problems.Add($"{relative} has sha256 {actual[..12]}…, expected {expected[..12]}… (corrupt or replaced)");
            else verified.Add(Path.GetFileName(relative));
        }
        if (problems.Count > 0) return CheckOutcome.Fail(string.Join("; ", problems));
        return CheckOutcome.Pass($"{verified.Count} files match {string.Join(", ", used)}: {string.Join(", ", verified)} (assets {assetsRoot})");
    }

    private static List<(ChecksumManifest Manifest, string BaseDirectory)> Manifests(string assetsRoot)
    {
        var found = new List<(ChecksumManifest, string)>();
        void Add(string file, string baseDirectory)
        {
            if (!File.Exists(file) || found.Any(f => f.Item1.Source == file)) return;
            found.Add((ChecksumManifest.Parse(File.ReadAllText(file), file), baseDirectory));
        }
        Add(Path.GetFullPath(Path.Combine(assetsRoot, ManifestName)), assetsRoot);
        Add(Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, ManifestName)), assetsRoot);
        Add(Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "SHA256SUMS")), AppContext.BaseDirectory);
        return found;
    }
}

/// <summary>
/// The embedder the daemon will run: with <c>fp32-fast</c> configured its model card must name the installed original
/// and itself (required); with <c>auto</c> a prepared model that does not match is a warning (the slower original
/// runs); with <c>fp32</c> nothing prepared is used.
/// </summary>
public sealed class EmbedderVariantCheck : ISelfTestCheck
{
    public string Name => "embedder_variant";
    public bool IsRequired(SelfTestContext context) => context.Options?.Recognition.EmbedderVariant == EmbedderVariants.Fast;

    public CheckOutcome Run(SelfTestContext context)
    {
        var o = context.RequireOptions().Recognition;
        if (o.EmbedderVariant == EmbedderVariants.Original) return CheckOutcome.Skip("fp32 configured: the original fr_feature.onnx runs, nothing prepared is used");
        var root = context.AssetsRoot();
        var options = new FaceModelOptions
        {
            ModelsDirectory = AssetLocator.ModelsDirectory(root),
            PreparedDirectory = o.PreparedPath ?? AssetLocator.PreparedDirectory(root),
            EmbedderVariant = o.EmbedderVariant,
            EmbedderGraphOptimizationLevel = o.EmbedderGraphOptimizationLevel,
        };
        EmbedderChoice choice;
        try
        {
            choice = FaceModels.ChooseEmbedder(options);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
        {
            return CheckOutcome.Fail($"{o.EmbedderVariant} configured: {e.Message}");
        }
        if (choice.Variant == EmbedderVariants.Fast)
            return CheckOutcome.Pass($"{choice.Variant} ({choice.Reason}): card matches the installed original and {Path.GetFileName(choice.ModelPath)}, level {choice.GraphOptimizationLevel}");
        var prepared = Path.Combine(options.PreparedDirectory!, EmbedderVariants.FastFileName);
        return File.Exists(prepared)
            ? CheckOutcome.Warn($"a prepared model is present but not used ({choice.Reason}); the slower original runs: run `edgegate model prepare` again")
            : CheckOutcome.Skip($"no prepared model ({prepared}): the original runs; `edgegate model prepare` makes a faster one");
    }
}

/// <summary>The configured camera delivers <see cref="SelfTestContext.CameraFrames"/> frames within the timeout.</summary>
public sealed class CameraCheck : ISelfTestCheck
{
    public string Name => "camera";
    public bool IsRequired(SelfTestContext context) => true;

    public CheckOutcome Run(SelfTestContext context)
    {
        var c = context.RequireOptions().Camera;
        var spec = CameraSourceSpec.Parse(c.Source, new CameraSourceOptions { Width = c.Width, Height = c.Height, Fps = c.Fps, RealTime = c.RealTime });
        context.CameraDescription = spec.Description;
        var started = Stopwatch.GetTimestamp();
        TimeSpan? first = null;
        var ended = false;
        try
        {
            using var source = new GstFrameSource(spec, new GstFrameSourceOptions { StartTimeout = context.Timeout });
            source.Start();
            while (context.Frames.Count < context.CameraFrames)
            {
                var left = context.Timeout - Stopwatch.GetElapsedTime(started);
                if (left <= TimeSpan.Zero) break;
                var status = source.Read(left, out var frame);
                if (status == FrameReadStatus.EndOfStream) { ended = true; break; }
                if (status != FrameReadStatus.Frame) continue;
                first ??= Stopwatch.GetElapsedTime(started);
                context.Frames.Add(frame!);
            }
        }
        catch (Exception e) when (e is GstException or CameraException)
        {
            var hint = context.DaemonHoldsDoor is not null && spec.IsLive ? " (the running daemon probably has the camera open)" : "";
            return context.DaemonHoldsDoor is not null && spec.IsLive
                ? CheckOutcome.Warn($"{spec.Description}: {e.Message}{hint}")
                : CheckOutcome.Fail($"{spec.Description}: {e.Message}");
        }
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var n = context.Frames.Count;
        if (n == 0)
            return CheckOutcome.Fail($"{spec.Description}: no frame within {context.Timeout.TotalSeconds:0.#} s{(ended ? " (end of stream)" : "")}");
        var size = $"{context.Frames[0].Image.Width}x{context.Frames[0].Image.Height}";
        var text = $"{n} frames {size} in {elapsed:0.00} s (first after {first!.Value.TotalMilliseconds:0} ms) from {spec.Description}";
        return n < context.CameraFrames
            ? CheckOutcome.Warn($"{text}; {(ended ? "the stream ended" : "timed out")} before {context.CameraFrames}")
            : CheckOutcome.Pass(text);
    }
}

/// <summary>
/// ONNX Runtime loads with the configured models and threads, and the full chain runs: detector, landmarks, alignment
/// and embedder on a blank frame (always), then detection on every camera frame and an embedding of a face found.
/// </summary>
public sealed class InferenceCheck : ISelfTestCheck
{
    public string Name => "inference";
    public bool IsRequired(SelfTestContext context) => true;

    public CheckOutcome Run(SelfTestContext context)
    {
        var o = context.RequireOptions().Recognition;
        var stack = FaceStack.Create(new FaceStackOptions
        {
            AssetsRoot = o.AssetsPath,
            IntraOpThreads = o.Threads,
            EmbedderVariant = o.EmbedderVariant,
            EmbedderGraphOptimizationLevel = o.EmbedderGraphOptimizationLevel,
            PreparedDirectory = o.PreparedPath,
        });
        context.Stack = stack;
        var started = Stopwatch.GetTimestamp();
        stack.Engine.WarmUp();
        var warmMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var head = $"ONNX Runtime {stack.OrtVersion}, embedder {stack.Embedder.Variant} ({stack.Embedder.Reason}); blank-frame run {warmMs:0} ms";
        if (context.Frames.Count == 0) return CheckOutcome.Pass($"{head}; no camera frame to look for faces in");

        (int Index, List<FaceObservation> Faces)? best = null;
        var detectMs = new List<double>();
        for (var i = 0; i < context.Frames.Count; i++)
        {
            var t = Stopwatch.GetTimestamp();
            var faces = stack.Engine.Observe(context.Frames[i].Image);
            detectMs.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            if (best is null || faces.Count > best.Value.Faces.Count) best = (i, faces);
        }
        context.Detections = best;
        var detect = $"detect+landmarks {detectMs.Order().ElementAt(detectMs.Count / 2):0} ms (median of {detectMs.Count} frames)";
        if (best!.Value.Faces.Count == 0) return CheckOutcome.Pass($"{head}; {detect}; no face in the camera frames (nobody in view?)");

        var embedStart = Stopwatch.GetTimestamp();
        var embedding = stack.Engine.Embed(best.Value.Faces[0]);
        var embedMs = Stopwatch.GetElapsedTime(embedStart).TotalMilliseconds;
        var norm = Math.Sqrt(embedding.Sum(v => (double)v * v));
        if (embedding.Length != FaceEmbedder.Dimension || !embedding.All(float.IsFinite) || Math.Abs(norm - 1) > 1e-3)
            return CheckOutcome.Fail($"{head}; the embedder returned {embedding.Length} values with norm {norm:0.###}: not a usable embedding");
        return CheckOutcome.Pass($"{head}; {detect}; {best.Value.Faces.Count} face(s) in frame {best.Value.Index}, embedded in {embedMs:0} ms");
    }
}

/// <summary>One camera frame as PNG, with every detected face box (green) and its 68 landmarks (red) drawn.</summary>
public sealed class SnapshotCheck : ISelfTestCheck
{
    public const string DefaultFileName = "selftest-snapshot.png";

    public string Name => "snapshot";
    public bool IsRequired(SelfTestContext context) => false;

    /// <summary>
    /// In the state directory when it exists; otherwise in the temporary directory, so a self-test run before the
    /// first start (often as root) does not create the daemon's state directory with the wrong owner.
    /// </summary>
    public static string DefaultPath(string storagePath) =>
        Path.Combine(Directory.Exists(storagePath) ? storagePath : Path.GetTempPath(), DefaultFileName);

    public CheckOutcome Run(SelfTestContext context)
    {
        if (context.Frames.Count == 0) return CheckOutcome.Skip("no camera frame");
        var path = Path.GetFullPath(context.SnapshotRequest ?? DefaultPath(context.RequireOptions().Storage.Path));
        var (index, faces) = context.Detections ?? (context.Frames.Count - 1, []);
        var image = context.Frames[index].Image;
        foreach (var face in faces)
        {
            FrameOverlay.Rectangle(image, face.Box.X1, face.Box.Y1, face.Box.X2, face.Box.Y2, FrameOverlay.BoxColour);
            foreach (var p in face.Landmarks) FrameOverlay.Dot(image, p.X, p.Y, FrameOverlay.LandmarkColour);
        }
        PngWriter.Save(image, path);
        context.SnapshotWritten = path;
        var drawn = context.Detections is null ? "no detections (inference did not run)" : $"{faces.Count} face(s) drawn";
        return CheckOutcome.Pass($"{path}: frame {index}, {image.Width}x{image.Height}, {drawn}");
    }
}

/// <summary>With liveness enabled: fr_liveness.onnx loads and scores a face (the camera's, else a blank crop).</summary>
public sealed class LivenessModelCheck : ISelfTestCheck
{
    public string Name => "liveness_model";
    public bool IsRequired(SelfTestContext context) => context.Options?.Liveness.Enabled == true;

    public CheckOutcome Run(SelfTestContext context)
    {
        var o = context.RequireOptions();
        if (!o.Liveness.Enabled) return CheckOutcome.Skip("liveness is off (Liveness:Enabled)");
        var stack = context.Stack ?? throw new InvalidOperationException("ONNX Runtime did not load (see the inference check)");
        using var model = FaceModels.CreateLivenessModel(stack.Runtime, AssetLocator.ModelsDirectory(stack.AssetsRoot),
            new OnnxSessionOptions { IntraOpThreads = o.Recognition.Threads });
        if (context.Detections is { Faces.Count: > 0 } d)
        {
            var score = model.Score(context.Frames[d.FrameIndex].Image, d.Faces[0].Box);
            return CheckOutcome.Pass($"fr_liveness.onnx loaded; P(real) {score:0.000} on the camera's face");
        }
        using var blank = new BgrFrame(320, 240);
        blank.Pixels.Fill(128);
        var blankScore = model.Score(blank, new FaceBox(110, 60, 210, 180, 1));
        return CheckOutcome.Pass($"fr_liveness.onnx loaded; ran on a blank crop (P(real) {blankScore:0.000}); no face in view");
    }
}
