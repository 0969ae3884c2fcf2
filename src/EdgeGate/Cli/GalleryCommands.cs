using System.Text.Json.Nodes;
using EdgeGate.Composition;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Ports;
using EdgeGate.Storage;
using Spectre.Console;

namespace EdgeGate.Cli;

/// <summary>enrol, delete, list, identify: the verbs that read or write the gallery.</summary>
internal static class GalleryCommands
{
    public static string DefaultGalleryPath() =>
        Environment.GetEnvironmentVariable("EDGEGATE_GALLERY") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "edgegate", "gallery.db");

    /// <summary>
    /// Every image must yield exactly one good face before anything is written: a failed enrolment leaves the
    /// gallery as it was, and the error lists each image's problem.
    /// </summary>
    public static JsonObject Enrol(FaceStack stack, IGalleryStore store, string id, string name, IReadOnlyList<string> images, double? frameAt = null)
    {
        var templates = new List<NewTemplate>();
        var problems = new JsonArray();
        foreach (var path in images)
        {
            try
            {
                using var frame = FrameGrabber.IsVideo(path) ? FrameGrabber.Grab(path, TimeSpan.FromSeconds(frameAt ?? 1.0)) : stack.Decoder.DecodeFile(path);
                var r = stack.Engine.AnalyzeSingle(frame);
                if (r.Ok) templates.Add(new NewTemplate(stack.Engine.ModelId, r.Embedding!, r.QualityScore));
                else problems.Add(new JsonObject { ["image"] = path, ["code"] = Codes.Of(r.Rejection!.Value), ["message"] = r.Detail });
            }
            catch (ImageDecodeException e)
            {
                problems.Add(new JsonObject { ["image"] = path, ["code"] = Codes.Of(e.Error), ["message"] = e.Message });
            }
            catch (CameraException e)
            {
                problems.Add(new JsonObject { ["image"] = path, ["code"] = "video_unreadable", ["message"] = e.Message });
            }
        }
        if (problems.Count > 0)
            throw new CliErrorWithDetails("enrol_rejected", $"{problems.Count} of {images.Count} images unusable; nothing was enrolled", problems);
        var outcome = store.Enrol(KeepingAccess(store, id, name), templates);
        return new JsonObject
        {
            ["id"] = outcome.Person.Id,
            ["name"] = outcome.Person.Name,
            ["created"] = outcome.Created,
            ["templates_added"] = outcome.TemplateIds.Count,
            ["templates_total"] = store.GetTemplates(id).Count,
            ["model_id"] = stack.Engine.ModelId,
        };
    }

    /// <summary>
    /// Adding photos to someone already enrolled must not quietly reset their access rules (enabled, validity, schedule,
    /// set over MQTT) to the defaults.
    /// </summary>
    internal static PersonEnrolment KeepingAccess(IGalleryStore store, string id, string name) =>
        store.GetPerson(id) is { } p ? new PersonEnrolment(id, name, p.Enabled, p.ValidFrom, p.ValidUntil, p.Schedule) : new PersonEnrolment(id, name);

    public static JsonObject Identify(FaceStack stack, IGalleryStore store, string image)
    {
        var modelId = stack.Engine.ModelId;
        stack.Matcher.Load(store.LoadTemplates(modelId));
        var stale = store.CountTemplatesNotFrom(modelId);
        using var frame = stack.Decoder.DecodeFile(image);
        var r = stack.Engine.AnalyzeSingle(frame);
        var result = new JsonObject { ["image"] = image, ["gallery_persons"] = stack.Matcher.PersonCount };
        if (stale > 0)
            result["warning"] = $"{stale} templates were made by another model or recipe and are ignored; re-enrol those people";
        if (!r.Ok)
        {
            result["recognised"] = false;
            result["reason"] = Codes.Of(r.Rejection!.Value);
            result["message"] = r.Detail;
            return result;
        }
        var id = stack.Matcher.Identify(r.Embedding);
        result["recognised"] = id.Outcome == IdentifyOutcome.Recognised;
        result["reason"] = id.Outcome switch
        {
            IdentifyOutcome.Recognised => null,
            IdentifyOutcome.BelowThreshold => "unknown",
            IdentifyOutcome.Ambiguous => "ambiguous",
            _ => "empty_gallery",
        };
        if (id.PersonId is { } pid)
        {
            var person = store.GetPerson(pid);
            result["person"] = new JsonObject { ["id"] = pid, ["name"] = person?.Name };
        }
        result["similarity"] = id.Best is null ? null : CliOutput.Round(id.Best.Similarity);
        result["p_same"] = id.Best is null ? null : CliOutput.Round(id.Best.PSame);
        result["best_candidate"] = id.Best?.PersonId;
        result["runner_up"] = id.Runner is null ? null : new JsonObject { ["id"] = id.Runner.PersonId, ["similarity"] = CliOutput.Round(id.Runner.Similarity) };
        result["threshold"] = stack.Matcher.Options.IdentifyThreshold;
        result["margin"] = stack.Matcher.Options.IdentifyMargin;
        return result;
    }

    public static JsonObject List(IGalleryStore store)
    {
        var persons = new JsonArray();
        foreach (var p in store.ListPersons())
        {
            var templates = store.GetTemplates(p.Id);
            persons.Add(new JsonObject
            {
                ["id"] = p.Id,
                ["name"] = p.Name,
                ["enabled"] = p.Enabled,
                ["valid_from"] = p.ValidFrom?.ToString("O"),
                ["valid_until"] = p.ValidUntil?.ToString("O"),
                ["schedule"] = p.Schedule is null ? null : JsonNode.Parse(p.Schedule.ToJson()),
                ["templates"] = templates.Count,
                ["models"] = new JsonArray(templates.Select(t => t.ModelId).Distinct().Select(m => (JsonNode)m!).ToArray()),
            });
        }
        return new JsonObject { ["count"] = persons.Count, ["persons"] = persons };
    }

    public static void PrintList(JsonObject list)
    {
        var table = new Table().AddColumns("id", "name", "enabled", "templates", "valid from", "valid until");
        foreach (var p in list["persons"]!.AsArray())
            table.AddRow(Markup.Escape((string)p!["id"]!), Markup.Escape((string)p["name"]!), p["enabled"]!.ToString(),
                p["templates"]!.ToString(), (string?)p["valid_from"] ?? "-", (string?)p["valid_until"] ?? "-");
        AnsiConsole.Write(table);
    }
}

/// <summary>A CLI error carrying per-item details (e.g. each rejected enrolment image).</summary>
public sealed class CliErrorWithDetails(string code, string message, JsonArray details) : Exception(message)
{
    public string Code { get; } = code;
    public JsonArray Details { get; } = details;
}

/// <summary>Stable snake_case error codes shared by CLI JSON and (later) MQTT replies.</summary>
public static class Codes
{
    public static string Of(FaceRejection r) => r switch
    {
        FaceRejection.NoFace => "no_face",
        FaceRejection.MultipleFaces => "multiple_faces",
        FaceRejection.FaceTooSmall => "face_too_small",
        FaceRejection.TooBlurry => "too_blurry",
        FaceRejection.ExtremePose => "extreme_pose",
        _ => r.ToString(),
    };

    public static string Of(ImageDecodeError e) => e switch
    {
        ImageDecodeError.NotFound => "image_not_found",
        ImageDecodeError.Empty => "image_empty",
        ImageDecodeError.TooLarge => "image_too_large",
        ImageDecodeError.Unsupported => "image_unsupported",
        ImageDecodeError.Corrupt => "image_corrupt",
        ImageDecodeError.Timeout => "image_timeout",
        _ => e.ToString(),
    };
}

/// <summary>One frame of a video file, for enrolling someone from a recording of the door camera.</summary>
internal static class FrameGrabber
{
    private static readonly string[] VideoExtensions = [".mp4", ".mpg", ".mpeg", ".mkv", ".avi", ".mov", ".webm", ".ts"];

    public static bool IsVideo(string path) => VideoExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>The first frame at or after <paramref name="at"/> (the last frame when the video is shorter).</summary>
    public static EdgeGate.Core.Frames.BgrFrame Grab(string path, TimeSpan at)
    {
        if (!File.Exists(path)) throw new ImageDecodeException(ImageDecodeError.NotFound, $"{path}: no such file");
        var spec = EdgeGate.Core.Capture.CameraSourceSpec.Parse(Path.GetFullPath(path), new EdgeGate.Core.Capture.CameraSourceOptions { RealTime = false });
        using var source = new EdgeGate.Camera.GstFrameSource(spec);
        source.Start();
        CapturedFrame? last = null;
        try
        {
            while (true)
            {
                var status = source.Read(TimeSpan.FromSeconds(10), out var frame);
                if (status == FrameReadStatus.Timeout) throw new CameraException($"{path}: no frame within 10 s");
                if (status == FrameReadStatus.EndOfStream) break;
                last?.Dispose();
                last = frame;
                if (frame!.StreamTime >= at) break;
            }
            if (last is null) throw new CameraException($"{path}: the video has no frames");
            var image = last.Image;
            last = null; // ownership of the pixels passes to the caller
            return image;
        }
        finally
        {
            last?.Dispose();
        }
    }
}

/// <summary><c>import</c>: a folder per person, as staff keep them; unusable photos are skipped and reported, not fatal.</summary>
internal static class ImportCommand
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png"];

    public static JsonObject Import(FaceStack stack, IGalleryStore store, string root, bool progress)
    {
        if (!Directory.Exists(root)) throw new CliError("not_found", $"no such directory: {root}");
        var folders = Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal).ToList();
        if (folders.Count == 0) throw new CliError("empty_import", $"{root} has no sub-folders (expected one folder per person)");
        var enrolled = new JsonArray();
        var skipped = new JsonArray();
        var failed = new JsonArray();
        var templatesAdded = 0;
        void ImportAll(Action? step)
        {
            foreach (var folder in folders)
            {
                var id = Path.GetFileName(folder);
                var templates = new List<NewTemplate>();
                var images = Directory.GetFiles(folder)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .OrderBy(f => f, StringComparer.Ordinal).ToList();
                foreach (var image in images)
                {
                    try
                    {
                        using var frame = stack.Decoder.DecodeFile(image);
                        var r = stack.Engine.AnalyzeSingle(frame);
                        if (r.Ok) templates.Add(new NewTemplate(stack.Engine.ModelId, r.Embedding!, r.QualityScore));
                        else skipped.Add(new JsonObject { ["image"] = image, ["code"] = Codes.Of(r.Rejection!.Value), ["message"] = r.Detail });
                    }
                    catch (ImageDecodeException e)
                    {
                        skipped.Add(new JsonObject { ["image"] = image, ["code"] = Codes.Of(e.Error), ["message"] = e.Message });
                    }
                }
                if (templates.Count == 0)
                    failed.Add(new JsonObject { ["id"] = id, ["message"] = images.Count == 0 ? "no JPEG/PNG files" : "no usable face in any photo" });
                else
                {
                    store.Enrol(GalleryCommands.KeepingAccess(store, id, id.Replace('_', ' ')), templates);
                    templatesAdded += templates.Count;
                    enrolled.Add(id);
                }
                step?.Invoke();
            }
        }
        if (progress)
            AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("importing", maxValue: folders.Count);
                ImportAll(() => task.Increment(1));
            });
        else ImportAll(null);
        return new JsonObject
        {
            ["people"] = enrolled.Count,
            ["templates_added"] = templatesAdded,
            ["enrolled"] = enrolled,
            ["skipped_images"] = skipped,
            ["failed_people"] = failed,
            ["model_id"] = stack.Engine.ModelId,
        };
    }
}
