using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests;

/// <summary>
/// Locates the shared face photos: <c>$EDGEGATE_FACES</c>, else <c>shared/faces</c> beside the repository
/// (the folder holding EdgeGate.sln). Missing data fails a CI run (CI=true) and skips a local one.
/// </summary>
public static class TestData
{
    public static bool IsCi => Environment.GetEnvironmentVariable("CI") == "true";

    public static string? FacesDirOrNull() => Directory.Exists(FacesCandidate()) ? FacesCandidate() : null;

    /// <summary>The faces folder, or an exception that says where it was looked for.</summary>
    public static string RequireFaces() => FacesDirOrNull() ?? throw new InvalidOperationException(
        $"face photos not found at '{FacesCandidate()}': set EDGEGATE_FACES or put them in shared/faces beside the repository"
        + (IsCi ? " (CI=true, so this is a failure, not a skip)" : ""));

    /// <summary>
    /// The faces folder; when it is missing, throws under CI and otherwise logs why and returns null
    /// (xunit 2 cannot skip at run time, so the caller returns early).
    /// </summary>
    public static string? FacesOrSkip(ITestOutputHelper output)
    {
        if (FacesDirOrNull() is { } dir) return dir;
        if (IsCi) return RequireFaces(); // throws
        output.WriteLine($"SKIPPED: no face photos at '{FacesCandidate()}' (set EDGEGATE_FACES)");
        return null;
    }

    private static string FacesCandidate() =>
        Environment.GetEnvironmentVariable("EDGEGATE_FACES") is { Length: > 0 } fromEnv
            ? Path.GetFullPath(fromEnv)
            : RepoRoot() is { } root ? Path.GetFullPath(Path.Combine(root, "..", "shared", "faces")) : "(no EdgeGate.sln above the test binaries)";

    private static string? RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeGate.sln"))) return dir.FullName;
        }
        return null;
    }
}
