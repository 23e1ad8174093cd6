using System.Text.Json;
using LSeg.MLNet.Package;
using LSeg.MLNet.Tests.MLNet;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests.Head;

/// <summary>
/// What the head tests compare every path against: the argmax of logits computed independently (a plain package's
/// head graph, offsets added by hand), and the mask each path produces, the ML.NET pipeline's included.
/// </summary>
internal static class HeadTruth
{
    /// <summary>
    /// Exports <paramref name="net"/> to <paramref name="folder"/>/<paramref name="name"/> with a fixed table of label
    /// embeddings as its text encoder (written to <paramref name="folder"/> once), and the calibration given; returns the
    /// loaded package.
    /// </summary>
    public static LanguageSegmentationModel ExportWithTable(LSegNet net, string folder, string name, IReadOnlyDictionary<string, float[]> table, int inputSize,
        Dictionary<string, double> offsets, UntrainedLabelCalibration? untrained = null)
    {
        string tablePath = Path.Combine(folder, "labels.json");
        if (!File.Exists(tablePath))
            File.WriteAllText(tablePath, JsonSerializer.Serialize(table));
        string package = Path.Combine(folder, name);
        ModelPackageExporter.Export(net, package, new ModelPackageExportOptions
        {
            Name = "random-resnet18",
            DefaultInputSize = inputSize,
            TextEncoder = new TextEncoderInfo { Kind = "table", Table = "labels.json" },
            AdditionalFiles = { ["labels.json"] = tablePath },
            LabelLogitOffsets = offsets,
            UntrainedLabels = untrained,
        });
        return LanguageSegmentationModel.Load(package);
    }

    /// <summary>Argmax over labels (first on ties) of [N, H·W] logits, and the gap to the runner-up per pixel.</summary>
    public static (int[] Mask, float[] Gap) ArgMax(float[] logits, int labelCount)
    {
        int plane = logits.Length / labelCount;
        var mask = new int[plane];
        var gap = new float[plane];
        for (int p = 0; p < plane; p++)
        {
            float best = float.NegativeInfinity, second = float.NegativeInfinity;
            for (int k = 0; k < labelCount; k++)
            {
                float value = logits[k * plane + p];
                if (value > best)
                {
                    (second, best, mask[p]) = (best, value, k);
                }
                else if (value > second)
                {
                    second = value;
                }
            }
            gap[p] = best - second;
        }
        return (mask, gap);
    }

    /// <summary>Every pixel whose top two logits are apart by more than rounding must carry the expected label.</summary>
    public static void AssertMask(int[] expected, float[] gap, IReadOnlyList<int> actual, string path)
    {
        Assert.Equal(expected.Length, actual.Count);
        int wrong = Enumerable.Range(0, expected.Length).Count(p => gap[p] > 1e-3f && actual[p] != expected[p]);
        Assert.True(wrong == 0, $"{path}: {wrong} of {expected.Length} pixels differ from the expected mask");
    }

    /// <summary>
    /// The mask of the ML.NET LanguageSegment transform (keys are label index + 1) for <paramref name="image"/> saved as
    /// a PNG in <paramref name="folder"/>.
    /// </summary>
    public static int[] PipelineMask(LanguageSegmentationModel model, MLImage image, string[] labels, int inputSize, string folder)
    {
        string file = Path.Combine(folder, "image.png");
        image.Save(file);
        var context = new MLContext(seed: 1);
        var data = context.Data.LoadFromEnumerable([new ImageFileRow { ImagePath = file }]);
        var pipeline = context.Transforms.LoadImages("Image", null, nameof(ImageFileRow.ImagePath))
            .Append(context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = labels, Model = model, InputSize = inputSize }));
        var output = pipeline.Fit(data).Transform(data);
        var mask = output.GetColumn<VBuffer<uint>>(LanguageSegmentationOptions.Defaults.OutputColumnName).Single().DenseValues();
        return mask.Select(key => (int)key - 1).ToArray();
    }
}
