using Google.Protobuf;
using LSeg.MLNet;
using LSeg.MLNet.Package;
using LSeg.MLNet.Pipeline;
using LSeg.Shared;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Quantization;
using LSeg.Training.Bridge.Tests.Export;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace LSeg.Training.Bridge.Tests.Quantization;

/// <summary>
/// <c>lseg quantize</c> on a small exported package: static QDQ (calibrated) must run as integer convolutions in
/// ONNX Runtime, stay close to the float encoder, keep <c>head1</c> float, and leave the other files as they were.
/// </summary>
public sealed class ModelPackageQuantizerTests : IDisposable
{
    private static readonly string[] Labels = ["a", "b", "c", "d"];

    private readonly ExportTestNets.TempDirectory _temp = new();
    private readonly string _package;
    private readonly string[] _images;

    public ModelPackageQuantizerTests()
    {
        using var net = ExportTestNets.Random(new LSegNetConfig { EmbeddingSize = 16, DecoderFeatures = 16 });
        var generator = new Random(3);
        File.WriteAllText(_temp.PathOf("labels.json"), System.Text.Json.JsonSerializer.Serialize(Labels.ToDictionary(l => l, _ => Enumerable.Range(0, 16).Select(_ => (float)generator.NextDouble() - 0.5f).ToArray())));
        _package = _temp.PathOf("float");
        ModelPackageExporter.Export(net, _package, new ModelPackageExportOptions
        {
            DefaultInputSize = 96,
            TextEncoder = new TextEncoderInfo { Kind = "table", Table = "labels.json" },
            AdditionalFiles = { ["labels.json"] = _temp.PathOf("labels.json") },
        });
        Directory.CreateDirectory(_temp.PathOf("images"));
        _images = ColourBlockImage.WriteFiles(_temp.PathOf("images"), 5, 96, 64);
    }

    public void Dispose() => _temp.Dispose();

    private string QuantizeStatic(string name)
    {
        ModelPackageQuantizer.Quantize(_package, _temp.PathOf(name), new QuantizationOptions { CalibrationImages = _images[..4] });
        return _temp.PathOf(name);
    }

    private static float[] Embeddings(string package, float[] pixels, int width, int height)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        using var session = new InferenceSession(Path.Combine(package, "image_encoder.onnx"), options);
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, height, width]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["pixels"], [input], ["pixel_embeddings"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void Static_quantization_gives_integer_convolutions_close_to_the_float_encoder()
    {
        string quantized = QuantizeStatic("int8");

        // What ONNX Runtime makes of the graph when it loads it: the DQ → Conv → Q groups became QLinearConv.
        string optimized = _temp.PathOf("optimized.onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = optimized, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL })
        using (new InferenceSession(Path.Combine(quantized, "image_encoder.onnx"), options))
        {
        }
        var operators = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Select(n => n.OpType).ToList();
        Assert.True(operators.Count(o => o == "QLinearConv") >= 10, $"QLinearConv ×{operators.Count(o => o == "QLinearConv")}, Conv ×{operators.Count(o => o == "Conv")}");

        // On an image it was not calibrated on, each pixel embedding keeps its direction (what the correlation reads).
        using var image = MLImage.CreateFromFile(_images[4]);
        float[] pixels = MLNet.Runtime.ImagePixels.ToPlanarRgb(image, 96, 64);
        var reference = Embeddings(_package, pixels, 96, 64);
        var int8 = Embeddings(quantized, pixels, 96, 64);
        int pixelCount = 48 * 32;
        double meanCosine = 0;
        for (int p = 0; p < pixelCount; p++)
        {
            double dot = 0, a = 0, b = 0;
            for (int c = 0; c < 16; c++)
            {
                float x = reference[c * pixelCount + p], y = int8[c * pixelCount + p];
                dot += x * y;
                a += x * x;
                b += y * y;
            }
            meanCosine += dot / Math.Sqrt(a * b) / pixelCount;
        }
        Assert.True(meanCosine >= 0.98, $"mean cosine between float and int8 pixel embeddings {meanCosine:F4}");
    }

    [Fact]
    public void The_quantized_package_keeps_head1_and_every_other_file_and_says_how_it_was_made()
    {
        string quantized = QuantizeStatic("int8");

        var before = ModelManifest.ReadVerified(_package);
        var after = ModelManifest.ReadVerified(quantized);
        foreach (string name in before.Files.Keys.Where(n => n != "image_encoder.onnx"))
            Assert.Equal(before.Files[name].Sha256, after.Files[name].Sha256);
        Assert.StartsWith("int8 static QDQ", after.Provenance["quantization"]);
        Assert.True(after.Files["image_encoder.onnx"].Bytes < before.Files["image_encoder.onnx"].Bytes / 2);
        var initializers = SegmentationGraph.ReadWithExternalData(Path.Combine(quantized, "image_encoder.onnx")).Graph.Initializer.ToDictionary(t => t.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, initializers["scratch.head1.weight"].DataType);
        // 8-bit weights stored as uint8 around 128: ONNX Runtime's u8·s8 kernels (int8 weights) saturate on x86 CPUs without
        // VNNI, where a static int8 copy of the default model lost 1.5 mIoU on MSRC-v2 (76.2 vs 77.9 with uint8 weights).
        Assert.Contains(initializers.Values, t => t.DataType == (int)TensorProto.Types.DataType.Uint8 && t.Name.EndsWith("::weight_uint8", StringComparison.Ordinal));
        Assert.DoesNotContain(initializers.Values, t => t.DataType == (int)TensorProto.Types.DataType.Int8);
        Assert.All(initializers.Values.Where(t => t.Name.EndsWith("::weight_zero_point", StringComparison.Ordinal)), t => Assert.All(t.RawData.ToByteArray(), z => Assert.Equal(128, z)));
    }

    [Fact]
    public void On_a_quantized_package_a_label_change_still_gives_the_head_graphs_mask()
    {
        string quantized = QuantizeStatic("int8");

        using var model = LanguageSegmentationModel.Load(quantized);
        using var image = MLImage.CreateFromFile(_images[4]);
        var oneShot = model.Segment(image, Labels);
        var changed = model.Segment(model.EncodeImage(image), model.EncodeLabels(Labels));

        Assert.True(oneShot.Mask.Zip(changed.Mask).Count(p => p.First != p.Second) <= 1, "the C# head and the head graph disagree on the quantized encoder");
    }

    [Fact]
    public void A_package_named_by_its_manifest_json_is_quantized_like_its_directory()
    {
        string target = _temp.PathOf("from-manifest");

        var manifest = ModelPackageQuantizer.Quantize(Path.Combine(_package, "manifest.json"), target, new QuantizationOptions { CalibrationImages = _images[..2] });

        Assert.Equal(manifest.Files.Keys.Order(), ModelManifest.ReadVerified(target).Files.Keys.Order());
        Assert.Throws<IOException>(() => ModelPackageQuantizer.Quantize(Path.Combine(_package, "manifest.json"), _package, new QuantizationOptions { CalibrationImages = _images[..2] }));
    }

    [Fact]
    public void Static_quantization_without_calibration_images_is_refused_before_anything_is_written()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelPackageQuantizer.Quantize(_package, _temp.PathOf("none"), new QuantizationOptions()));

        Assert.Contains("calibration images", error.Message);
        Assert.False(Directory.Exists(_temp.PathOf("none")));
    }

    [Fact]
    public void Dynamic_quantization_turns_products_with_constant_weights_into_integer_products()
    {
        // y = x · W (W constant, quantized) and z = x · xᵀ (two activations, left float).
        var model = OnnxProtos.Model(new GraphProto { Name = "g" }, "test");
        var generator = new Random(1);
        var weight = Enumerable.Range(0, 8 * 5).Select(_ => (float)generator.NextDouble() * 2 - 1).ToArray();
        model.Graph.Initializer.Add(OnnxTensors.Float("w", weight, 8, 5));
        model.Graph.Input.Add(Value("x", 3, 8));
        model.Graph.Node.Add(OnnxProtos.Node("MatMul", "product", ["x", "w"], ["y"]));
        model.Graph.Node.Add(OnnxProtos.Node("Transpose", "t", ["x"], ["xt"]));
        model.Graph.Node.Add(OnnxProtos.Node("MatMul", "gram", ["x", "xt"], ["z"]));
        model.Graph.Output.Add(Value("y", 3, 5));
        model.Graph.Output.Add(Value("z", 3, 3));
        var input = Enumerable.Range(0, 3 * 8).Select(_ => (float)generator.NextDouble() * 4 - 2).ToArray();
        var reference = Run(model, input);

        int count = DynamicMatMulQuantization.Apply(model);
        var quantized = Run(model, input);

        Assert.Equal(1, count);
        Assert.Single(model.Graph.Node, n => n.OpType == "MatMulInteger");
        Assert.Equal(2, model.Graph.Node.Count(n => n.OpType == "MatMul") + model.Graph.Node.Count(n => n.OpType == "MatMulInteger"));
        Assert.Equal(reference.Z, quantized.Z);
        // Each output sums 8 products of an activation rounded to 4/255 and a weight rounded to 1/127 of its column's range.
        for (int i = 0; i < reference.Y.Length; i++)
            Assert.True(Math.Abs(reference.Y[i] - quantized.Y[i]) <= 0.1, $"y[{i}]: {quantized.Y[i]} vs float {reference.Y[i]}");
    }

    private static ValueInfoProto Value(string name, params long[] dims) => OnnxProtos.TensorValue(name, TensorProto.Types.DataType.Float, [.. dims.Cast<object>()]);

    private static (float[] Y, float[] Z) Run(ModelProto model, float[] x)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var input = OrtValue.CreateTensorValueFromMemory(x, [3, 8]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["x"], [input], ["y", "z"]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray());
    }
}
