using System.Reflection;
using System.Security.Cryptography;
using LSeg.MLNet.IO;

namespace LSeg.MLNet.Package;

/// <summary>
/// The default model package, embedded in the LSeg.MLNet.DefaultModel assembly (resources
/// <c>LSeg.DefaultModel/&lt;file&gt;</c>, from the repository's <c>models/default/</c> at build time). LSeg.MLNet does
/// not reference that assembly: an application that references it (the LSeg.MLNet.DefaultModel package or project) has
/// it in its dependencies, where it is found by name; an application that brings its own model does not carry it.
/// It is extracted once per manifest hash to a cache directory.
/// </summary>
internal static class DefaultModelPackage
{
    internal const string ResourcePrefix = "LSeg.DefaultModel/";

    /// <summary>Name of the assembly (and package) that carries the default model.</summary>
    internal const string AssemblyName = "LSeg.MLNet.DefaultModel";

    private static readonly Lazy<Assembly?> Assembly = new(FindAssembly);
    private static readonly object ExtractLock = new();

    /// <summary>True when the application carries the default model (LSeg.MLNet.DefaultModel, built with models/default/ in place).</summary>
    public static bool IsEmbedded => Assembly.Value?.GetManifestResourceInfo(ResourcePrefix + ModelManifest.FileName) is not null;

    private static Assembly? FindAssembly()
    {
        try
        {
            return System.Reflection.Assembly.Load(new AssemblyName(AssemblyName));
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            return null;
        }
    }

    /// <summary>Extracts the embedded package (if not already there, verified) and returns its directory.</summary>
    /// <exception cref="InvalidOperationException">The application carries no default model.</exception>
    public static string Extract() => ExtractVerified().Directory;

    /// <summary>
    /// Extracts the embedded package (if not already there) and returns its directory with its manifest, every file
    /// of which has just been checked against its size and sha256 (so a loader need not hash them again).
    /// </summary>
    /// <exception cref="InvalidOperationException">The application carries no default model.</exception>
    public static (string Directory, ModelManifest Manifest) ExtractVerified()
    {
        if (Assembly.Value is null)
            throw new InvalidOperationException(
                $"No default model: the application does not reference {AssemblyName} (add the {AssemblyName} package, or a project reference to src/{AssemblyName}). " +
                "Or load a model package with LanguageSegmentationModel.Load(path).");
        if (!IsEmbedded)
            throw new InvalidOperationException(
                $"{AssemblyName} holds no default model: models/default/ (manifest.json and its graphs) was absent when it was built. " +
                "Load a model package with LanguageSegmentationModel.Load(path), or rebuild with models/default/ in place.");
        var assembly = Assembly.Value;
        byte[] manifestBytes = ReadResource(assembly, ModelManifest.FileName);
        string version = Convert.ToHexStringLower(SHA256.HashData(manifestBytes))[..16];
        string directory = Path.Combine(PrivateTempFolder.Create("lseg-default-model"), version);
        lock (ExtractLock)
        {
            if (IsThisVersion(directory, manifestBytes))
            {
                try
                {
                    return (directory, ModelManifest.ReadVerified(directory));
                }
                catch (Exception e) when (e is IOException or InvalidDataException)
                {
                    // A damaged cache is rebuilt below.
                }
            }
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
            else if (File.Exists(directory))
                File.Delete(directory);  // a file where the copy belongs (the folder is this user's own): it would fail every load
            try
            {
                var manifest = AtomicDirectory.Write(directory, staging =>
                {
                    foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
                    {
                        using var resource = assembly.GetManifestResourceStream(name)!;
                        using var file = File.Create(Path.Combine(staging, name[ResourcePrefix.Length..]));
                        resource.CopyTo(file);
                    }
                    return ModelManifest.ReadVerified(staging);
                }, overwrite: false);
                return (directory, manifest);
            }
            catch (IOException) when (IsThisVersion(directory, manifestBytes))
            {
                // Another process extracted the same version at the same time; use its copy.
                return (directory, ModelManifest.ReadVerified(directory));
            }
        }
    }

    /// <summary>
    /// True when <paramref name="directory"/> holds exactly the embedded manifest: the files are then checked against
    /// the hashes the assembly carries, not against a manifest anyone who can write to the temporary folder could edit.
    /// </summary>
    private static bool IsThisVersion(string directory, byte[] manifestBytes)
    {
        string path = Path.Combine(directory, ModelManifest.FileName);
        try
        {
            return File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(manifestBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static byte[] ReadResource(Assembly assembly, string fileName)
    {
        using var stream = assembly.GetManifestResourceStream(ResourcePrefix + fileName)!;
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
