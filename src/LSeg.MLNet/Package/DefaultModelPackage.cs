using System.Reflection;
using System.Security.Cryptography;

namespace LSeg.MLNet.Package;

/// <summary>
/// The default model package embedded in LSeg.MLNet (resources <c>LSeg.DefaultModel/&lt;file&gt;</c>, from the
/// repository's <c>models/default/</c> at build time). It is extracted once per manifest hash to a cache directory.
/// </summary>
internal static class DefaultModelPackage
{
    internal const string ResourcePrefix = "LSeg.DefaultModel/";

    private static readonly Assembly Assembly = typeof(DefaultModelPackage).Assembly;
    private static readonly object ExtractLock = new();

    /// <summary>True when the build embedded a default model.</summary>
    public static bool IsEmbedded => Assembly.GetManifestResourceInfo(ResourcePrefix + ModelManifest.FileName) is not null;

    /// <summary>Extracts the embedded package (if not already there, verified) and returns its directory.</summary>
    /// <exception cref="InvalidOperationException">The build has no default model.</exception>
    public static string Extract()
    {
        if (!IsEmbedded)
            throw new InvalidOperationException(
                "This build of LSeg.MLNet has no default model: models/default/ (manifest.json and its graphs) was absent when LSeg.MLNet was built. " +
                "Load a model package with LanguageSegmentationModel.Load(path), or rebuild with models/default/ in place.");
        byte[] manifestBytes = ReadResource(ModelManifest.FileName);
        string version = Convert.ToHexStringLower(SHA256.HashData(manifestBytes))[..16];
        string directory = Path.Combine(Path.GetTempPath(), "lseg-default-model", version);
        lock (ExtractLock)
        {
            if (File.Exists(Path.Combine(directory, ModelManifest.FileName)))
            {
                try
                {
                    ModelManifest.FromJson(File.ReadAllText(Path.Combine(directory, ModelManifest.FileName))).VerifyFiles(directory);
                    return directory;
                }
                catch (Exception e) when (e is IOException or InvalidDataException)
                {
                    // A damaged cache is rebuilt below.
                }
            }
            string staging = directory + ".tmp-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8];
            Directory.CreateDirectory(staging);
            foreach (string name in Assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
            {
                using var resource = Assembly.GetManifestResourceStream(name)!;
                using var file = File.Create(Path.Combine(staging, name[ResourcePrefix.Length..]));
                resource.CopyTo(file);
            }
            ModelManifest.FromJson(File.ReadAllText(Path.Combine(staging, ModelManifest.FileName))).VerifyFiles(staging);
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
            try
            {
                Directory.Move(staging, directory);
            }
            catch (IOException) when (File.Exists(Path.Combine(directory, ModelManifest.FileName)))
            {
                // Another process extracted the same version at the same time; use its copy.
                Directory.Delete(staging, recursive: true);
            }
            return directory;
        }
    }

    private static byte[] ReadResource(string fileName)
    {
        using var stream = Assembly.GetManifestResourceStream(ResourcePrefix + fileName)!;
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
