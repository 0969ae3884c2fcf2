using EdgeGate.Cli;
using EdgeGate.Composition;
using EdgeGate.ModelPrep;
using EdgeGate.Onnx;

namespace EdgeGate.Integration.Tests.ModelPrep;

/// <summary>
/// Prepares the fast embedder once per test class into a temp folder, verified on 16 real aligned faces; also
/// aligns 16 other faces the preparation never saw. Null results when the face photos are missing (not under CI).
/// </summary>
public sealed class PreparedModelFixture : IDisposable
{
    public const int FacesForPreparation = 16;

    public PreparedModelFixture()
    {
        Stack = FaceStack.Create(new FaceStackOptions { IntraOpThreads = 2, EmbedderVariant = EmbedderVariants.Original });
        OriginalPath = Path.Combine(AssetLocator.ModelsDirectory(Stack.AssetsRoot), EmbedderVariants.OriginalFileName);
        var faces = TestData.IsCi ? TestData.RequireFaces() : TestData.FacesDirOrNull();
        if (faces is null) return;
        var aligned = ModelCommand.AlignedFaces(Stack, Path.Combine(faces, "people"), 2 * FacesForPreparation);
        PreparationFaces = aligned.Take(FacesForPreparation).ToList();
        UnseenFaces = aligned.Skip(FacesForPreparation).ToList();
        Prepared = ModelPreparer.PrepareFast(Stack.Runtime, new PrepareOptions
        {
            Source = OriginalPath,
            OutputDirectory = Path.Combine(Dir, "prepared"),
            AlignedFaces = PreparationFaces,
            FaceSource = "test faces",
            Threads = 2,
        });
    }

    public string Dir { get; } = Directory.CreateTempSubdirectory("edgegate-modelprep-").FullName;
    public FaceStack Stack { get; }
    public string OriginalPath { get; }
    public IReadOnlyList<byte[]> PreparationFaces { get; } = [];
    public IReadOnlyList<byte[]> UnseenFaces { get; } = [];
    public PrepareResult? Prepared { get; }

    public void Dispose()
    {
        Stack.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
