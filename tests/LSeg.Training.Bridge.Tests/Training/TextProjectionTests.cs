using LSeg.MLNet;
using LSeg.MLNet.Package;
using LSeg.MLNet.Text;
using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Tests.Data;
using LSeg.Training.Bridge.Training;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.Training.Bridge.Tests.Training;

/// <summary>
/// The text projection: a linear map from MiniLM label embeddings to another text space, fitted by ridge regression,
/// trained against, carried by the package (format 5) and applied to every label an application gives.
/// </summary>
public sealed class TextProjectionTests : IDisposable
{
    private static readonly string[] Vocabulary =
        ["apple", "banana", "car", "truck", "bus", "dog", "cat", "horse", "sheep", "cow", "chair", "table", "sofa", "bed", "lamp",
         "cup", "spoon", "fork", "knife", "plate", "tree", "flower", "grass", "river", "mountain", "boat", "train", "bicycle", "kite", "umbrella"];

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "lseg-text-projection-" + Guid.NewGuid().ToString("N"));

    public TextProjectionTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void An_npy_file_is_read_as_rows_of_floats_in_C_order_from_float16_or_float32()
    {
        string half = WriteNpy("half.npy", "<f2", [[1f, -2.5f, 0.125f], [3f, 4f, 65504f]]);
        string single = WriteNpy("single.npy", "<f4", [[1.1f, 2.2f], [3.3f, 4.4f], [5.5f, 6.6f]]);

        Assert.Equal([[1f, -2.5f, 0.125f], [3f, 4f, 65504f]], NpyMatrix.Read(half));
        Assert.Equal([[1.1f, 2.2f], [3.3f, 4.4f], [5.5f, 6.6f]], NpyMatrix.Read(single));
    }

    [Theory]
    [InlineData("'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), ", "float16")]
    [InlineData("'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), ", "Fortran order")]
    [InlineData("'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2), ", "2-D")]
    [InlineData("'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), ", "2×2")]
    public void An_npy_file_that_is_not_a_2D_float_array_of_its_stated_size_is_refused_with_the_reason(string header, string reason)
    {
        string path = Path.Combine(_folder, "bad.npy");
        File.WriteAllBytes(path, [.. NpyFile.Header(header), .. new byte[8]]);

        var error = Assert.Throws<InvalidDataException>(() => NpyMatrix.Read(path));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_written_projection_is_the_ridge_solution_from_MiniLM_to_the_centred_normalised_targets()
    {
        var targets = RandomTargets(Vocabulary.Length, width: 6, seed: 3);
        string output = Path.Combine(_folder, "map.onnx");

        var report = TextProjectionFitting.Fit([(WriteNames(Vocabulary), WriteNpy("targets.npy", "<f4", targets))], ["kite"], output, ridge: 0.5);

        Assert.Equal(Vocabulary.Length - 1, report.Names);
        Assert.Equal(1, report.ExcludedNames);
        string[] fitted = [.. Vocabulary.Where(n => n != "kite")];
        using var miniLm = MiniLmTextEncoder.Create();
        var (weight, bias) = ReferenceRidge(Normalised(miniLm.Encode(fitted)), CentredNormalised([.. fitted.Select(n => targets[Array.IndexOf(Vocabulary, n)])]), 0.5);
        string[] probes = ["kite", "zebra", "apple"];
        var expected = Normalised(miniLm.Encode(probes)).Select(x => Apply(weight, bias, x)).ToArray();
        var actual = RunProjection(output, Normalised(miniLm.Encode(probes)));
        for (int i = 0; i < probes.Length; i++)
            Assert.All(expected[i].Zip(actual[i]), p => Assert.Equal(p.First, p.Second, 1e-4));
    }

    [SkippableFact]
    public void Fitted_on_the_real_CLIP_vocabularies_the_map_predicts_held_out_names_far_above_chance_and_orders_them_closer_to_CLIP()
    {
        string clip = SharedData.RequireDirectory("clip-text-embeddings-vitb32");

        var report = TextProjectionFitting.Fit(
            [(Path.Combine(clip, "coco80_names.txt"), Path.Combine(clip, "coco_clip_a+cname.npy")),
             (Path.Combine(clip, "lvis_v1_names.txt"), Path.Combine(clip, "lvis_v1_clip_a+cname.npy")),
             (Path.Combine(clip, "o365_names_fix.txt"), Path.Combine(clip, "o365_clip_a+cnamefix.npy"))],
            [], Path.Combine(_folder, "clip.onnx"));

        // 1,396 distinct names: chance of finding a held-out name's own embedding first is 0.07%.
        Assert.InRange(report.Names, 1300, 1648);
        Assert.True(report.HeldOutTop1 > 0.2, $"held-out top-1 {report.HeldOutTop1:P1}");
        Assert.True(report.MappedPearson > report.SourcePearson, $"mapped {report.MappedPearson:F3} vs MiniLM {report.SourcePearson:F3}");
    }

    [Fact]
    public void A_run_with_a_text_projection_exports_a_format_5_package_whose_labels_go_through_the_map()
    {
        string map = Path.Combine(_folder, "map.onnx");
        TextProjectionFitting.Fit([(WriteNames(Vocabulary), WriteNpy("targets.npy", "<f4", RandomTargets(Vocabulary.Length, width: 8, seed: 5)))], [], map);
        using var data = new TestDatasetFolder(images: 3, width: 64, height: 48);
        var config = new TrainingConfig
        {
            Name = "tiny-projected",
            Datasets = [new DatasetConfig { Name = "tiny", Folder = data.Root, Split = "train.txt" }],
            PretrainedBackbone = false,
            Network = new() { EmbeddingSize = 8, DecoderFeatures = 16 },
            TextEncoder = "minilm",
            TextProjection = map,
            Augmentation = new() { CropHeight = 32, CropWidth = 32 },
            Epochs = 1,
            BatchSize = 2,
            OutputDirectory = Path.Combine(_folder, "run"),
        };
        config.Validate("tiny");

        var result = Trainer.Run(config, resume: false, _ => { });
        string package = Path.Combine(_folder, "package");
        var manifest = TrainedPackage.ExportBest(result, package, "tiny-projected", []);

        Assert.Equal(5, manifest.FormatVersion);
        Assert.Equal("text_projection.onnx", manifest.TextEncoder.Projection);
        Assert.Equal(File.ReadAllBytes(map), File.ReadAllBytes(Path.Combine(package, "text_projection.onnx")));
        using var model = LanguageSegmentationModel.Load(package);
        using var miniLm = MiniLmTextEncoder.Create();
        var expected = RunProjection(map, Normalised(miniLm.Encode(["zebra", "cow"])));
        var actual = model.EncodeLabels(["zebra", "cow"]).Values.ToArray();
        Assert.Equal(16, actual.Length);
        Assert.All(expected.SelectMany(row => row).Zip(actual), p => Assert.Equal(p.First, p.Second, 1e-5));
    }

    [Fact]
    public void A_package_that_names_a_text_projection_below_format_5_is_refused()
    {
        var manifest = new ModelManifest { FormatVersion = 4, EmbeddingSize = 8, TextEncoder = new TextEncoderInfo { Kind = "minilm", Projection = "text_projection.onnx" } };

        var error = Assert.Throws<InvalidDataException>(() => ModelManifest.FromJson(manifest.ToJson()));

        Assert.Contains("textEncoder.projection", error.Message, StringComparison.Ordinal);
        Assert.Contains("version 5", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_projection_is_refused_beside_an_initial_model_and_when_its_width_is_not_the_networks()
    {
        string map = Path.Combine(_folder, "map.onnx");
        TextProjectionFitting.Fit([(WriteNames(Vocabulary), WriteNpy("targets.npy", "<f4", RandomTargets(Vocabulary.Length, width: 8, seed: 5)))], [], map);
        using var data = new TestDatasetFolder();
        TrainingConfig Config(int embeddingSize, string? initialModel) => new()
        {
            Name = "x",
            Datasets = [new DatasetConfig { Name = "tiny", Folder = data.Root }],
            Network = new() { EmbeddingSize = embeddingSize, DecoderFeatures = 16 },
            TextProjection = map,
            InitialModel = initialModel,
            OutputDirectory = Path.Combine(_folder, "run"),
        };

        var besideInitialModel = Assert.Throws<InvalidDataException>(() => Config(8, _folder).Validate("x"));
        var wrongWidth = Assert.Throws<InvalidDataException>(() => TrainingNetwork.Resolve(Config(16, null)));

        Assert.Contains("textProjection", besideInitialModel.Message, StringComparison.Ordinal);
        Assert.Contains("8-d", wrongWidth.Message, StringComparison.Ordinal);
        Assert.Contains("network.embeddingSize is 16", wrongWidth.Message, StringComparison.Ordinal);
    }

    private string WriteNames(IEnumerable<string> names)
    {
        string path = Path.Combine(_folder, "names.txt");
        File.WriteAllLines(path, names);
        return path;
    }

    private string WriteNpy(string name, string descr, float[][] rows) => NpyFile.Write(Path.Combine(_folder, name), descr, rows);

    private static float[][] RandomTargets(int rows, int width, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray())];
    }

    private static double[][] Normalised(IEnumerable<float[]> rows) =>
        [.. rows.Select(r => { double n = Math.Sqrt(r.Sum(v => (double)v * v)); return r.Select(v => v / n).ToArray(); })];

    private static double[][] CentredNormalised(float[][] rows)
    {
        var unit = Normalised(rows);
        var mean = Enumerable.Range(0, unit[0].Length).Select(j => unit.Average(r => r[j])).ToArray();
        return Normalised(unit.Select(r => r.Select((v, j) => (float)(v - mean[j])).ToArray()));
    }

    /// <summary>Ridge regression by the normal equations on centred data, solved by Gaussian elimination (penalty on W only).</summary>
    private static (double[,] Weight, double[] Bias) ReferenceRidge(double[][] x, double[][] y, double ridge)
    {
        int n = x.Length, d = x[0].Length, c = y[0].Length;
        var xMean = Enumerable.Range(0, d).Select(j => x.Average(r => r[j])).ToArray();
        var yMean = Enumerable.Range(0, c).Select(j => y.Average(r => r[j])).ToArray();
        var a = new double[d, d + c];
        for (int i = 0; i < d; i++)
        {
            for (int k = 0; k < n; k++)
            {
                double xi = x[k][i] - xMean[i];
                for (int j = 0; j < d; j++)
                    a[i, j] += xi * (x[k][j] - xMean[j]);
                for (int j = 0; j < c; j++)
                    a[i, d + j] += xi * (y[k][j] - yMean[j]);
            }
            a[i, i] += ridge;
        }
        for (int p = 0; p < d; p++)
        {
            for (int r = p + 1; r < d; r++)
            {
                double f = a[r, p] / a[p, p];
                for (int j = p; j < d + c; j++)
                    a[r, j] -= f * a[p, j];
            }
        }
        var w = new double[d, c];
        for (int j = 0; j < c; j++)
        {
            for (int i = d - 1; i >= 0; i--)
            {
                double s = a[i, d + j];
                for (int k = i + 1; k < d; k++)
                    s -= a[i, k] * w[k, j];
                w[i, j] = s / a[i, i];
            }
        }
        var bias = Enumerable.Range(0, c).Select(j => yMean[j] - Enumerable.Range(0, d).Sum(i => xMean[i] * w[i, j])).ToArray();
        return (w, bias);
    }

    private static double[] Apply(double[,] weight, double[] bias, double[] x) =>
        [.. bias.Select((b, j) => b + Enumerable.Range(0, x.Length).Sum(i => x[i] * weight[i, j]))];

    private static float[][] RunProjection(string graph, double[][] inputs)
    {
        using var session = new InferenceSession(graph);
        float[] flat = [.. inputs.SelectMany(r => r.Select(v => (float)v))];
        using var input = OrtValue.CreateTensorValueFromMemory(flat, [inputs.Length, inputs[0].Length]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["text_embeddings"], [input], ["label_embeddings"]);
        var values = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        int width = values.Length / inputs.Length;
        return [.. Enumerable.Range(0, inputs.Length).Select(i => values[(i * width)..((i + 1) * width)])];
    }
}
