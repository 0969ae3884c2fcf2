using System.Text.Json.Nodes;
using EdgeGate.Core.Ports;
using EdgeGate.Composition;
using EdgeGate.ModelPrep;
using EdgeGate.Onnx;

namespace EdgeGate.Cli;

/// <summary><c>edgegate model prepare</c>: the verified fast embedder and its model card.</summary>
public static class ModelCommand
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png"];

    /// <summary>The photos to verify on: --faces, else $EDGEGATE_FACES/people.</summary>
    public static string FacesDirectory(string? option)
    {
        if (!string.IsNullOrEmpty(option)) return option;
        if (Environment.GetEnvironmentVariable("EDGEGATE_FACES") is { Length: > 0 } env) return Path.Combine(env, "people");
        throw new CliError("missing_faces", "model prepare verifies on real faces: pass --faces DIR (photos, searched recursively) or set EDGEGATE_FACES");
    }

    public static JsonObject Prepare(string? sourceOption, string? facesOption, string? outputOption, int maxFaces, double tolerance, int threads)
    {
        if (maxFaces < ModelPreparer.MinimumFaces) throw new CliError("invalid_argument", $"--max-faces must be at least {ModelPreparer.MinimumFaces}");
        var faces = FacesDirectory(facesOption);
        if (!Directory.Exists(faces)) throw new CliError("missing_faces", $"faces folder not found: {faces}");
        // The original embedder aligns the faces; the fast one is what is being checked.
        using var stack = FaceStack.Create(new FaceStackOptions { IntraOpThreads = threads, EmbedderVariant = EmbedderVariants.Original });
        var source = sourceOption ?? Path.Combine(AssetLocator.ModelsDirectory(stack.AssetsRoot), EmbedderVariants.OriginalFileName);
        OnnxGraphs.Read(source); // a missing or corrupt model fails now, before the faces are aligned
        var aligned = AlignedFaces(stack, faces, maxFaces);
        var output = Path.GetFullPath(outputOption ?? AssetLocator.PreparedDirectory(stack.AssetsRoot));
        PrepareResult result;
        try
        {
            result = ModelPreparer.PrepareFast(stack.Runtime, new PrepareOptions
            {
                Source = source,
                OutputDirectory = output,
                AlignedFaces = aligned,
                FaceSource = $"{aligned.Count} faces from {Path.GetFullPath(faces)}",
                Tolerance = tolerance,
                Threads = threads,
            });
        }
        catch (ModelRefusedException e) { throw new CliError("model_refused", e.Message); }
        var c = result.Card;
        return new JsonObject
        {
            ["variant"] = c.Variant,
            ["model"] = result.ModelPath,
            ["card"] = result.CardPath,
            ["source_sha256"] = c.SourceSha256,
            ["sha256"] = c.Sha256,
            ["nodes_replaced"] = c.NodesReplaced,
            ["faces"] = c.Verification.Faces,
            ["max_abs_diff"] = c.Verification.MaxAbsDiff,
            ["min_cosine"] = c.Verification.MinCosine,
            ["tolerance"] = c.Verification.Tolerance,
        };
    }

    /// <summary>The largest face of each photo (sorted paths, so the set is repeatable), aligned as the product aligns it.</summary>
    public static List<byte[]> AlignedFaces(FaceStack stack, string directory, int max)
    {
        var aligned = new List<byte[]>();
        var photos = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(p => ImageExtensions.Contains(Path.GetExtension(p).ToLowerInvariant()))
            .Order(StringComparer.Ordinal);
        foreach (var photo in photos)
        {
            if (aligned.Count >= max) break;
            try
            {
                using var frame = stack.Decoder.DecodeFile(photo);
                if (stack.Engine.Observe(frame) is [var face, ..]) aligned.Add(face.AlignedBgr);
            }
            catch (ImageDecodeException) { } // not every file in a folder need be a usable photo
        }
        return aligned;
    }
}
