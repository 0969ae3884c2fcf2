using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Cli;

/// <summary>The CLI as a user runs it: a separate process, --json output, a gallery file on disk.</summary>
public sealed class CliEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgegate-cli-").FullName;
    private string Gallery => Path.Combine(_dir, "gallery.db");

    [Fact]
    public void Enrol_List_Identify_Delete_RoundTrip()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        string P(string rel) => Path.Combine(faces, "people", rel);

        var enrol = Run("enrol", "--id", "blair", "--name", "Tony Blair", P("Tony_Blair/2.jpg"), P("Tony_Blair/3.jpg"));
        Assert.Equal(0, enrol.Exit);
        Assert.Equal(2, (int)enrol.Json["templates_added"]!);
        Assert.Equal(0, Run("enrol", "--id", "powell", "--name", "Colin Powell", P("Colin_Powell/1.jpg")).Exit);

        var list = Run("list");
        Assert.Equal(2, (int)list.Json["count"]!);

        var known = Run("identify", P("Tony_Blair/5.jpg"));
        Assert.True((bool)known.Json["recognised"]!, known.Raw);
        Assert.Equal("blair", (string)known.Json["person"]!["id"]!);
        Assert.InRange((double)known.Json["p_same"]!, 0.5, 1.0);

        var stranger = Run("identify", P("Hugo_Chavez/1.jpg"));
        Assert.False((bool)stranger.Json["recognised"]!, stranger.Raw);
        Assert.Equal("unknown", (string)stranger.Json["reason"]!);

        Assert.Equal(0, Run("delete", "--id", "blair").Exit);
        var afterDelete = Run("identify", P("Tony_Blair/5.jpg"));
        Assert.False((bool)afterDelete.Json["recognised"]!);
        var missing = Run("delete", "--id", "blair");
        Assert.Equal(1, missing.Exit);
        Assert.Equal("not_found", (string)missing.Json["error"]!["code"]!);
    }

    [Fact]
    public void Cli_EncryptsWithTheKeyBesideTheGallery_KeepsAccessRulesOnReEnrol_AndRefusesAWrongKey()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        string P(string rel) => Path.Combine(faces, "people", rel);
        Assert.Equal(0, Run("enrol", "--id", "blair", "--name", "Tony Blair", P("Tony_Blair/2.jpg")).Exit);
        var key = Path.Combine(_dir, "template.key");
        Assert.True(File.Exists(key), "the CLI creates the template key beside the gallery");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));

        // A schedule set by an administrator survives photos added with the CLI.
        using (var store = EdgeGate.Storage.SqliteGalleryStore.Open(Gallery, EdgeGate.Storage.GalleryKey.File(key, createIfMissing: false)))
            store.Update("blair", p => p with { Enabled = false, Schedule = EdgeGate.Core.Gallery.WeeklySchedule.FromJson("""{"mon":["08:00-18:00"]}""") });
        Assert.Equal(0, Run("enrol", "--id", "blair", "--name", "Tony Blair", P("Tony_Blair/3.jpg")).Exit);
        var person = Run("list").Json["persons"]!.AsArray().Single()!;
        Assert.Equal((2, false, """{"mon":["08:00-18:00"]}"""), ((int)person["templates"]!, (bool)person["enabled"]!, person["schedule"]!.ToJsonString()));

        var other = Path.Combine(_dir, "other.key");
        EdgeGate.Core.Commands.SecretKeyFile.CreateNew(other, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var wrong = Run("list", "--template-key", other);
        Assert.Equal((1, "invalid_data"), (wrong.Exit, (string?)wrong.Json["error"]!["code"]));
        Assert.Contains(other, (string)wrong.Json["error"]!["message"]!);
        Assert.True((bool)Run("identify", P("Tony_Blair/5.jpg")).Json["recognised"]!);
    }

    [Fact]
    public void Enrol_WithOneUnusableImage_WritesNothing_AndSaysWhichImage()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var corrupt = Path.Combine(_dir, "corrupt.jpg");
        var real = File.ReadAllBytes(Path.Combine(faces, "people/Tony_Blair/4.jpg"));
        File.WriteAllBytes(corrupt, real[..(real.Length / 2)]);

        var r = Run("enrol", "--id", "blair", "--name", "Tony Blair", Path.Combine(faces, "people/Tony_Blair/2.jpg"), corrupt);

        Assert.Equal(1, r.Exit);
        Assert.Equal("enrol_rejected", (string)r.Json["error"]!["code"]!);
        var detail = Assert.Single(r.Json["error"]!["details"]!.AsArray());
        Assert.Equal(corrupt, (string)detail!["image"]!);
        Assert.Equal("image_corrupt", (string)detail["code"]!);
        Assert.Equal(0, (int)Run("list").Json["count"]!);
    }

    [Fact]
    public void Enrol_APhotoWithTwoPeople_IsRefusedWithTheReason()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;

        // A real LFW photo: Tony Blair beside another man of similar size.
        var r = Run("enrol", "--id", "blair", "--name", "Tony Blair", Path.Combine(faces, "people/Tony_Blair/1.jpg"));

        Assert.Equal(1, r.Exit);
        Assert.Equal("multiple_faces", (string)r.Json["error"]!["details"]![0]!["code"]!);
    }

    [Fact]
    public void Verify_SamePersonAndDifferentPeople()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        string P(string rel) => Path.Combine(faces, "people", rel);

        var same = Run("verify", P("Colin_Powell/1.jpg"), P("Colin_Powell/3.jpg"));
        var different = Run("verify", P("Colin_Powell/1.jpg"), P("Tony_Blair/2.jpg"));

        Assert.True((bool)same.Json["same"]!, same.Raw);
        Assert.False((bool)different.Json["same"]!, different.Raw);
        Assert.True((double)same.Json["p_same"]! > (double)different.Json["p_same"]!);
    }

    [Fact]
    public void Eval_OnABadPairsFile_IsACodedError()
    {
        var csv = Path.Combine(_dir, "pairs.csv");
        File.WriteAllText(csv, "a,b,same\nx.jpg,y.jpg,maybe\n");

        var r = Run("eval", "--pairs", csv);

        Assert.Equal(1, r.Exit);
        Assert.Equal("bad_pairs_file", (string)r.Json["error"]!["code"]!);
        Assert.Contains("line 2", (string)r.Json["error"]!["message"]!);
    }

    [Fact]
    public void LivenessEval_TakesTheDaemonsLivenessKeys_AndRefusesBadOnesByName()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var bad = Run("liveness-eval", "--spoof", Path.Combine(faces, "spoof"), "--policy", "MouthClosed=0.2", "--policy", "MouthOpen=0.1");
        Assert.Equal(1, bad.Exit);
        Assert.Equal("invalid_argument", (string)bad.Json["error"]!["code"]!);
        Assert.Contains("MouthOpen", (string)bad.Json["error"]!["message"]!);

        var r = Run("liveness-eval", "--spoof", Path.Combine(faces, "spoof"), "--policy", "Required:0=blink", "--policy", "MouthOpen=0.2");
        Assert.Equal(0, r.Exit);
        Assert.Equal(["blink"], r.Json["policy"]!["required"]!.AsArray().Select(n => (string)n!));
        Assert.Empty(r.Json["policy"]!["any_of"]!.AsArray());
        Assert.Equal(0.2, (double)r.Json["policy"]!["mouth_open"]!);
        Assert.Equal(0, (int)r.Json["counts"]!["attacks"]!["print"]!["accepted"]!); // stills are judged by the passive model
    }

    [Fact]
    public void Identify_ANonImage_IsACodedError()
    {
        var text = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(text, "not an image");

        var r = Run("identify", text);

        Assert.Equal(1, r.Exit);
        Assert.Equal("image_unsupported", (string)r.Json["error"]!["code"]!);
    }

    [Fact]
    public void ModelPrepare_WithACorruptOrMissingModel_FailsWithACodeNamingTheFile_AndWritesNothing()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var corrupt = Path.Combine(_dir, "fr_feature.onnx");
        File.WriteAllText(corrupt, "not a model");
        var outDir = Path.Combine(_dir, "prepared");

        var bad = Run("model", "prepare", "--source", corrupt, "--faces", Path.Combine(faces, "people"), "--out", outDir);
        Assert.Equal(1, bad.Exit);
        Assert.Equal("invalid_data", (string)bad.Json["error"]!["code"]!);
        Assert.Contains(corrupt, (string)bad.Json["error"]!["message"]!);

        var missing = Run("model", "prepare", "--source", Path.Combine(_dir, "nope.onnx"), "--faces", Path.Combine(faces, "people"), "--out", outDir);
        Assert.Equal(1, missing.Exit);
        Assert.Equal("missing_asset", (string)missing.Json["error"]!["code"]!);
        Assert.Contains("nope.onnx", (string)missing.Json["error"]!["message"]!);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void AnUnknownEmbedderVariant_IsRefusedByTheParser()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "EdgeGate.dll");
        var psi = new ProcessStartInfo("dotnet", [dll, "list", "--embedder", "fp16"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains("fp16", stderr);
    }

    [Fact]
    public void Bench_ReportsEachStage_AndSaysWhichVariantIsMissing()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var video = Path.Combine(faces, "video/grid_id2_vcd_swwp2s.mpg");
        var r = Run("bench", Path.Combine(faces, "people/Tony_Blair/2.jpg"), "--iterations", "3", "--prepared", _dir,
            "--video", video, "--frames", "20", "--passes", "1", "--gallery-size", "300", "--save", "--no-liveness");

        Assert.Equal(0, r.Exit);
        var variants = r.Json["variants"]!.AsArray().Select(v => v!.AsObject()).ToList();
        var original = Assert.Single(variants, v => (string)v["variant"]! == "original");
        Assert.True((bool)original["available"]!);
        foreach (var stage in new[] { "decode_ms", "observe_ms", "embed_ms" })
            Assert.True((double)original[stage]!["median"]! > 0, stage);
        foreach (var stage in new[] { "detect", "landmarks", "align", "quality", "embed_inference", "embed", "match" })
            Assert.True((double)original["stages_ms"]![stage]!["median"]! > 0, stage);
        // 0.8 s of clip is too short for a blink: this run leaves liveness out, and says so.
        Assert.Equal("disabled", (string)r.Json["liveness"]!);
        Assert.Null(original["stages_ms"]!["liveness"]);
        var fast = Assert.Single(variants, v => (string)v["variant"]! == "fp32-fast");
        Assert.False((bool)fast["available"]!);
        Assert.Contains("model prepare", (string)fast["reason"]!);
        Assert.Equal("original", (string)r.Json["fastest_embedder"]!);

        // The keys, from this one run: only the installed variant is in embed_ms, under its JSON name.
        var embed = r.Json["embed_ms"]!.AsObject();
        Assert.Equal(["original"], embed.Select(kv => kv.Key));
        Assert.True((double)embed["original"]! > 0);
        // embed_ms is one inference; a decision runs the face and its mirror.
        Assert.True((double)r.Json["embed_face_mirror_ms"]!["original"]! > (double)embed["original"]!);
        Assert.True((double)r.Json["pipeline_p95_ms"]! >= (double)r.Json["pipeline_median_ms"]!);
        Assert.True((double)r.Json["fps"]! > 0);
        Assert.True((long)r.Json["alloc_bytes_per_frame"]! >= 0);
        Assert.True((double)r.Json["rss_mb"]! > 10);
        Assert.True((double)r.Json["search_100k_ms"]! > 0);
        Assert.Equal(20, (int)r.Json["frames"]!);
        // One visit of a speaker enrolled from the same clip: recognised, so exactly one decision, a grant.
        var pipeline = original["pipeline"]!;
        Assert.Equal(1, (int)pipeline["granted"]!);
        Assert.True((int)pipeline["frames_embedded"]! >= 1);

        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "embedder-bench.json")))!.AsObject();
        Assert.Equal((string)r.Json["saved"]!, Path.Combine(_dir, "embedder-bench.json"));
        foreach (var key in new[] { "measured_utc", "machine", "ort_version", "threads", "embed_ms" }) Assert.True(saved.ContainsKey(key), key);
        Assert.Equal((double)embed["original"]!, (double)saved["embed_ms"]!["original"]!);
    }

    [Fact]
    public void Bench_WithAVideoThatIsNotAVideo_IsACodedError()
    {
        if (TestData.FacesOrSkip(output) is null) return;
        var bogus = Path.Combine(_dir, "bogus.mp4");
        File.WriteAllText(bogus, "not a video");
        var r = Run("bench", "--video", bogus, "--frames", "10");
        Assert.Equal(1, r.Exit);
        Assert.Equal("video_unreadable", (string)r.Json["error"]!["code"]!);
    }

    [Fact]
    public void Bench_OnAPhotoWithoutAFace_IsACodedError()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var blank = Path.Combine(_dir, "blank.png");
        // A valid PNG of uniform grey: 1x1 is below the detector's size, so it finds no face.
        File.WriteAllBytes(blank, Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="));
        var r = Run("bench", blank, "--iterations", "3");
        Assert.Equal(1, r.Exit);
        Assert.Equal("no_face", (string)r.Json["error"]!["code"]!);
    }

    private (int Exit, JsonObject Json, string Raw) Run(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "EdgeGate.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        // The CLI looks for the dev clips (bench's default video) where the tests found the faces, not relative to its cwd.
        if (TestData.FacesDirOrNull() is { } faces) psi.Environment["EDGEGATE_FACES"] = faces;
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--json");
        psi.ArgumentList.Add("--gallery");
        psi.ArgumentList.Add(Gallery);
        using var p = Process.Start(psi)!;
        var stdoutTask = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException($"edgegate {string.Join(' ', args)} hung"); }
        var stdout = stdoutTask.Result;
        output.WriteLine($"$ edgegate {string.Join(' ', args)} -> {p.ExitCode}\n{stdout}{stderr}");
        var json = JsonNode.Parse(stdout.Trim())!.AsObject();
        return (p.ExitCode, json, stdout);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
