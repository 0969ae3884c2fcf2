using System.CommandLine;
using System.Text.Json.Nodes;
using EdgeGate.Cli;
using EdgeGate.Composition;
using EdgeGate.Core.Evaluation;
using EdgeGate.Core.Ports;
using EdgeGate.Onnx;
using EdgeGate.Storage;
using Spectre.Console;

namespace EdgeGate;

public static class Program
{
    public static int Main(string[] args) => BuildCommand().Parse(args).Invoke();

    internal static RootCommand BuildCommand()
    {
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of text", Recursive = true };
        var gallery = new Option<string>("--gallery")
        {
            Description = "gallery database file (default: $EDGEGATE_GALLERY or ~/.local/share/edgegate/gallery.db)",
            Recursive = true,
            DefaultValueFactory = _ => GalleryCommands.DefaultGalleryPath(),
        };
        var templateKey = new Option<string?>("--template-key")
        {
            Description = "key file the gallery's templates are encrypted with (default: $EDGEGATE_TEMPLATE_KEY or template.key beside the gallery; created 0600 for a gallery without encrypted templates)",
            Recursive = true,
        };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = one per core)", Recursive = true, DefaultValueFactory = _ => 1 };
        var embedderVariant = new Option<string>("--embedder")
        {
            Description = "embedder model: auto (the fastest verified variant in embedder-bench.json, else fp32-fast when prepared, else the original), original (or fp32), fp32-fast or int8",
            Recursive = true,
            DefaultValueFactory = _ => EmbedderVariants.Auto,
        };
        embedderVariant.AcceptOnlyFromAmong(EmbedderVariants.Accepted);

        var root = new RootCommand("EdgeGate: face recognition for a door. `run` is the daemon; the other verbs work on still images. See README.");
        root.Options.Add(json);
        root.Options.Add(gallery);
        root.Options.Add(templateKey);
        root.Options.Add(threads);
        root.Options.Add(embedderVariant);

        // enrol
        var id = new Option<string>("--id") { Description = "person id (stable, e.g. badge number)", Required = true };
        var name = new Option<string>("--name") { Description = "display name", Required = true };
        var images = new Argument<string[]>("images") { Description = "JPEG/PNG photos with one face each (or videos: see --frame-at)", Arity = ArgumentArity.OneOrMore };
        var frameAt = new Option<double?>("--frame-at") { Description = "for video files: use the frame at this many seconds (default 1.0)" };
        var enrol = new Command("enrol", "enrol a person from one or more photos (all must be usable, or nothing is written)") { id, name, images, frameAt };
        enrol.SetAction(r => Run(r, json, () =>
        {
            using var stack = Stack(r, threads);
            using var store = OpenGallery(r, gallery, templateKey);
            return GalleryCommands.Enrol(stack, store, r.GetValue(id)!, r.GetValue(name)!, r.GetValue(images)!, r.GetValue(frameAt));
        }, o => AnsiConsole.MarkupLine($"{((bool)o["created"]! ? "enrolled" : "updated")} [green]{Markup.Escape((string)o["id"]!)}[/] ({Markup.Escape((string)o["name"]!)}): +{o["templates_added"]} templates, {o["templates_total"]} in total")));

        // delete
        var deleteId = new Option<string>("--id") { Description = "person id", Required = true };
        var delete = new Command("delete", "remove a person and all their templates") { deleteId };
        delete.SetAction(r => Run(r, json, () =>
        {
            using var store = OpenGallery(r, gallery, templateKey);
            var personId = r.GetValue(deleteId)!;
            if (!store.Delete(personId)) throw new CliError("not_found", $"no person with id '{personId}'");
            return new JsonObject { ["id"] = personId, ["deleted"] = true };
        }, o => AnsiConsole.MarkupLine($"deleted [green]{Markup.Escape((string)o["id"]!)}[/]")));

        // list
        var list = new Command("list", "list enrolled people");
        list.SetAction(r => Run(r, json, () =>
        {
            using var store = OpenGallery(r, gallery, templateKey);
            return GalleryCommands.List(store);
        }, GalleryCommands.PrintList));

        // verify
        var imageA = new Argument<string>("a") { Description = "first photo" };
        var imageB = new Argument<string>("b") { Description = "second photo" };
        var verify = new Command("verify", "1:1: are the faces in two photos the same person?") { imageA, imageB };
        verify.SetAction(r => Run(r, json, () =>
        {
            using var stack = Stack(r, threads);
            var a = EvalCommand.EmbedOne(stack, r.GetValue(imageA)!, enforceQuality: true, rejectRivals: true);
            var b = EvalCommand.EmbedOne(stack, r.GetValue(imageB)!, enforceQuality: true, rejectRivals: true);
            foreach (var e in new[] { a, b })
                if (e.Embedding is null) throw new CliError(e.FailureCode!, $"{e.Path}: {e.FailureMessage}");
            var (match, similarity, pSame) = stack.Matcher.Compare(a.Embedding!, b.Embedding!);
            return new JsonObject
            {
                ["same"] = match,
                ["similarity"] = CliOutput.Round(similarity),
                ["p_same"] = CliOutput.Round(pSame),
                ["threshold"] = stack.Matcher.Options.VerifyThreshold,
                ["model_id"] = stack.Engine.ModelId,
            };
        }, o => AnsiConsole.MarkupLine($"{((bool)o["same"]! ? "[green]same person[/]" : "[red]different people[/]")}: similarity {o["similarity"]}, P(same) {o["p_same"]} (τ = {o["threshold"]})")));

        // identify
        var probe = new Argument<string>("image") { Description = "photo with one face" };
        var identify = new Command("identify", "1:N: who is this, or \"not recognised\"") { probe };
        identify.SetAction(r => Run(r, json, () =>
        {
            using var stack = Stack(r, threads);
            using var store = OpenGallery(r, gallery, templateKey);
            return GalleryCommands.Identify(stack, store, r.GetValue(probe)!);
        }, o => AnsiConsole.MarkupLine((bool)o["recognised"]!
            ? $"[green]{Markup.Escape((string)o["person"]!["id"]!)}[/] ({Markup.Escape((string?)o["person"]!["name"] ?? "")}), similarity {o["similarity"]}, P(same) {o["p_same"]}"
            : $"[yellow]not recognised[/] ({o["reason"]}){(o["best_candidate"] is null ? "" : $", closest {Markup.Escape((string)o["best_candidate"]!)} at {o["similarity"]}")}")));

        // eval
        var pairsFile = new Option<string>("--pairs") { Description = "CSV with header a,b,same (paths relative to the CSV)", Required = true };
        var threshold = new Option<float?>("--threshold") { Description = "τ_verify to report accuracy/FAR/FRR at (default: the configured one)" };
        var eval = new Command("eval", "verification accuracy on labelled pairs") { pairsFile, threshold };
        eval.SetAction(r =>
        {
            var asJson = r.GetValue(json);
            return Run(r, json, () =>
            {
                IReadOnlyList<LabelledPair> pairs;
                try { pairs = PairsCsv.Read(r.GetValue(pairsFile)!); }
                catch (Exception e) when (e is FormatException or IOException) { throw new CliError("bad_pairs_file", e.Message); }
                using var stack = Stack(r, threads);
                var tau = r.GetValue(threshold) ?? stack.Matcher.Options.VerifyThreshold;
                var (report, failed, scored, embedded) = EvalCommand.Evaluate(stack, pairs, tau, progress: !asJson && !Console.IsErrorRedirected);
                if (!asJson) EvalCommand.Print(report, failed, embedded.Count, scored, embedded);
                return EvalCommand.ToJson(report, failed);
            }, _ => { });
        });

        // import
        var importRoot = new Argument<string>("dir") { Description = "a folder per person: DIR/<person_id>/*.jpg|png (name = id with '_' as spaces)" };
        var import = new Command("import", "enrol a folder-per-person tree; unusable photos are skipped and listed") { importRoot };
        import.SetAction(r => Run(r, json, () =>
        {
            using var stack = Stack(r, threads);
            using var store = OpenGallery(r, gallery, templateKey);
            return ImportCommand.Import(stack, store, r.GetValue(importRoot)!, progress: !r.GetValue(json) && !Console.IsOutputRedirected);
        }, o => AnsiConsole.MarkupLine($"imported [green]{o["people"]}[/] people ({o["templates_added"]} templates); {((JsonArray)o["skipped_images"]!).Count} photos skipped, {((JsonArray)o["failed_people"]!).Count} people without a usable photo")));

        // run
        var configFiles = new Option<string[]>("--config") { Description = "extra JSON configuration file(s), applied after /etc/edgegate/edgegate.json" };
        var sets = new Option<string[]>("--set") { Description = "override one key, e.g. --set Camera:Source=demo.mp4 (repeatable; the EdgeGate: prefix is optional)" };
        var run = new Command("run", "run the door daemon: camera → faces → decision → relay, events over MQTT") { configFiles, sets };
        run.SetAction(r => Daemon.DaemonHost.Run(r.GetValue(configFiles) ?? [], r.GetValue(sets) ?? []));

        // liveness-eval
        var liveDir = new Option<string?>("--live") { Description = "folder of bona fide still face images" };
        var spoofDir = new Option<string?>("--spoof") { Description = "folder of presentation-attack still images (type from the name: print, screen, else photo)" };
        var videosDir = new Option<string?>("--videos") { Description = "folder of bona fide face videos" };
        var replaysDir = new Option<string?>("--replays") { Description = "folder (searched recursively) of still faces, each turned into a synthetic hand-held replay attack" };
        var replayLimit = new Option<int?>("--replay-limit") { Description = "use at most this many replay images, spread over the folder" };
        var trace = new Option<bool>("--trace") { Description = "with --json: add each video's and replay's per-frame measurements" };
        var replaySeed = new Option<int>("--replay-seed") { Description = "vary every replay's random hand-held motion (0 = the documented replays)", DefaultValueFactory = _ => 0 };
        var policySets = new Option<string[]>("--policy") { Description = "Key=Value liveness setting, as EdgeGate:Liveness:Key for the daemon (repeatable; e.g. AnyOf:0=blink)", AllowMultipleArgumentsPerToken = false };
        var livenessEval = new Command("liveness-eval", "presentation-attack detection figures (APCER per attack type, BPCER, time to decision) of the liveness checks")
            { liveDir, spoofDir, videosDir, replaysDir, replayLimit, trace, replaySeed, policySets };
        livenessEval.SetAction(r => Run(r, json, () =>
        {
            if (r.GetValue(liveDir) is null && r.GetValue(spoofDir) is null && r.GetValue(videosDir) is null && r.GetValue(replaysDir) is null)
                throw new CliError("invalid_argument", "give at least one of --live, --spoof, --videos, --replays");
            using var stack = FaceStack.Create(new FaceStackOptions { IntraOpThreads = r.GetValue(threads), LoadLivenessModel = true });
            var asJson = r.GetValue(json);
            return LivenessEvalCommand.Run(stack, LivenessEvalCommand.Policy(r.GetValue(policySets) ?? []),
                new LivenessEvalCommand.Inputs(r.GetValue(liveDir), r.GetValue(spoofDir), r.GetValue(videosDir), r.GetValue(replaysDir),
                    r.GetValue(replayLimit), TimeSpan.FromSeconds(3), r.GetValue(trace), r.GetValue(replaySeed)),
                asJson ? m => Console.Error.WriteLine(m) : m => AnsiConsole.WriteLine(m));
        }, LivenessEvalCommand.Print));

        // model prepare
        var source = new Option<string>("--source") { Description = "the original embedder (default: <assets>/models/fr_feature.onnx)" };
        var facesDir = new Option<string>("--faces") { Description = "photos to verify on, searched recursively (default: $EDGEGATE_FACES/people)" };
        var outDir = new Option<string>("--out") { Description = "where to write the prepared model and its card (default: $EDGEGATE_PREPARED or <assets>/prepared)" };
        var maxFaces = new Option<int>("--max-faces") { Description = "verify on at most this many faces", DefaultValueFactory = _ => 64 };
        var tolerance = new Option<double>("--tolerance") { Description = "largest absolute output difference allowed", DefaultValueFactory = _ => 1e-5 };
        var prepareVariants = new Option<string[]>("--variants")
        {
            Description = "which to prepare: fp32-fast, int8 (default: both when a pairs file is found beside the faces or given with --pairs, else fp32-fast)",
            AllowMultipleArgumentsPerToken = true,
        };
        prepareVariants.AcceptOnlyFromAmong(EmbedderVariants.Fast, EmbedderVariants.Int8);
        var preparePairs = new Option<string?>("--pairs") { Description = "labelled pairs (a,b,same) for the int8 accuracy gate (default: pairs.csv beside the faces folder)" };
        var activations = new Option<string?>("--activations") { Description = "int8 model's activation type: uint8 (default on x86) or int8 (default on ARM)" };
        activations.AcceptOnlyFromAmong("uint8", "int8");
        var prepare = new Command("prepare", "write fr_feature.fp32-fast.onnx (every PRelu rewritten exactly) and fr_feature.int8.onnx (static QDQ, gated against the original on labelled pairs), each with a model card") { source, facesDir, outDir, maxFaces, tolerance, prepareVariants, preparePairs, activations };
        prepare.SetAction(r => Run(r, json, () => ModelCommand.Prepare(r.GetValue(source), r.GetValue(facesDir), r.GetValue(outDir), r.GetValue(maxFaces), r.GetValue(tolerance), r.GetValue(threads),
                r.GetValue(prepareVariants) is { Length: > 0 } v ? v : null, r.GetValue(preparePairs), r.GetValue(activations)),
            o =>
            {
                if (o["model"] is not null)
                    AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape((string)o["model"]!)}[/] ({o["nodes_replaced"]} PRelu rewritten): max |Δ| {o["max_abs_diff"]} on {o["faces"]} faces (tolerance {o["tolerance"]}); card {Markup.Escape((string)o["card"]!)}");
                if (o["int8"] is JsonObject q)
                    AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape((string)q["model"]!)}[/] ({q["quantized_nodes"]} nodes quantised, {q["float_nodes"]!.AsArray().Count} kept float): mean cosine {q["mean_cosine"]}, {q["flipped"]} of {q["pairs"]} decisions flipped, TAR {q["tar_reference"]} -> {q["tar_int8"]}; τ_verify {q["threshold_verify"]}");
                AnsiConsole.MarkupLine($"embed ms (face + mirror): {Markup.Escape(o["bench"]!["embed_ms"]!.ToJsonString())}");
            }));
        var model = new Command("model", "prepare model variants") { prepare };

        // bench
        var benchImage = new Argument<string?>("image") { Description = "also time the stages on this photo (e.g. one of the site's enrolment photos)", Arity = ArgumentArity.ZeroOrOne };
        var iterations = new Option<int>("--iterations") { Description = "timed runs per stage on the photo", DefaultValueFactory = _ => 30 };
        var benchPrepared = new Option<string?>("--prepared") { Description = "where prepared models are (default: as the daemon finds them)" };
        var benchVideo = new Option<string?>("--video") { Description = "clip played through the door's pipeline (default: a GRID clip in $EDGEGATE_FACES/video)" };
        var benchFrames = new Option<int>("--frames") { Description = "frames of the clip to use", DefaultValueFactory = _ => 75 };
        var benchPasses = new Option<int>("--passes") { Description = "timed visits (passes over the clip, each a new track)", DefaultValueFactory = _ => 2 };
        var benchGallery = new Option<int>("--gallery-size") { Description = "templates in the synthetic gallery matched against", DefaultValueFactory = _ => 3000 };
        var benchSave = new Option<bool>("--save") { Description = $"write <prepared>/{BenchCommand.SavedFileName} (embedder medians) for the daemon's auto choice" };
        var benchNoLiveness = new Option<bool>("--no-liveness") { Description = "leave the liveness checks out of the pipeline (the daemon runs them by default)" };
        var bench = new Command("bench", "time each stage and the door's per-frame pipeline on this device, for every installed embedder variant")
            { benchImage, iterations, benchPrepared, benchVideo, benchFrames, benchPasses, benchGallery, benchSave, benchNoLiveness };
        bench.SetAction(r => Run(r, json, () => BenchCommand.Run(new BenchOptions
        {
            Image = r.GetValue(benchImage),
            Video = r.GetValue(benchVideo),
            Iterations = r.GetValue(iterations),
            Frames = r.GetValue(benchFrames),
            Passes = r.GetValue(benchPasses),
            GalleryTemplates = r.GetValue(benchGallery),
            Threads = r.GetValue(threads),
            PreparedDirectory = r.GetValue(benchPrepared),
            Save = r.GetValue(benchSave),
            Liveness = !r.GetValue(benchNoLiveness),
        }), BenchCommand.Print));

        // provision
        var provisionFrom = new Option<string?>("--from") { Description = "the provisioning file to apply (default: edgegate-provision.json in /boot/firmware or /boot, else /etc/edgegate/provision.json)" };
        var provisionBoot = new Option<string[]>("--boot") { Description = "boot partition folder(s) to look in instead of /boot/firmware and /boot" };
        var provisionConfigDir = new Option<string>("--config-dir") { Description = "where edgegate.json, tls/ and command.key are written", DefaultValueFactory = _ => "/etc/edgegate" };
        var provisionAccount = new Option<string>("--account") { Description = "the daemon's account: owns the key files, its group reads the rest", DefaultValueFactory = _ => "edgegate" };
        var provision = new Command("provision", "apply a provisioning file (device id, broker, TLS, command key, door lines, camera): validated, moved into place, then deleted")
            { provisionFrom, provisionBoot, provisionConfigDir, provisionAccount };
        provision.SetAction(r => Run(r, json, () => ProvisionCommand.Run(new ProvisionCommand.Options
        {
            From = r.GetValue(provisionFrom),
            BootDirectories = r.GetValue(provisionBoot) is { Length: > 0 } boots ? boots : ProvisionCommand.DefaultBootDirectories,
            ConfigDirectory = r.GetValue(provisionConfigDir)!,
            Account = r.GetValue(provisionAccount)!,
        }, m => Console.Error.WriteLine(m)), o => AnsiConsole.MarkupLine((bool)o["provisioned"]!
            ? $"provisioned [green]{Markup.Escape((string)o["device_id"]!)}[/] from {Markup.Escape((string)o["source"]!)}"
            : Markup.Escape((string)o["reason"]!))));

        root.Subcommands.Add(enrol);
        root.Subcommands.Add(bench);
        root.Subcommands.Add(livenessEval);
        root.Subcommands.Add(import);
        root.Subcommands.Add(run);
        root.Subcommands.Add(delete);
        root.Subcommands.Add(list);
        root.Subcommands.Add(verify);
        root.Subcommands.Add(identify);
        root.Subcommands.Add(eval);
        root.Subcommands.Add(model);
        root.Subcommands.Add(provision);
        root.Subcommands.Add(AdminCommand.Build(json));
        root.Subcommands.Add(Cli.SelfTest.SelfTestCommand.Build(json));
        return root;
    }

    /// <summary>The gallery with its template key, found as <c>--template-key</c> / README "Privacy at rest" say.</summary>
    private static SqliteGalleryStore OpenGallery(ParseResult r, Option<string> gallery, Option<string?> templateKey)
    {
        var path = r.GetValue(gallery)!;
        var keyPath = r.GetValue(templateKey)
            ?? (Environment.GetEnvironmentVariable("EDGEGATE_TEMPLATE_KEY") is { Length: > 0 } env ? env : GalleryKey.DefaultPathFor(path));
        return SqliteGalleryStore.Open(path, GalleryKey.File(keyPath));
    }

    private static FaceStack Stack(ParseResult r, Option<int> threads) =>
        FaceStack.Create(new FaceStackOptions
        {
            IntraOpThreads = r.GetValue(threads),
            EmbedderVariant = r.GetValue<string>("--embedder") ?? EmbedderVariants.Auto,
        });

    /// <summary>Runs a verb: prints its result (JSON or text) or a coded error; exit 0 on success, 1 on failure.</summary>
    private static int Run(ParseResult r, Option<bool> json, Func<JsonObject> body, Action<JsonObject> print)
    {
        var asJson = r.GetValue(json);
        try
        {
            var result = body();
            if (asJson) CliOutput.WriteJson(result); else print(result);
            return 0;
        }
        catch (CliErrorWithDetails e)
        {
            if (asJson)
                CliOutput.WriteJson(new JsonObject { ["error"] = new JsonObject { ["code"] = e.Code, ["message"] = e.Message, ["details"] = e.Details } });
            else
            {
                AnsiConsole.MarkupLine($"[red]error[/] ({e.Code}): {Markup.Escape(e.Message)}");
                foreach (var d in e.Details) AnsiConsole.MarkupLine($"  {Markup.Escape((string)d!["image"]!)}: {d["code"]} {Markup.Escape((string?)d["message"] ?? "")}");
            }
            return 1;
        }
        catch (CliError e) { return CliOutput.Fail(asJson, e.Code, e.Message); }
        catch (ImageDecodeException e) { return CliOutput.Fail(asJson, Codes.Of(e.Error), e.Message); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return CliOutput.Fail(asJson, "missing_asset", e.Message); }
        catch (OnnxRuntimeException e) { return CliOutput.Fail(asJson, "onnxruntime", e.Message); }
        catch (InvalidDataException e) { return CliOutput.Fail(asJson, "invalid_data", e.Message); }
        catch (ArgumentException e) { return CliOutput.Fail(asJson, "invalid_argument", e.Message); }
    }
}
