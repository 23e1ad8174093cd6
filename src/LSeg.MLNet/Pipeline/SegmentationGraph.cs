using System.Security.Cryptography;
using Google.Protobuf;
using LSeg.MLNet.IO;
using LSeg.MLNet.Package;
using Onnx;

namespace LSeg.MLNet.Pipeline;

/// <summary>
/// Composes the package's image encoder and head into the one ONNX graph the ML.NET pipeline applies. ApplyOnnxModel
/// takes fixed-size vectors only, so the pixels (planar, at the image's own model input size) arrive zero-padded in a
/// vector of a fixed capacity with their [1, 3, H, W] shape beside them, and so do the label embeddings with their
/// [N, C] shape; the graph slices both back out. Outputs with image-dependent sizes become flat vectors. The graph
/// depends neither on the labels nor on the image size, so every label set and image shares one ONNX Runtime session.
/// </summary>
internal static class SegmentationGraph
{
    public const string PixelsColumn = PipelineColumns.Pixels;
    public const string PixelShapeColumn = PipelineColumns.PixelShape;
    public const string LabelEmbeddingsColumn = "__LSeg_LabelEmbeddings";
    public const string LabelShapeColumn = "__LSeg_LabelShape";
    public const string LabelMapColumn = "__LSeg_LabelMap";
    public const string ScoresColumn = "__LSeg_Scores";
    public const string LabelCountColumn = "__LSeg_LabelCount";
    public const string PixelEmbeddingsColumn = "__LSeg_PixelEmbeddings";

    private const string HeadPrefix = "head/";

    /// <summary>
    /// Writes (once per content, content-addressed) the composed graph for model inputs of up to <paramref name="maxSide"/> ×
    /// <paramref name="maxSide"/> pixels under the temporary folder and returns its path.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model's package is gone from disk (see <see cref="LanguageSegmentationModel.RequirePackageFiles"/>).</exception>
    public static string WriteComposed(LanguageSegmentationModel model, int maxSide)
    {
        model.RequirePackageFiles();
        var encoder = ReadWithExternalData(model.ImageEncoderPath);
        var head = ReadWithExternalData(model.HeadPath);
        var composed = Compose(encoder, head, maxSide, model.Manifest.EmbeddingSize);
        byte[] bytes = composed.ToByteArray();
        string hash = Convert.ToHexStringLower(SHA256.HashData(bytes))[..HashLength];
        string directory = PrivateTempFolder.Create("lseg-mlnet-graphs");
        string path = Path.Combine(directory, $"{FilePrefix}{maxSide}-{hash}.onnx");
        if (!IsIntact(path))
        {
            AtomicFile.WriteAllBytes(path, bytes);
        }
        else
        {
            try
            {
                File.SetLastWriteTimeUtc(path, DateTime.UtcNow);  // marks it in use for the clean-up below
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Only the clean-up's age check reads it: at worst the graph is composed again after a week.
            }
        }
        DeleteUnusedGraphs(directory, path);
        return path;
    }

    private const string FilePrefix = "segmentation-";
    private const int HashLength = 24;

    /// <summary>
    /// True when <paramref name="path"/> exists and its content hashes to the hash its name carries: a composed graph is
    /// run and, at <c>Model.Save</c>, copied into the zip as it is on disk, so a file altered or truncated since it was
    /// written (or written by someone else) is composed again instead of trusted on its name.
    /// </summary>
    internal static bool IsIntact(string path)
    {
        string name = Path.GetFileNameWithoutExtension(path);
        if (!name.StartsWith(FilePrefix, StringComparison.Ordinal) || name.Length < HashLength || !File.Exists(path))
            return false;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            return Convert.ToHexStringLower(SHA256.HashData(stream)).AsSpan(0, HashLength).SequenceEqual(name.AsSpan(name.Length - HashLength));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>How long a composed graph no pipeline has asked for stays in the temporary folder.</summary>
    internal static readonly TimeSpan UnusedGraphLifetime = TimeSpan.FromDays(7);

    /// <summary>
    /// Deletes composed graphs (and abandoned staging files) not written or used for <see cref="UnusedGraphLifetime"/>:
    /// each package and input size adds one file of the model's size, which would otherwise pile up. A file another
    /// process still holds open is left for a later clean-up.
    /// </summary>
    private static void DeleteUnusedGraphs(string directory, string keep)
    {
        var cutoff = DateTime.UtcNow - UnusedGraphLifetime;
        // Staging files are AtomicFile's hidden siblings: .segmentation-….onnx.GUID.tmp.
        foreach (string file in Directory.EnumerateFiles(directory, "segmentation-*").Concat(Directory.EnumerateFiles(directory, ".segmentation-*")))
        {
            if (file == keep || File.GetLastWriteTimeUtc(file) >= cutoff)
                continue;
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    internal static ModelProto Compose(ModelProto encoder, ModelProto head, int maxSide, int embeddingSize)
    {
        var graph = new GraphProto { Name = "lseg_segmentation" };
        var e = encoder.Graph;
        var h = head.Graph;

        // Image encoder, unchanged, fed from the first 3·H·W values of the padded pixel vector, reshaped to [1, 3, H, W].
        graph.Input.Add(Tensor(PixelsColumn, TensorProto.Types.DataType.Float, 3L * maxSide * maxSide));
        graph.Input.Add(Tensor(PixelShapeColumn, TensorProto.Types.DataType.Int64, 4));
        graph.Initializer.Add(Int64Constant("lseg/zero", 0));
        graph.Node.Add(Node("ReduceProd", [PixelShapeColumn], "lseg/pixel_values", OnnxProtos.Attribute("keepdims", 1)));
        graph.Node.Add(Node("Slice", [PixelsColumn, "lseg/zero", "lseg/pixel_values", "lseg/zero"], "lseg/pixels_flat"));
        graph.Node.Add(Node("Reshape", ["lseg/pixels_flat", PixelShapeColumn], "pixels"));
        foreach (var initializer in e.Initializer)
            AddWeight(graph, initializer);
        graph.Node.AddRange(e.Node);
        // Intermediate value_info is optional, and ML.NET's ApplyOnnxModel rejects a graph whose value_info names a
        // type it cannot map (float16 weights before their Cast), so none is kept.
        graph.SparseInitializer.AddRange(e.SparseInitializer);

        // Head, every name prefixed so it cannot collide with the encoder's.
        // Label embeddings arrive zero-padded in a fixed-size vector with their [N, C] shape beside them.
        graph.Input.Add(Tensor(LabelEmbeddingsColumn, TensorProto.Types.DataType.Float, LabelPackingMapping.Capacity));
        graph.Input.Add(Tensor(LabelShapeColumn, TensorProto.Types.DataType.Int64, 2));
        graph.Node.Add(Node("ReduceProd", [LabelShapeColumn], "lseg/label_values", OnnxProtos.Attribute("keepdims", 1)));
        graph.Node.Add(Node("Slice", [LabelEmbeddingsColumn, "lseg/zero", "lseg/label_values", "lseg/zero"], "lseg/label_embeddings_flat"));
        graph.Node.Add(Node("Reshape", ["lseg/label_embeddings_flat", LabelShapeColumn], HeadPrefix + "label_embeddings"));
        // The N logit offsets follow the N·C embeddings in the packed vector, then the offered-label count and the
        // catch-all index (LabelPackingMapping).
        graph.Initializer.Add(Int64Constant("lseg/one", 1));
        graph.Initializer.Add(Int64Constant("lseg/two", 2));
        graph.Node.Add(Node("Slice", [LabelShapeColumn, "lseg/zero", "lseg/one", "lseg/zero"], "lseg/label_count"));
        graph.Node.Add(Node("Add", ["lseg/label_values", "lseg/label_count"], "lseg/label_values_and_offsets"));
        if (h.Input.Any(input => input.Name == LanguageSegmentationModel.LabelLogitOffsetsInput))
            graph.Node.Add(Node("Slice", [LabelEmbeddingsColumn, "lseg/label_values", "lseg/label_values_and_offsets", "lseg/zero"], HeadPrefix + LanguageSegmentationModel.LabelLogitOffsetsInput));
        graph.Node.Add(Node("Add", ["lseg/label_values_and_offsets", "lseg/two"], "lseg/fold_end"));
        graph.Node.Add(Node("Slice", [LabelEmbeddingsColumn, "lseg/label_values_and_offsets", "lseg/fold_end", "lseg/zero"], "lseg/fold_values"));
        graph.Node.Add(Node("Cast", ["lseg/fold_values"], "lseg/fold", OnnxProtos.Attribute("to", (long)TensorProto.Types.DataType.Int64)));
        graph.Node.Add(Node("Slice", ["lseg/fold", "lseg/zero", "lseg/one", "lseg/zero"], "lseg/offered_count"));
        graph.Node.Add(Node("Slice", ["lseg/fold", "lseg/one", "lseg/two", "lseg/zero"], "lseg/catch_all"));
        graph.Node.Add(Identity("pixel_embeddings", HeadPrefix + "pixel_embeddings"));
        foreach (var initializer in h.Initializer)
        {
            var copy = initializer.Clone();
            copy.Name = HeadPrefix + copy.Name;
            AddWeight(graph, copy);
        }
        foreach (var node in h.Node)
        {
            var copy = node.Clone();
            copy.Name = HeadPrefix + copy.Name;
            for (int i = 0; i < copy.Input.Count; i++)
                if (copy.Input[i].Length > 0)
                    copy.Input[i] = HeadPrefix + copy.Input[i];
            for (int i = 0; i < copy.Output.Count; i++)
                if (copy.Output[i].Length > 0)
                    copy.Output[i] = HeadPrefix + copy.Output[i];
            if (copy.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0))
                throw new InvalidDataException($"The head graph's node '{node.Name}' ({node.OpType}) has a subgraph; the ML.NET pipeline cannot compose such a head.");
            graph.Node.Add(copy);
        }

        // A trained name the catch-all absorbs (an index at or past the offered labels) reports as the catch-all, as
        // LabelEmbeddings.FoldAbsorbed does on the low-level path.
        graph.Node.Add(Node("Less", [HeadPrefix + "label_map", "lseg/offered_count"], "lseg/offered_winner"));
        graph.Node.Add(Node("Where", ["lseg/offered_winner", HeadPrefix + "label_map", "lseg/catch_all"], LabelMapColumn));
        graph.Node.Add(Identity(HeadPrefix + "scores", ScoresColumn));
        graph.Node.Add(Identity("pixel_embeddings", PixelEmbeddingsColumn));
        graph.Node.Add(Identity("lseg/offered_count", LabelCountColumn));

        graph.Output.Add(Tensor(LabelMapColumn, TensorProto.Types.DataType.Int64, 1, -1, -1));
        graph.Output.Add(Tensor(ScoresColumn, TensorProto.Types.DataType.Float, 1, -1, -1));
        graph.Output.Add(Tensor(LabelCountColumn, TensorProto.Types.DataType.Int64, 1));
        graph.Output.Add(Tensor(PixelEmbeddingsColumn, TensorProto.Types.DataType.Float, 1, embeddingSize, -1, -1));

        var model = new ModelProto
        {
            IrVersion = Math.Max(encoder.IrVersion, head.IrVersion),
            ProducerName = "LSeg.MLNet",
            Graph = graph,
        };
        foreach (var group in encoder.OpsetImport.Concat(head.OpsetImport).GroupBy(o => o.Domain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = group.Key, Version = group.Max(o => o.Version) });
        return model;
    }

    /// <summary>
    /// Adds a weight to the composed graph: as an initializer, or, when float16 (stored that way to halve the package), as a
    /// Constant node of the same name. ML.NET's ApplyOnnxModel reads the type of every initializer and knows no float16;
    /// a Constant is not an initializer to it, while ONNX Runtime turns it into one when it loads the graph. Widening the
    /// weights to float32 instead doubled the composed graph (77 MB for the default model), the copy of it ML.NET parses
    /// and keeps, and the copy <c>Model.Save</c> writes into the zip.
    /// </summary>
    private static void AddWeight(GraphProto graph, TensorProto tensor)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float16)
        {
            graph.Initializer.Add(tensor);
            return;
        }
        graph.Node.Add(OnnxProtos.Node("Constant", tensor.Name + "_Constant", [], [tensor.Name],
            new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = tensor }));
    }

    /// <summary>
    /// Reads an ONNX file and moves any external-data weights inside it (ApplyOnnxModel saves one file only). External
    /// data must be a file in the graph's own folder, read within its bounds: as ONNX Runtime requires of its sessions,
    /// a graph may not pull in bytes from elsewhere on the machine (<c>/home/…</c>, <c>../…</c>), and a length taken
    /// from the file is checked before anything is allocated.
    /// </summary>
    /// <exception cref="InvalidDataException">An initializer's external data lies outside the folder, or outside its file.</exception>
    internal static ModelProto ReadWithExternalData(string path)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        string directory = Path.GetFullPath(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string name = Path.GetFileName(path);
        foreach (var tensor in model.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External))
        {
            var entries = tensor.ExternalData.ToDictionary(kv => kv.Key, kv => kv.Value);
            if (!entries.TryGetValue("location", out string? location) || string.IsNullOrEmpty(location))
                throw new InvalidDataException($"'{name}': initializer '{tensor.Name}' keeps its data externally but names no location.");
            string file = Path.GetFullPath(Path.Combine(directory, location));
            if (Path.IsPathRooted(location) || !file.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new InvalidDataException($"'{name}': initializer '{tensor.Name}' keeps its data in '{location}', outside the package folder; external data must be a file beside the graph.");
            if (!File.Exists(file))
                throw new FileNotFoundException($"'{name}': initializer '{tensor.Name}' keeps its data in '{location}', which is missing.", file);
            long fileLength = new FileInfo(file).Length;
            long offset = 0, length;
            if (entries.TryGetValue("offset", out var o) && !long.TryParse(o, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset))
                throw new InvalidDataException($"'{name}': initializer '{tensor.Name}' has external data offset '{o}'; it must be a whole number of bytes.");
            if (!entries.TryGetValue("length", out var l))
                length = fileLength - offset;
            else if (!long.TryParse(l, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out length))
                throw new InvalidDataException($"'{name}': initializer '{tensor.Name}' has external data length '{l}'; it must be a whole number of bytes.");
            if (offset > fileLength || length < 0 || length > fileLength - offset || length > Array.MaxLength)
                throw new InvalidDataException($"'{name}': initializer '{tensor.Name}' reads {length} bytes at offset {offset} of '{location}', which holds {fileLength}.");
            var buffer = new byte[length];
            using (var stream = File.OpenRead(file))
            {
                stream.Seek(offset, SeekOrigin.Begin);
                stream.ReadExactly(buffer);
            }
            tensor.RawData = ByteString.CopyFrom(buffer);
            tensor.ExternalData.Clear();
            tensor.DataLocation = TensorProto.Types.DataLocation.Default;
        }
        return model;
    }

    private static NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes) =>
        OnnxProtos.Node(op, output + "_" + op, inputs, [output], attributes);

    private static TensorProto Int64Constant(string name, long value) => OnnxTensors.Int64(name, [value], 1);

    private static NodeProto Identity(string input, string output) => Node("Identity", [input], output);

    // Negative dimensions are dynamic: named d0, d1, … by position.
    private static ValueInfoProto Tensor(string name, TensorProto.Types.DataType type, params long[] dims) =>
        OnnxProtos.TensorValue(name, type, [.. dims.Select((dim, i) => dim < 0 ? (object)("d" + i) : dim)]);
}
