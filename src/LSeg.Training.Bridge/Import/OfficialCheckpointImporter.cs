using System.Diagnostics;
using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Import.Pickle;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.TextEncoders;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Import;

/// <summary>
/// Turns the official lang-seg checkpoint (<c>demo_e200.ckpt</c>: PyTorch Lightning, DPT ViT-L/16 + CLIP ViT-B/32)
/// or a plain <c>LSegNet.state_dict()</c> file (.pt or safetensors) into a model package that LSeg.MLNet runs,
/// with no Python. The image side (<c>net.pretrained.*</c>, <c>net.scratch.*</c>) and CLIP's text tower are kept
/// (float16 cast to float32); CLIP's image tower, the ViT's unused norm and classifier, and the optimizer state are
/// dropped. The file is untrusted: its pickle may construct only tensors, dicts and a few inert classes.
/// </summary>
public static class OfficialCheckpointImporter
{
    /// <summary>The CLIP BPE merges file name inside a package.</summary>
    public const string ClipBpeFileName = "bpe_simple_vocab_16e6.txt.gz";

    /// <summary>Imports <paramref name="checkpointPath"/> into a new model package at <paramref name="outputDirectory"/>.</summary>
    /// <param name="checkpointPath">A Lightning <c>.ckpt</c>, a <c>torch.save</c> state dict, or a safetensors file.</param>
    /// <param name="clipBpePath">OpenAI CLIP's <c>bpe_simple_vocab_16e6.txt.gz</c>, copied into the package for the tokenizer.</param>
    /// <param name="outputDirectory">The package directory to create; it appears only once complete.</param>
    /// <param name="options">Spatial block settings, overwrite, logging; null for defaults.</param>
    /// <returns>What was detected, kept, dropped and written.</returns>
    /// <exception cref="FileNotFoundException">The checkpoint or the BPE file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated, or does not fit the network (missing keys, shape mismatches).</exception>
    /// <exception cref="UnsafeCheckpointException">The checkpoint's pickle names a class or function that is not allowed.</exception>
    /// <exception cref="IOException">The output exists and <see cref="OfficialCheckpointImportOptions.Overwrite"/> is false.</exception>
    public static OfficialCheckpointImportReport Import(string checkpointPath, string clipBpePath, string outputDirectory, OfficialCheckpointImportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        ArgumentException.ThrowIfNullOrEmpty(clipBpePath);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        options ??= new OfficialCheckpointImportOptions();
        var stopwatch = Stopwatch.StartNew();
        CheckClipBpe(clipBpePath);
        if (!options.Overwrite && (Directory.Exists(outputDirectory) || File.Exists(outputDirectory)))
            throw new IOException($"The output '{outputDirectory}' already exists; choose another path or allow overwriting.");

        using var checkpoint = CheckpointFile.Open(checkpointPath, options.AdditionalInertClasses);
        options.Log?.Invoke($"Read {checkpoint.Kind} '{checkpointPath}': {checkpoint.Tensors.Count} tensors in the state dict.");
        var layout = OfficialCheckpointLayout.Split(checkpoint.Tensors, checkpointPath);
        var warnings = new List<string>();
        if (layout.Unrelated.Count > 0)
            Warn(warnings, options, $"Ignored {layout.Unrelated.Count} state-dict keys outside the LSeg network: {Abbreviate(layout.Unrelated)}.");

        var (spatialBlock, spatialDepth) = ResolveSpatialBlock(layout, options);
        var networkConfig = layout.NetworkConfig(spatialBlock, spatialDepth, options.SpatialActivation);
        var textConfig = layout.TextConfig();
        if (textConfig.EmbeddingSize != networkConfig.EmbeddingSize)
            throw new InvalidDataException($"The CLIP text tower embeds labels in {textConfig.EmbeddingSize} dimensions ('{layout.KeyPrefix}clip_pretrained.text_projection') but the image side in {networkConfig.EmbeddingSize} ('{layout.KeyPrefix}scratch.head1.weight'); they must agree.");
        options.Log?.Invoke($"Detected backbone {networkConfig.Backbone}{(networkConfig.ReducedBackbone is null ? "" : " (reduced size)")}, C = {networkConfig.EmbeddingSize}, spatial block {networkConfig.SpatialBlock}; CLIP text width {textConfig.Width}, {textConfig.Layers} layers.");

        // Both models are checked against the checkpoint before any weight is read, so one message lists every problem.
        // The text tower is then loaded, written and released before the image network is loaded and exported, so that
        // peak memory holds one model's ONNX copy at a time. Its graph waits in a sibling staging folder until the
        // exporter copies it into the package.
        using var network = LSegNet.Create(networkConfig, pretrainedBackbone: false);
        var text = new ClipTextTransformer(textConfig);
        string imageWhat = $"the {networkConfig.Backbone} LSeg network";
        const string textWhat = "the CLIP text transformer";
        string textPrefix = layout.KeyPrefix + OfficialCheckpointLayout.ClipPrefix;
        var problems = StrictWeightLoader.Problems(network, layout.ImageTensors, imageWhat, layout.KeyPrefix)
            .Concat(StrictWeightLoader.Problems(text, layout.TextTensors, textWhat, textPrefix))
            .ToList();
        if (problems.Count > 0)
        {
            text.Dispose();
            throw new InvalidDataException($"The checkpoint does not fit the detected network ({networkConfig.Backbone}, CLIP width {textConfig.Width}). {string.Join(" ", problems)}");
        }

        string staging = StagingDirectory(outputDirectory);
        ModelManifest manifest;
        IReadOnlyList<string> unexpectedImage;
        try
        {
            string textGraph = Path.Combine(staging, ClipTextEncoderExporter.PackageFileName);
            IReadOnlyList<string> textFiles;
            using (text)
            {
                var unexpectedText = StrictWeightLoader.Load(text, layout.TextTensors, textWhat, textPrefix);
                if (unexpectedText.Count > 0)
                    throw new InvalidDataException($"The CLIP text tower has keys the text transformer does not: {Abbreviate(unexpectedText.Select(k => textPrefix + k))}. Only CLIP's own text tower (token and positional embeddings, residual blocks, ln_final, text_projection) is supported.");
                text.eval();
                textFiles = ClipTextEncoderExporter.Export(text, textGraph, externalDataThresholdBytes: options.ExternalDataThresholdBytes);
            }
            options.Log?.Invoke($"Wrote the CLIP text encoder graph ({layout.TextTensors.Count} tensors).");

            unexpectedImage = LoadImageSide(network, layout, imageWhat);
            if (unexpectedImage.Count > 0)
                Warn(warnings, options, $"Ignored {unexpectedImage.Count} image-side keys the network does not have: {Abbreviate(unexpectedImage.Select(k => layout.KeyPrefix + k))}.");
            network.eval();
            // Reading the checkpoint left one large-object-heap array per tensor behind; return that memory before
            // the exporter makes its own copy of every weight.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            options.Log?.Invoke($"Loaded {layout.ImageTensors.Count - unexpectedImage.Count} image-side tensors; exporting the image encoder and head graphs.");

            var exportOptions = new ModelPackageExportOptions
            {
                Name = options.Name ?? $"lseg-{networkConfig.Backbone}-clip-vitb32",
                TextEncoder = new TextEncoderInfo
                {
                    Kind = "clip",
                    Graph = ClipTextEncoderExporter.PackageFileName,
                    Tokenizer = ClipBpeFileName,
                    ContextLength = textConfig.ContextLength,
                },
                AdditionalFiles = { [ClipBpeFileName] = clipBpePath },
                Provenance = Provenance(checkpointPath, checkpoint),
                Overwrite = options.Overwrite,
                ExternalDataThresholdBytes = options.ExternalDataThresholdBytes,
                DefaultInputSize = options.DefaultInputSize,
            };
            // The graph and, past the threshold, its external data (text_encoder.onnx.data), which the graph names.
            foreach (string file in textFiles)
                exportOptions.AdditionalFiles[Path.GetFileName(file)] = file;
            manifest = ModelPackageExporter.Export(network, outputDirectory, exportOptions);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }

        long keptBytes = layout.ImageTensors.Values.Concat(layout.TextTensors.Values).Sum(t => t.ByteSize(ScalarType.Float32));
        var report = new OfficialCheckpointImportReport
        {
            CheckpointKind = checkpoint.Kind,
            Network = networkConfig,
            Text = textConfig,
            ImageTensorCount = layout.ImageTensors.Count - unexpectedImage.Count,
            TextTensorCount = layout.TextTensors.Count,
            KeptBytes = keptBytes,
            Dropped = layout.Dropped,
            Warnings = warnings,
            CheckpointMetadata = checkpoint.Metadata,
            Manifest = manifest,
            Elapsed = stopwatch.Elapsed,
            PeakWorkingSetBytes = Process.GetCurrentProcess().PeakWorkingSet64,
        };
        options.Log?.Invoke($"Wrote '{outputDirectory}' in {report.Elapsed.TotalSeconds:F1} s ({keptBytes / 1e6:F0} MB of float32 weights).");
        return report;
    }

    /// <summary>
    /// Loads the image side strictly: every key of the network must be in the checkpoint with its shape. Checkpoint keys
    /// the network lacks are returned; those that would change the computation (a spatial block the configuration
    /// does not apply) are errors.
    /// </summary>
    private static IReadOnlyList<string> LoadImageSide(LSegNet network, OfficialCheckpointLayout layout, string what)
    {
        var unexpected = StrictWeightLoader.Load(network, layout.ImageTensors, what, layout.KeyPrefix);
        var harmful = unexpected.Where(k => k.StartsWith("scratch.head_block.", StringComparison.Ordinal) || k.StartsWith("pretrained.model.blocks.", StringComparison.Ordinal)).ToList();
        if (harmful.Count > 0)
            throw new InvalidDataException($"The checkpoint has weights the detected network would not use, which would change its output: {Abbreviate(harmful.Select(k => layout.KeyPrefix + k))}.");
        return unexpected;
    }

    private static (SpatialBlock Block, int Depth) ResolveSpatialBlock(OfficialCheckpointLayout layout, OfficialCheckpointImportOptions options)
    {
        var requested = options.SpatialBlock ?? SpatialBlock.None;
        if (layout.HasSpatialBlock && requested == SpatialBlock.None)
            throw new InvalidDataException(
                $"The checkpoint has a spatial regularisation block ('{layout.KeyPrefix}scratch.head_block.*'), but its kind, depth and activation are not stored in the file. " +
                "Give them as the model was trained (lang-seg --arch_option 1 = bottleneck, 2 = depthwise; --block_depth; --activation).");
        if (!layout.HasSpatialBlock && requested != SpatialBlock.None)
            throw new InvalidDataException($"A {requested} spatial block was requested, but the checkpoint has no spatial regularisation weights ('{layout.KeyPrefix}scratch.head_block.*'): it was trained without one.");
        if (requested != SpatialBlock.None && options.SpatialDepth is < 1 or > 4)
            throw new ArgumentException($"The spatial block depth must be 1 to 4 for a {requested} block; got {options.SpatialDepth}.", nameof(options));
        return (requested, requested == SpatialBlock.None ? 0 : options.SpatialDepth);
    }

    /// <summary>A fresh hidden folder beside the output (same file system, so nothing large crosses devices).</summary>
    private static string StagingDirectory(string outputDirectory)
    {
        string target = Path.GetFullPath(outputDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        string parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        string staging = Path.Combine(parent, $".{Path.GetFileName(target)}.import-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        return staging;
    }

    private static void CheckClipBpe(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The CLIP BPE merges file '{path}' does not exist. It is OpenAI CLIP's bpe_simple_vocab_16e6.txt.gz (MIT licence), needed to tokenize labels.", path);
        Span<byte> magic = stackalloc byte[2];
        using var stream = File.OpenRead(path);
        if (stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false) < 2 || magic[0] != 0x1f || magic[1] != 0x8b)
            throw new InvalidDataException($"'{path}' is not a gzip file; the CLIP BPE merges file is bpe_simple_vocab_16e6.txt.gz.");
    }

    private static Dictionary<string, string> Provenance(string checkpointPath, CheckpointFile checkpoint)
    {
        var provenance = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["importedFrom"] = Path.GetFileName(checkpointPath),
            ["checkpointKind"] = checkpoint.Kind,
            ["importer"] = $"LSeg.Training.Bridge {typeof(OfficialCheckpointImporter).Assembly.GetName().Version}",
        };
        foreach (var (key, value) in checkpoint.Metadata)
            provenance[$"checkpoint.{key}"] = value;
        return provenance;
    }

    private static void Warn(List<string> warnings, OfficialCheckpointImportOptions options, string warning)
    {
        warnings.Add(warning);
        options.Log?.Invoke("warning: " + warning);
    }

    private static string Abbreviate(IEnumerable<string> keys)
    {
        var list = keys.ToList();
        const int shown = 20;
        string text = string.Join(", ", list.Take(shown).Select(k => $"'{k}'"));
        return list.Count > shown ? $"{text} and {list.Count - shown} more" : text;
    }
}
