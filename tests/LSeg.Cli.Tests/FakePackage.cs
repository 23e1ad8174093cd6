using System.Security.Cryptography;
using LSeg.MLNet.Package;

namespace LSeg.Cli.Tests;

/// <summary>
/// A package directory whose manifest lists files with their true sizes and hashes, computed here with .NET's SHA256
/// (the graphs are placeholders: enough for commands that only read the manifest).
/// </summary>
internal static class FakePackage
{
    public static string Create(string directory, params (string Name, byte[] Bytes)[] files)
    {
        Directory.CreateDirectory(directory);
        var listed = new Dictionary<string, PackageFile>();
        foreach (var (name, bytes) in files)
        {
            File.WriteAllBytes(Path.Combine(directory, name), bytes);
            listed[name] = new PackageFile { Bytes = bytes.Length, Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)) };
        }
        var manifest = new ModelManifest
        {
            Name = "fake-resnet18-minilm",
            Backbone = "resnet18",
            EmbeddingSize = 384,
            TextEncoder = new TextEncoderInfo { Kind = "minilm", ContextLength = 256 },
            Files = listed,
        };
        File.WriteAllText(Path.Combine(directory, ModelManifest.FileName), manifest.ToJson());
        return directory;
    }
}
