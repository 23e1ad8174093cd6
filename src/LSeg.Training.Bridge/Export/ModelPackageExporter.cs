using LSeg.MLNet;
using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Export;

/// <summary>
/// Writes an <see cref="LSegNet"/> as a model package (docs/model-package.md), at the lowest format version that holds it:
/// <c>image_encoder.onnx</c>, <c>pixel_projection.onnx</c>, <c>head.onnx</c>, the MiniLM text encoder for a
/// <c>minilm</c> package, the caller's extra files (text encoder graph, tokenizer), then <c>manifest.json</c> with the
/// size and sha256 of every file. Writing is atomic: everything goes to a sibling temporary directory that is renamed into
/// place only when complete, so a failed or interrupted export leaves no package at the target path.
/// </summary>
public static class ModelPackageExporter
{
    /// <summary>The pixel projection graph's file name inside a package.</summary>
    internal const string PixelProjectionFileName = "pixel_projection.onnx";

    private static readonly string[] ReservedNames = [ModelManifest.FileName, PixelProjectionFileName];

    /// <summary>Exports <paramref name="net"/> (in inference mode) to the package directory <paramref name="directory"/>.</summary>
    /// <returns>The manifest written.</returns>
    /// <exception cref="IOException">The target exists and <see cref="ModelPackageExportOptions.Overwrite"/> is false.</exception>
    /// <exception cref="FileNotFoundException">An additional file's source is missing.</exception>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static ModelManifest Export(LSegNet net, string directory, ModelPackageExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new ModelPackageExportOptions();
        string target = PackageDirectoryWriter.TargetPath(directory);
        CheckOptions(options, target);

        bool wasTraining = net.training;
        net.eval();
        try
        {
            return PackageDirectoryWriter.Write(target, options.Overwrite, temporary => WritePackage(net, temporary, options));
        }
        finally
        {
            if (wasTraining)
                net.train();
        }
    }

    private static ModelManifest WritePackage(LSegNet net, string directory, ModelPackageExportOptions options)
    {
        var graphs = new GraphFiles { PixelProjection = PixelProjectionFileName };
        var imageEncoder = new OnnxGraphBuilder("lseg_image_encoder", options.StoreWeightsAsFloat16);
        net.ExportImageEncoderOnnx(imageEncoder);
        OnnxModelFile.Save(imageEncoder.BuildModel(), Path.Combine(directory, graphs.ImageEncoder), options.ExternalDataThresholdBytes);

        var projection = new OnnxGraphBuilder("lseg_pixel_projection", options.StoreWeightsAsFloat16);
        net.ExportPixelProjectionOnnx(projection);
        OnnxModelFile.Save(projection.BuildModel(), Path.Combine(directory, graphs.PixelProjection), options.ExternalDataThresholdBytes);

        var head = new OnnxGraphBuilder("lseg_head", options.StoreWeightsAsFloat16);
        net.ExportHeadOnnx(head, withLabelLogitOffsets: options.LabelLogitOffsets.Count > 0);
        OnnxModelFile.Save(head.BuildModel(), Path.Combine(directory, graphs.Head), options.ExternalDataThresholdBytes);

        foreach (var (name, source) in options.AdditionalFiles)
        {
            string destination = Path.Combine(directory, name);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination, overwrite: false);
        }
        foreach (var write in options.AdditionalWriters)
            write(directory);
        var textEncoder = options.TextEncoder;
        if (CopiesMiniLm(options))
            textEncoder = MiniLmPackageFiles.Write(directory, textEncoder, options.StoreWeightsAsFloat16);

        var files = PackageDirectoryWriter.DescribeFiles(directory);
        CheckTextEncoderFiles(textEncoder, files);

        var config = net.Config;
        var normalization = net.PixelNormalization;
        var manifest = new ModelManifest
        {
            FormatVersion = ModelManifest.MinimumFormatVersion(graphs, options.LabelLogitOffsets, options.UntrainedLabels, textEncoder),
            Name = options.Name,
            Backbone = config.Backbone,
            EmbeddingSize = config.EmbeddingSize,
            Temperature = config.Temperature,
            InputSizeMultiple = LSegNet.InputSizeMultiple,
            DefaultInputSize = options.DefaultInputSize,
            EmbeddingStride = 2,
            Pixels = new PixelFormat { BackboneChannelOrder = normalization.ChannelOrder, Mean = normalization.Mean, Std = normalization.Std },
            SpatialRegularization = new SpatialRegularizationInfo
            {
                Block = config.SpatialBlock.ToString().ToLowerInvariant(),
                Depth = config.SpatialDepth,
                Activation = config.Activation.ToString().ToLowerInvariant(),
            },
            TextEncoder = textEncoder,
            Graphs = graphs,
            LabelLogitOffsets = options.LabelLogitOffsets.Count > 0 ? new Dictionary<string, double>(options.LabelLogitOffsets) : null,
            UntrainedLabels = options.UntrainedLabels?.Copy(),
            Files = files,
            Provenance = new Dictionary<string, string>(options.Provenance),
        };
        PackageDirectoryWriter.WriteManifest(directory, manifest);
        return manifest;
    }

    private static void CheckOptions(ModelPackageExportOptions options, string target)
    {
        if (File.Exists(target))
            throw new IOException($"'{target}' is a file; a model package is a directory.");
        if (Directory.Exists(target) && !options.Overwrite)
            throw new IOException($"'{target}' already exists; set {nameof(ModelPackageExportOptions.Overwrite)} to replace it, or choose another directory.");
        if (options.ExternalDataThresholdBytes < 0)
            throw new ArgumentException($"{nameof(ModelPackageExportOptions.ExternalDataThresholdBytes)} must be 0 or more; got {options.ExternalDataThresholdBytes}.", nameof(options));
        // The reader's range (ModelManifest): a package with another default size would be written, then refused at load.
        int minSize = LanguageSegmentationModelOptions.Defaults.MinInputSize, maxSize = LanguageSegmentationModelOptions.Defaults.MaxInputSize;
        if (options.DefaultInputSize < minSize || options.DefaultInputSize > maxSize || options.DefaultInputSize % LSegNet.InputSizeMultiple != 0)
            throw new ArgumentException($"{nameof(ModelPackageExportOptions.DefaultInputSize)} must be a multiple of {LSegNet.InputSizeMultiple} from {minSize} to {maxSize}; got {options.DefaultInputSize}.", nameof(options));
        try
        {
            ModelManifest.CheckLabelLogitOffsets(options.LabelLogitOffsets, nameof(ModelPackageExportOptions.LabelLogitOffsets));
            options.UntrainedLabels?.Validate(nameof(ModelPackageExportOptions.UntrainedLabels));
            if (options.UntrainedLabels is not null && options.LabelLogitOffsets.Count == 0)
                throw new InvalidDataException($"{nameof(ModelPackageExportOptions.UntrainedLabels)} lowers the labels of {nameof(ModelPackageExportOptions.LabelLogitOffsets)}, which gives none.");
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException(e.Message, nameof(options), e);
        }
        var graphs = new GraphFiles();
        string[] reserved = CopiesMiniLm(options) ? [.. ReservedNames, MiniLmPackageFiles.GraphFileName, MiniLmPackageFiles.VocabularyFileName] : ReservedNames;
        foreach (var (name, source) in options.AdditionalFiles)
        {
            if (Path.IsPathRooted(name) || name.Split('/', '\\').Any(part => part is "" or "." or ".."))
                throw new ArgumentException($"Additional file name '{name}' must be a relative path inside the package.", nameof(options));
            if (reserved.Contains(name) || name == graphs.ImageEncoder || name == graphs.Head || name.StartsWith(graphs.ImageEncoder + ".", StringComparison.Ordinal) || name.StartsWith(graphs.Head + ".", StringComparison.Ordinal))
                throw new ArgumentException($"Additional file name '{name}' is reserved for the package's own files.", nameof(options));
            if (!File.Exists(source))
                throw new FileNotFoundException($"Additional file '{name}' should be copied from '{source}', which does not exist.", source);
        }
    }

    /// <summary>
    /// The files of <paramref name="manifest"/>'s package that an export of a network does not write again: all but the
    /// image encoder, pixel projection and head graphs (with their external data), i.e. the text encoder's graph, data,
    /// tokenizer or label table. An upgrade or a fine-tune copies them unchanged.
    /// </summary>
    internal static IEnumerable<string> FilesNotRewritten(ModelManifest manifest)
    {
        var rewritten = new[] { manifest.Graphs.ImageEncoder, manifest.Graphs.Head, manifest.Graphs.PixelProjection }.OfType<string>().ToArray();
        return manifest.Files.Keys.Where(name => !rewritten.Any(graph => name == graph || name.StartsWith(graph + ".", StringComparison.Ordinal)));
    }

    private static bool CopiesMiniLm(ModelPackageExportOptions options) => options.TextEncoder is { Kind: "minilm", Graph: null } && options.IncludeMiniLm;

    private static void CheckTextEncoderFiles(TextEncoderInfo textEncoder, Dictionary<string, PackageFile> files)
    {
        foreach (var (role, name) in new[] { ("graph", textEncoder.Graph), ("tokenizer", textEncoder.Tokenizer), ("table", textEncoder.Table), ("projection", textEncoder.Projection) })
        {
            if (name is not null && !files.ContainsKey(name))
                throw new InvalidOperationException(
                    $"The manifest's text encoder names {role} '{name}', but the package has no such file; add it with {nameof(ModelPackageExportOptions.AdditionalFiles)} or {nameof(ModelPackageExportOptions.AdditionalWriters)}.");
        }
    }
}
