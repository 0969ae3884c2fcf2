using System.Runtime.InteropServices;

namespace EdgeGate.Interop;

/// <summary>File ownership, which .NET has no managed API for (provisioning hands key files to the daemon's account).</summary>
internal static partial class Posix
{
    // "libc" is mapped by the .NET loader to the platform C library (libc.so.6 on glibc).
    private const string Library = "libc";

    /// <summary>uid_t and gid_t are 32-bit on Linux (x86_64 and arm64); (uint)-1 leaves that id unchanged.</summary>
    public const uint Unchanged = uint.MaxValue;

    [LibraryImport(Library, EntryPoint = "chown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int ChownNative(string path, uint owner, uint group);

    [LibraryImport(Library, EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    public static void Chown(string path, uint owner, uint group)
    {
        if (ChownNative(path, owner, group) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot change the owner of '{path}' to {owner}:{group}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }
}
