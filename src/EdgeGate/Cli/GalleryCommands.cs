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
    public static JsonObject Enrol(FaceStack stack, IGalleryStore store, string id, string name, IReadOnlyList<string> images)
    {
        var templates = new List<NewTemplate>();
        var problems = new JsonArray();
        foreach (var path in images)
        {
            try
            {
                using var frame = stack.Decoder.DecodeFile(path);
                var r = stack.Engine.AnalyzeSingle(frame);
                if (r.Ok) templates.Add(new NewTemplate(stack.Engine.ModelId, r.Embedding!, r.QualityScore));
                else problems.Add(new JsonObject { ["image"] = path, ["code"] = Codes.Of(r.Rejection!.Value), ["message"] = r.Detail });
            }
            catch (ImageDecodeException e)
            {
                problems.Add(new JsonObject { ["image"] = path, ["code"] = Codes.Of(e.Error), ["message"] = e.Message });
            }
        }
        if (problems.Count > 0)
            throw new CliErrorWithDetails("enrol_rejected", $"{problems.Count} of {images.Count} images unusable; nothing was enrolled", problems);
        var outcome = store.Enrol(new PersonEnrolment(id, name), templates);
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
