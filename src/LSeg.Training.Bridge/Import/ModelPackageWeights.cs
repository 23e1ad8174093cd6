using LSeg.MLNet.Package;
using LSeg.MLNet.Pipeline;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.ImageEncoders;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Import;

/// <summary>
/// Reads the weights of a model package back into a TorchSharp <see cref="LSegNet"/>, so that training can start from
/// any package (the default model, an imported official checkpoint, an earlier fine-tune). The exporter names every
/// initializer by its state-dict key; this undoes its storage choices (float16 copies named <c>key::fp16</c>, linear
/// weights stored transposed for MatMul) and checks every key and shape.
/// </summary>
internal sealed class ModelPackageWeights
{
    private const string Float16Suffix = "::fp16";

    // Weights the forward pass never uses, so the exporter writes none: BatchNorm's step counters, and the first
    // residual unit of the deepest fusion block (it has no skip input; the official network carries it unused too).
    private static readonly string[] NotExportedKeyPatterns = [".num_batches_tracked", "scratch.refinenet4.resConfUnit1."];

    private readonly string _packagePath;
    private readonly Dictionary<string, CheckpointTensor> _tensors;

    private ModelPackageWeights(string packagePath, ModelManifest manifest, LSegNetConfig config, Dictionary<string, CheckpointTensor> tensors, bool float16)
    {
        _packagePath = packagePath;
        Manifest = manifest;
        Config = config;
        _tensors = tensors;
        StoredAsFloat16 = float16;
    }

    /// <summary>The package's manifest.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>
    /// The network the package describes: backbone, embedding size, temperature and spatial block from the manifest;
    /// decoder width and backbone size from the weights' shapes (<see cref="BackboneShapes"/>).
    /// </summary>
    public LSegNetConfig Config { get; }

    /// <summary>True when the package stores its weights as float16 (they read back as float32 of those values).</summary>
    public bool StoredAsFloat16 { get; }

    /// <summary>Verifies the package in <paramref name="packagePath"/> and reads its image-encoder and head initializers (once).</summary>
    /// <exception cref="InvalidDataException">The package is damaged or was not written by this project's exporter.</exception>
    public static ModelPackageWeights Read(string packagePath)
    {
        // A package directory or its manifest.json, as every package reader takes.
        packagePath = ModelManifest.PackageDirectory(packagePath);
        var manifest = ModelManifest.ReadVerified(packagePath);
        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        bool float16 = false;
        foreach (string graph in new[] { manifest.Graphs.ImageEncoder, manifest.Graphs.Head })
        {
            var model = SegmentationGraph.ReadWithExternalData(Path.Combine(packagePath, graph));
            foreach (var initializer in model.Graph.Initializer)
            {
                float16 |= initializer.Name.EndsWith(Float16Suffix, StringComparison.Ordinal);
                tensors.TryAdd(StripFloat16(initializer.Name), ToCheckpointTensor(initializer, graph));
            }
        }
        if (!tensors.ContainsKey("scratch.layer1_rn.weight"))
            throw new InvalidDataException($"'{packagePath}' has no initializer 'scratch.layer1_rn.weight': it was not written by this project's exporter.");
        var shapes = new BackboneShapes(tensors);
        var spatial = manifest.SpatialRegularization;
        LSegNetConfig config;
        try
        {
            config = new LSegNetConfig
            {
                Backbone = manifest.Backbone,
                EmbeddingSize = manifest.EmbeddingSize,
                DecoderFeatures = shapes.DecoderFeatures,
                Temperature = manifest.Temperature,
                SpatialBlock = Enum.Parse<SpatialBlock>(spatial.Block, ignoreCase: true),
                SpatialDepth = spatial.Depth,
                Activation = Enum.Parse<SpatialActivation>(spatial.Activation, ignoreCase: true),
                ReducedBackbone = shapes.Size(manifest.Backbone),
            };
            config.Validate();
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            throw new InvalidDataException($"Model package '{packagePath}' describes no network this library builds: {e.Message}", e);
        }
        return new ModelPackageWeights(packagePath, manifest, config, tensors, float16);
    }

    /// <summary>
    /// Copies the package's weights into <paramref name="net"/>. Every state-dict key must be in the package with its
    /// shape, except the few the forward pass never uses (left as they are), and the package's pixel normalisation must
    /// be the network's.
    /// </summary>
    /// <exception cref="InvalidDataException">Keys are missing, shapes differ (the message lists each), or the pixel normalisation differs.</exception>
    public void LoadInto(LSegNet net)
    {
        RequirePixelNormalization(net.PixelNormalization);
        var tensors = new Dictionary<string, CheckpointTensor>(_tensors, StringComparer.Ordinal);
        var linearWeights = net.named_modules().Where(m => m.module is Linear).Select(m => m.name + ".weight").ToHashSet(StringComparer.Ordinal);
        var expected = net.state_dict();
        foreach (string key in linearWeights.Where(tensors.ContainsKey))
            tensors[key] = Transposed(tensors[key]);
        foreach (var (key, value) in expected.Where(e => !tensors.ContainsKey(e.Key) && IsNotExported(e.Key)))
            tensors[key] = OwnValue(value, key);

        StrictWeightLoader.Load(net, tensors, $"the LSeg network of '{_packagePath}'", "");
    }

    /// <summary>The normalisation is part of the backbone, not a setting: a package that records another one was not written from this network.</summary>
    private void RequirePixelNormalization(PixelNormalization network)
    {
        var package = Manifest.Pixels;
        if (package.BackboneChannelOrder != network.ChannelOrder || !package.Mean.SequenceEqual(network.Mean) || !package.Std.SequenceEqual(network.Std))
        {
            throw new InvalidDataException(
                $"Model package '{_packagePath}' normalises pixels as {Describe(package.BackboneChannelOrder, package.Mean, package.Std)}, but its {Config.Backbone} backbone " +
                $"normalises them as {Describe(network.ChannelOrder, network.Mean, network.Std)}; the package was not written from this network.");
        }
        static string Describe(string order, float[] mean, float[] std) =>
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{order} mean [{string.Join(", ", mean)}] std [{string.Join(", ", std)}]");
    }

    /// <summary>True for the state-dict keys a package never carries (weights the forward pass does not use).</summary>
    internal static bool IsNotExported(string key) => NotExportedKeyPatterns.Any(key.Contains);

    private static string StripFloat16(string name) => name.EndsWith(Float16Suffix, StringComparison.Ordinal) ? name[..^Float16Suffix.Length] : name;

    private static CheckpointTensor ToCheckpointTensor(TensorProto tensor, string graph)
    {
        var dtype = (TensorProto.Types.DataType)tensor.DataType switch
        {
            TensorProto.Types.DataType.Float => ScalarType.Float32,
            TensorProto.Types.DataType.Float16 => ScalarType.Float16,
            TensorProto.Types.DataType.Int64 => ScalarType.Int64,
            var other => throw new InvalidDataException($"Initializer '{tensor.Name}' of '{graph}' has element type {other}; expected FLOAT, FLOAT16 or INT64."),
        };
        long[] shape = tensor.Dims.ToArray();
        // The graph's own buffer, not a copy: a ViT-L/16 package holds 1.2 GB of weights.
        return new CheckpointTensor(dtype, shape, RowMajorStrides(shape), 0, new BytesStorage(tensor.RawData.Memory, $"initializer '{tensor.Name}' of '{graph}'"));
    }

    /// <summary>The network's own value of a weight the package does not carry, so the strict check passes and it stays as it is.</summary>
    private static CheckpointTensor OwnValue(Tensor value, string key)
    {
        using var contiguous = value.detach().cpu().contiguous();
        long[] shape = contiguous.shape;
        return new CheckpointTensor(contiguous.dtype, shape, RowMajorStrides(shape), 0, new BytesStorage(contiguous.bytes.ToArray(), $"the network's own '{key}'"));
    }

    private static long[] RowMajorStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        for (long i = shape.Length - 1, stride = 1; i >= 0; stride *= shape[i], i--)
            strides[i] = stride;
        return strides;
    }

    /// <summary>The exporter stores a linear weight [out, in] as its transpose [in, out] for MatMul: read it back as a strided view.</summary>
    private static CheckpointTensor Transposed(CheckpointTensor stored)
    {
        if (stored.Shape.Length != 2)
            throw new InvalidDataException($"A linear weight in the package has shape {stored.ShapeText}; expected 2 dimensions.");
        return new CheckpointTensor(stored.DType, [stored.Shape[1], stored.Shape[0]], [stored.Stride[1], stored.Stride[0]], stored.StorageOffset, stored.Storage);
    }

    private sealed class BytesStorage(ReadOnlyMemory<byte> bytes, string description) : ICheckpointStorage
    {
        public string Description => description;

        public long ByteLength => bytes.Length;

        public byte[] Read(long offset, int count) => bytes.Span.Slice((int)offset, count).ToArray();
    }
}
