using EdgeGate.Cli;
using EdgeGate.Composition;
using EdgeGate.Core.Access;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Liveness;
using EdgeGate.Daemon;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Faces;

/// <summary>The face stack with fr_liveness.onnx loaded.</summary>
public sealed class LivenessStackFixture : IDisposable
{
    private readonly Lazy<FaceStack> _stack = new(() => FaceStack.Create(new FaceStackOptions { IntraOpThreads = 2, LoadLivenessModel = true }));
    public FaceStack Stack => _stack.Value;

    public void Dispose()
    {
        if (_stack.IsValueCreated) _stack.Value.Dispose();
    }
}

/// <summary>The liveness checks on the dev data (real ORT and GStreamer), with the default policy the README documents.</summary>
public sealed class LivenessTests(LivenessStackFixture fixture, ITestOutputHelper output) : IClassFixture<LivenessStackFixture>
{
    private static readonly LivenessPolicy Policy = new();

    private IReadOnlyList<FaceObservation> All(BgrFrame f) => fixture.Stack.Engine.Observe(f);
    private FaceObservation? Main(BgrFrame f) => All(f) is { Count: > 0 } faces ? faces[0] : null;

    private float PassiveScore(string path)
    {
        using var frame = fixture.Stack.Decoder.DecodeFile(path);
        var face = Main(frame) ?? throw new InvalidOperationException($"no face in {path}");
        return fixture.Stack.Liveness!.Score(frame, face.Box);
    }

    [Fact]
    public void Passive_model_rejects_the_print_and_the_screen_and_accepts_the_live_sample()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var live = PassiveScore(Path.Combine(faces, "live", "silentface_live_1.jpg"));
        var print = PassiveScore(Path.Combine(faces, "spoof", "silentface_print_1.jpg"));
        var screen = PassiveScore(Path.Combine(faces, "spoof", "silentface_screen_1.jpg"));
        output.WriteLine($"P(real): live {live:0.000}, print {print:0.000}, screen {screen:0.000}");
        Assert.True(live >= Policy.PassiveThreshold, $"live {live}");
        Assert.True(print < Policy.PassiveThreshold, $"print {print}");
        Assert.True(screen < Policy.PassiveThreshold, $"screen {screen}");
    }

    private PresentationResult Video(string path) =>
        PresentationRunner.Run(Path.GetFileName(path), null, new LivenessStage(Policy, fixture.Stack.Liveness), LivenessEvalCommand.VideoFrames(path), All);

    [Fact]
    public void The_blink_in_blink_example_is_found_and_the_face_is_live_within_the_budget()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var r = Video(Path.Combine(faces, "video", "blink_example.mp4"));
        output.WriteLine($"{r.State} at {r.DecisionTime?.TotalMilliseconds} ms: {string.Join(", ", r.Verdict.Checks)}");
        Assert.Equal(LivenessState.Live, r.State);
        var blink = Assert.Single(r.Verdict.Checks, c => c.Name == "blink");
        Assert.True(blink.Passed);
        // The clip's one blink is about 0.7 s in.
        Assert.InRange(r.DecisionTime!.Value.TotalMilliseconds, 500, 1000);
    }

    [Fact]
    public void The_GRID_speakers_are_live_within_two_seconds()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        foreach (var path in Directory.GetFiles(Path.Combine(faces, "video"), "grid_*.mpg").Order(StringComparer.Ordinal))
        {
            var r = Video(path);
            output.WriteLine($"{Path.GetFileName(path)}: {r.State} at {r.DecisionTime?.TotalMilliseconds} ms: {string.Join(", ", r.Verdict.Checks)}");
            Assert.Equal(LivenessState.Live, r.State);
            Assert.True(r.DecisionTime <= Policy.Budget, $"{path}: {r.DecisionTime}");
        }
    }

    [Fact]
    public void The_singer_in_the_hamilton_clip_is_live_within_two_seconds_of_his_track_by_his_lips()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        // Scene cuts and several people: each track has its own budget. Nobody blinks for two frames within 2 s of
        // a track's start; the singer's lips move.
        var r = Video(Path.Combine(faces, "video", "hamilton_short_clip.mp4"));
        output.WriteLine($"{r.State} at {r.DecisionTime?.TotalMilliseconds} ms after its track began: {string.Join(", ", r.Verdict.Checks)}");
        Assert.Equal(LivenessState.Live, r.State);
        Assert.True(r.DecisionTime <= Policy.Budget, $"{r.DecisionTime}");
        Assert.Contains(r.Verdict.Checks, c => c is { Name: "mouth", Passed: true });
    }

    [Fact]
    public void A_still_photo_replayed_by_hand_never_blinks_nor_moves_its_lips_and_is_never_live()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var people = Directory.GetDirectories(Path.Combine(faces, "people")).Order(StringComparer.Ordinal).Where((_, i) => i % 10 == 0).ToList();
        Assert.NotEmpty(people);
        foreach (var dir in people)
        {
            var photo = Directory.GetFiles(dir).Order(StringComparer.Ordinal).First();
            using var still = fixture.Stack.Decoder.DecodeFile(photo);
            // Without the passive model's veto, so that blink and mouth are what is tested on every replay.
            var r = PresentationRunner.Run(photo, "replay", new LivenessStage(Policy with { Required = [] }, null),
                ReplayAttack.Frames(still, seed: 11, TimeSpan.FromSeconds(3)), All);
            output.WriteLine($"{Path.GetFileName(dir)}: {r.State} ({string.Join(", ", r.Verdict.Checks.Select(c => $"{c.Name} {c.Score} {c.Passed}"))})");
            Assert.NotEqual(LivenessState.Live, r.State);
            Assert.DoesNotContain(r.Verdict.Checks, c => c is { Name: "blink" or "mouth", Passed: true });
            Assert.True(r.FramesWithFace > 0, $"{photo}: no face found in the replay");
        }
    }

    [Fact]
    public void The_default_policy_meets_the_issue_criteria_on_the_dev_data()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        // The CLI's run over the spoof stills, the videos and 30 replays spread over people/ (the README's figures use
        // 100): both spoof images rejected, no replay accepted, every live video live within the budget.
        var json = LivenessEvalCommand.Run(fixture.Stack, Policy, new LivenessEvalCommand.Inputs(
            Path.Combine(faces, "live"), Path.Combine(faces, "spoof"), Path.Combine(faces, "video"), Path.Combine(faces, "people"),
            ReplayLimit: 30, ReplayLength: TimeSpan.FromSeconds(3), Trace: false), output.WriteLine);
        var counts = json["counts"]!["attacks"]!;
        Assert.Equal(0, (int)counts["print"]!["accepted"]!);
        Assert.Equal(0, (int)counts["screen"]!["accepted"]!);
        Assert.Equal(30, (int)counts["replay"]!["presented"]!);
        Assert.Equal(0, (int)counts["replay"]!["accepted"]!);
        var videos = json["presentations"]!.AsArray().Where(p => p!["attack_type"] is null && !((string)p["name"]!).EndsWith(".jpg")).ToList();
        Assert.Equal(5, videos.Count);
        Assert.All(videos, v =>
        {
            Assert.True((bool)v!["accepted"]!, $"{v["name"]} not accepted");
            Assert.InRange((double)v["decision_ms"]!, 0, Policy.Budget.TotalMilliseconds);
        });
    }

    [Fact]
    public void Daemon_liveness_options_are_validated_with_their_keys()
    {
        var o = new DaemonOptions();
        o.Liveness.Enabled = true;
        o.Liveness.Required = ["passive", "nose"];
        o.Liveness.BudgetMs = 0;
        o.Liveness.BlinkClosedRatio = 1.5;
        var errors = DaemonOptionsValidator.Check(o).ToList();
        Assert.Contains(errors, e => e.Contains("EdgeGate:Liveness:Required") && e.Contains("nose"));
        Assert.Contains(errors, e => e.Contains("EdgeGate:Liveness:BudgetMs"));
        Assert.Contains(errors, e => e.Contains("EdgeGate:Liveness:BlinkClosedRatio"));
        o.Liveness.Enabled = false; // off: the keys are not used, so they do not stop the daemon
        Assert.DoesNotContain(DaemonOptionsValidator.Check(o), e => e.Contains("Liveness"));
        var (policy, none) = new LivenessSettings { Enabled = true, Required = ["Passive"], AnyOf = ["blink", "motion"], BudgetMs = 2500 }.ToPolicy("EdgeGate:Liveness");
        Assert.Empty(none);
        Assert.Equal([LivenessCheck.Blink, LivenessCheck.Motion], policy!.AnyOf);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), policy.Budget);
        // On by default with passive, then blink or mouth; a site that lists Required gets exactly that.
        Assert.True(new LivenessSettings().Enabled);
        var (defaults, _) = new LivenessSettings().ToPolicy("p");
        Assert.Equal([LivenessCheck.Passive], defaults!.Required);
        Assert.Equal([LivenessCheck.Blink, LivenessCheck.Mouth], defaults.AnyOf);
        Assert.Empty(new LivenessSettings { Required = ["passive", "blink"] }.ToPolicy("p").Policy!.AnyOf);
        Assert.Empty(new LivenessSettings { AnyOf = ["none"], Required = ["blink"] }.ToPolicy("p").Policy!.AnyOf);
        var (_, mouthErrors) = new LivenessSettings { MouthClosed = 0.2, MouthOpen = 0.1 }.ToPolicy("EdgeGate:Liveness");
        Assert.Contains(mouthErrors, e => e.Contains("EdgeGate:Liveness:MouthOpen"));
    }
}
