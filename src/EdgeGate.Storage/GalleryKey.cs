using System.Security.Cryptography;
using System.Text;
using EdgeGate.Core.Commands;

namespace EdgeGate.Storage;

/// <summary>
/// Where the gallery's template key lives and what to do when it is not there. The key file holds ≥ 32 random bytes
/// (hex or base64, mode 0600); AES-256 keys are derived from it with HKDF-SHA256, so the file format does not fix the
/// cipher.
/// </summary>
/// <remarks>
/// Policy when the file is missing (<see cref="CreateIfMissing"/>): a new random key is written (0600) only while the
/// gallery holds no encrypted template (a new gallery, or a plaintext one about to be encrypted in place). A gallery
/// that already holds encrypted templates is never given a new key: that would leave every template unreadable and
/// invite a silent re-enrolment, so opening fails with an error naming the key file.
/// </remarks>
public sealed class GalleryKey
{
    public const int MinKeyBytes = 32;
    public const string What = "template key file";
    private static readonly byte[] KdfInfo = Encoding.ASCII.GetBytes("edgegate gallery templates v1");

    private GalleryKey(string path, bool createIfMissing)
    {
        Path = System.IO.Path.GetFullPath(path);
        CreateIfMissing = createIfMissing;
    }

    public string Path { get; }
    public bool CreateIfMissing { get; }

    /// <summary>The key at <paramref name="path"/>; created there when missing and the gallery holds no encrypted template.</summary>
    public static GalleryKey File(string path, bool createIfMissing = true) => new(path, createIfMissing);

    /// <summary>The default key file beside a gallery file: <c>template.key</c> in the same directory.</summary>
    public static string DefaultPathFor(string galleryPath) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(galleryPath))!, "template.key");

    /// <summary>Reads (or, by the policy above, creates) the key and returns the AES-256 key derived from it.</summary>
    /// <param name="encryptedTemplates">how many encrypted templates the gallery holds (0 allows creating a key).</param>
    /// <param name="created">true when this call wrote a new key file.</param>
    internal byte[] Resolve(long encryptedTemplates, string galleryPath, out bool created)
    {
        created = false;
        if (!System.IO.File.Exists(Path))
        {
            if (encryptedTemplates > 0)
                throw new InvalidDataException(
                    $"{What} '{Path}' does not exist, and gallery '{galleryPath}' holds {encryptedTemplates} templates encrypted with a key: " +
                    "restore that key file (a new key cannot read them; nothing was changed)");
            if (!CreateIfMissing)
                throw new InvalidDataException($"{What} '{Path}' does not exist");
            var directory = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            var fresh = RandomNumberGenerator.GetBytes(MinKeyBytes);
            try
            {
                SecretKeyFile.CreateNew(Path, fresh);
                created = true;
            }
            catch (IOException) when (System.IO.File.Exists(Path))
            {
                // Another process (the CLI, or the daemon's other gallery connection) created it first: use theirs.
            }
        }
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, SecretKeyFile.Read(Path, What, MinKeyBytes), 32, salt: null, info: KdfInfo);
    }
}
