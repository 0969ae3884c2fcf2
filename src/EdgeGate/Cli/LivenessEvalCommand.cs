using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using EdgeGate.Camera;
using EdgeGate.Composition;
using EdgeGate.Core.Access;
using EdgeGate.Core.Capture;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Liveness;
using EdgeGate.Core.Ports;

namespace EdgeGate.Cli;

/// <summary>
/// <c>edgegate liveness-eval</c>: presentations through the daemon's liveness stage, reported in ISO/IEC 30107-3 terms.
/// Still images can only be judged by the passive check (one frame: no blink, no motion); videos and synthetic replays
/// go through the full policy with its time budget.
/// </summary>
public static class LivenessEvalCommand
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png"];
    private static readonly string[] VideoExtensions = [".mp4", ".mpg", ".mpeg", ".avi", ".mkv", ".webm", ".mov"];

    public sealed record Inputs(string? Live, string? Spoof, string? Videos, string? Replays, int? ReplayLimit, TimeSpan ReplayLength, bool Trace, int ReplaySeed = 0);

    /// <summary>
    /// The daemon's liveness policy with <c>Key=Value</c> overrides, bound exactly as <c>EdgeGate:Liveness:Key</c> is for
    /// <c>edgegate run</c>, so a policy tried here is the one a site would configure.
    /// </summary>
    public static LivenessPolicy Policy(IReadOnlyList<string> sets)
    {
        var pairs = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var set in sets)
        {
            var eq = set.IndexOf('=');
            if (eq <= 0) throw new CliError("invalid_argument", $"--policy expects Key=Value, got '{set}'");
            pairs[set[..eq].Trim()] = set[(eq + 1)..].Trim();
        }
        var settings = new Daemon.LivenessSettings();
        new ConfigurationBuilder().AddInMemoryCollection(pairs).Build().Bind(settings);
        var (policy, errors) = settings.ToPolicy("--policy");
        if (policy is null) throw new CliError("invalid_argument", string.Join("; ", errors));
        return policy;
    }

    public static JsonObject Run(FaceStack stack, LivenessPolicy policy, Inputs inputs, Action<string>? log = null)
    {
        if (stack.Liveness is null && policy.Uses(LivenessCheck.Passive)) throw new CliError("missing_asset", "the passive check needs fr_liveness.onnx");
        var stage = new LivenessStage(policy, stack.Liveness);
        // A still has one frame: only the passive check can judge it.
        var stillPolicy = policy with { Required = [LivenessCheck.Passive], AnyOf = [], PassiveFrames = 1, PassiveMaxFrames = 1 };
        var stillStage = new LivenessStage(stillPolicy, stack.Liveness);
        var results = new List<PresentationResult>();
        var traces = new JsonObject();
        IReadOnlyList<FaceObservation> Observe(BgrFrame f) => stack.Engine.Observe(f);

        void Add(PresentationResult r, ILivenessStage s)
        {
            results.Add(r);
            log?.Invoke($"{r.Name}: {r.AttackType ?? "bona fide"} → {r.State} at {r.DecisionTime?.TotalMilliseconds:0} ms ({r.FramesWithFace}/{r.Frames} frames with a face) "
                + string.Join(", ", r.Verdict.Checks.Select(c => $"{c.Name}={c.Score:0.###}{(c.Passed is { } p ? (p ? "✓" : "✗") : "?")}")));
        }

        foreach (var path in Files(inputs.Live, ImageExtensions))
            Add(Still(stack, stillStage, path, null, Observe), stillStage);
        foreach (var path in Files(inputs.Spoof, ImageExtensions))
            Add(Still(stack, stillStage, path, AttackTypeOf(path), Observe), stillStage);
        foreach (var path in Files(inputs.Videos, VideoExtensions))
        {
            var tracing = inputs.Trace ? new TracingStage(stage) : null;
            Add(PresentationRunner.Run(Path.GetFileName(path), null, (ILivenessStage?)tracing ?? stage, VideoFrames(path), Observe), stage);
            if (tracing is not null) traces[Path.GetFileName(path)] = tracing.ToJson();
        }
        if (inputs.Replays is { } replays)
        {
            var stills = Files(replays, ImageExtensions, recursive: true);
            if (inputs.ReplayLimit is { } limit) stills = Spread(stills, limit);
            foreach (var path in stills)
            {
                BgrFrame still;
                try { still = stack.Decoder.DecodeFile(path); }
                catch (ImageDecodeException e) { log?.Invoke($"{path}: skipped ({e.Message})"); continue; }
                using (still)
                {
                    var name = Path.GetRelativePath(replays, path);
                    var tracing = inputs.Trace ? new TracingStage(stage) : null;
                    var seed = StableSeed(inputs.ReplaySeed == 0 ? name : $"{inputs.ReplaySeed}:{name}");
                    Add(PresentationRunner.Run(name, "replay", (ILivenessStage?)tracing ?? stage, ReplayAttack.Frames(still, seed, inputs.ReplayLength), Observe), stage);
                    if (tracing is not null) traces[name] = tracing.ToJson();
                }
            }
        }

        var report = PadReport.From(results);
        var apcer = new JsonObject();
        foreach (var (type, (attacks, accepted)) in report.ApcerByType.OrderBy(k => k.Key, StringComparer.Ordinal))
            apcer[type] = Round(report.Apcer(type));
        var json = new JsonObject
        {
            ["apcer"] = apcer,
            ["bpcer"] = report.Bpcer is { } b ? Round(b) : null,
            ["mean_decision_ms"] = report.MeanDecisionMs is { } m ? Math.Round(m, 1) : null,
            ["counts"] = new JsonObject
            {
                ["attacks"] = new JsonObject(report.ApcerByType.OrderBy(k => k.Key, StringComparer.Ordinal)
                    .Select(k => KeyValuePair.Create(k.Key, (JsonNode?)new JsonObject { ["presented"] = k.Value.Attacks, ["accepted"] = k.Value.Accepted }))),
                ["bona_fide"] = report.BonaFide,
                ["bona_fide_rejected"] = report.BonaFideRejected,
            },
            ["policy"] = PolicyJson(policy),
            ["presentations"] = new JsonArray(results.Select(ToJson).ToArray<JsonNode?>()),
        };
        if (inputs.Trace) json["traces"] = traces;
        return json;
    }

    private static PresentationResult Still(FaceStack stack, ILivenessStage stage, string path, string? attackType, Func<BgrFrame, IReadOnlyList<FaceObservation>> observe)
    {
        var frame = stack.Decoder.DecodeFile(path);
        return PresentationRunner.Run(Path.GetFileName(path), attackType, stage, [new CapturedFrame(frame, 0, TimeSpan.Zero, 0)], observe);
    }

    /// <summary>"print" or "screen" when the file name says so, else "photo".</summary>
    public static string AttackTypeOf(string path)
    {
        var n = Path.GetFileNameWithoutExtension(path).ToLowerInvariant();
        return n.Contains("print") ? "print" : n.Contains("screen") || n.Contains("tablet") || n.Contains("phone") ? "screen" : "photo";
    }

    /// <summary>Every frame of a video file, decoded as fast as it is consumed, with its stream time.</summary>
    public static IEnumerable<CapturedFrame> VideoFrames(string path)
    {
        var spec = CameraSourceSpec.Parse(path, new CameraSourceOptions { RealTime = false });
        using var source = new GstFrameSource(spec);
        source.Start();
        while (true)
        {
            var status = source.Read(TimeSpan.FromSeconds(10), out var frame);
            if (status == FrameReadStatus.EndOfStream) yield break;
            if (status == FrameReadStatus.Timeout) throw new CliError("video_timeout", $"{path}: no frame within 10 s");
            yield return frame!;
        }
    }

    private static List<string> Files(string? dir, string[] extensions, bool recursive = false)
    {
        if (dir is null) return [];
        if (!Directory.Exists(dir)) throw new CliError("not_found", $"no such directory: {dir}");
        return Directory.EnumerateFiles(dir, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(f => extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Every k-th file so a limited run still covers all people.</summary>
    private static List<string> Spread(List<string> files, int limit)
    {
        if (limit <= 0 || files.Count <= limit) return files;
        var step = (double)files.Count / limit;
        return Enumerable.Range(0, limit).Select(i => files[(int)(i * step)]).ToList();
    }

    /// <summary>FNV-1a of the name: the same replay on every run and machine (string.GetHashCode is randomised).</summary>
    private static int StableSeed(string name)
    {
        var h = 2166136261u;
        foreach (var ch in name) { h ^= ch; h *= 16777619u; }
        return (int)(h & 0x7fffffff);
    }

    private static JsonObject ToJson(PresentationResult r) => new()
    {
        ["name"] = r.Name,
        ["attack_type"] = r.AttackType,
        ["state"] = r.State.ToString().ToLowerInvariant(),
        ["accepted"] = r.Accepted,
        ["decision_ms"] = r.DecisionTime is { } t ? Math.Round(t.TotalMilliseconds, 1) : null,
        ["frames"] = r.Frames,
        ["frames_with_face"] = r.FramesWithFace,
        ["score"] = r.Verdict.Score is { } s ? Round(s) : null,
        ["checks"] = new JsonArray(r.Verdict.Checks.Select(c => (JsonNode?)new JsonObject
        {
            ["name"] = c.Name, ["score"] = Round(c.Score), ["passed"] = c.Passed, ["detail"] = c.Detail,
        }).ToArray()),
    };

    public static JsonObject PolicyJson(LivenessPolicy p) => new()
    {
        ["required"] = new JsonArray(p.Required.Select(c => (JsonNode?)LivenessSession.Name(c)).ToArray()),
        ["any_of"] = new JsonArray(p.AnyOf.Select(c => (JsonNode?)LivenessSession.Name(c)).ToArray()),
        ["budget_ms"] = p.Budget.TotalMilliseconds,
        ["passive_threshold"] = p.PassiveThreshold,
        ["blink_closed_ratio"] = p.BlinkClosedRatio,
        ["motion_threshold"] = p.MotionThreshold,
        ["motion_fail_after_global"] = p.MotionFailAfterGlobal,
        ["mouth_closed"] = p.MouthClosed,
        ["mouth_open"] = p.MouthOpen,
    };

    private static double Round(double v) => Math.Round(v, 4);

    public static void Print(JsonObject o)
    {
        Console.WriteLine("attack type      APCER");
        foreach (var (type, v) in (JsonObject)o["apcer"]!) Console.WriteLine($"  {type,-14} {v}");
        Console.WriteLine($"BPCER            {o["bpcer"]?.ToString() ?? "-"}");
        Console.WriteLine($"mean decision    {o["mean_decision_ms"]?.ToString() ?? "-"} ms");
    }

    /// <summary>Keeps the per-frame measurements of every session it creates, one per track (for --trace).</summary>
    private sealed class TracingStage(LivenessStage inner) : ILivenessStage
    {
        private readonly List<(long Track, TimeSpan Start, LivenessSession Session)> _sessions = [];

        public ILivenessSession Begin(long trackId, TimeSpan startedAt)
        {
            var session = (LivenessSession)inner.Begin(trackId, startedAt);
            _sessions.Add((trackId, startedAt, session));
            return session;
        }

        public JsonArray ToJson() => new(_sessions.Select(s => (JsonNode?)new JsonObject
        {
            ["track"] = s.Track,
            ["start_ms"] = Math.Round(s.Start.TotalMilliseconds),
            ["samples"] = new JsonArray(s.Session.Samples.Select(x => (JsonNode?)new JsonArray(
                Math.Round(x.Time.TotalMilliseconds), x.Passive is { } p ? Math.Round(p, 3) : null, Math.Round(x.Ear, 3), Math.Round(x.Residual, 4), Math.Round(x.Mouth, 4))).ToArray()),
        }).ToArray());
    }
}
