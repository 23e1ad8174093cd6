using System.Text.Json;
using LSeg.MLNet;
using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Evaluation;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Tests.TextEncoders;
using Microsoft.ML.Data;
using TorchSharp;

namespace LSeg.Training.Bridge.Tests.Import;

/// <summary>
/// An imported package used the way an application uses it: LSeg.MLNet loads it, tokenizes labels with CLIP's real
/// BPE file, encodes them with text_encoder.onnx and segments a photo.
/// </summary>
public sealed class ImportedPackageEndToEndTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lseg-import-e2e-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [SkippableFact]
    public void LSeg_MLNet_encodes_labels_like_the_TorchSharp_CLIP_tower_and_segments_a_photo()
    {
        string clip = SharedData.RequireDirectory("clip");
        string images = SharedData.RequireDirectory("images");
        string bpe = Path.Combine(clip, OfficialCheckpointImporter.ClipBpeFileName);
        using var source = new OfficialFormatCheckpoint(OfficialCheckpointImporterTests.SmallVitL16, OfficialCheckpointImporterTests.SmallClip, seed: 51);
        string checkpoint = Path.Combine(_directory, "demo.ckpt");
        TorchCheckpointWriter.Save(source.LightningCheckpoint(), checkpoint);
        string package = Path.Combine(_directory, "package");
        OfficialCheckpointImporter.Import(checkpoint, bpe, package);

        // Reference token ids made by OpenAI's own tokenizer, so the expected embeddings do not depend on ours.
        var reference = File.ReadLines(Path.Combine(clip, "tokenizer-reference.jsonl"))
            .Select(line => JsonSerializer.Deserialize<TokenizedText>(line)!)
            .Where(t => t.ids.Length <= 77)
            .Take(5)
            .ToArray();
        var ids = new long[reference.Length, 77];
        for (int r = 0; r < reference.Length; r++)
            for (int i = 0; i < reference[r].ids.Length; i++)
                ids[r, i] = reference[r].ids[i];
        float[,] expected = ClipTextEncoderExportTests.TorchForward(source.Text, ids);

        using var model = LanguageSegmentationModel.Load(package);
        var labels = model.EncodeLabels(reference.Select(t => t.text).ToArray());
        float[] actual = labels.Values.ToArray();
        int size = labels.EmbeddingSize;
        Assert.Equal(OfficialCheckpointImporterTests.SmallClip.EmbeddingSize, size);
        float maxDifference = 0;
        for (int r = 0; r < reference.Length; r++)
            for (int c = 0; c < size; c++)
                maxDifference = Math.Max(maxDifference, Math.Abs(expected[r, c] - actual[r * size + c]));
        Assert.True(maxDifference <= 1e-4f, $"max |Δ| between LSeg.MLNet's and TorchSharp's label embeddings = {maxDifference}");

        using var photo = MLImage.CreateFromFile(Path.Combine(images, "chelsea.png"));
        var result = model.Segment(photo, ["cat", "grass", "sky"]);
        Assert.Equal(photo.Width, result.Width);
        Assert.Equal(photo.Height, result.Height);
        Assert.Equal(["cat", "grass", "sky"], result.Labels);
        Assert.Equal((long)photo.Width * photo.Height, result.PixelCounts.Sum());
        Assert.All(result.Mask, m => Assert.InRange(m, 0, 2));

        // The masks themselves, against the TorchSharp network of the same weights with the reference embeddings: a
        // 256 × 192 crop of the photo, so that the model input is the image itself and nothing is resized after the head.
        var whole = RgbImage.Load(Path.Combine(images, "chelsea.png"));
        var cropPixels = new byte[256 * 192 * 3];
        for (int y = 0; y < 192; y++)
            Array.Copy(whole.Pixels, y * whole.Width * 3, cropPixels, y * 256 * 3, 256 * 3);
        using var crop = PackageSegmenter.ToMLImage(new RgbImage(256, 192, cropPixels));
        var segmented = model.Segment(model.EncodeImage(crop, 256), labels);
        using (torch.no_grad())
        {
            using var pixels = torch.tensor(LSeg.MLNet.Runtime.ImagePixels.ToPlanarRgb(crop, 256, 192), [1, 3, 192, 256]);
            using var embeddings = torch.tensor(expected.Cast<float>().ToArray(), [reference.Length, size]);
            using var logits = source.Network.forward(pixels, embeddings);
            long[] truth = logits.argmax(1).flatten().data<long>().ToArray();
            float[] truthScores = logits.max(1).values.flatten().data<float>().ToArray();
            Assert.Equal(truth.Length, segmented.Mask.Length);
            double agreement = (double)truth.Zip(segmented.Mask).Count(p => p.First == p.Second) / truth.Length;
            Assert.True(agreement >= 0.999, $"{agreement:P3} of the crop's pixels agree with the TorchSharp network");
            // Random weights may give one label most of the crop: the winning logits are compared too.
            float worst = truthScores.Zip(segmented.Scores, (t, s) => Math.Abs(t - s)).Max();
            Assert.True(worst <= 1e-4f, $"the winning logits differ from TorchSharp's by up to {worst}");
        }
    }

    private sealed record TokenizedText(string text, int[] ids);
}
