using System.Text.Json;
using LSeg.MLNet;
using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Tests.TextEncoders;
using Microsoft.ML.Data;

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
    }

    private sealed record TokenizedText(string text, int[] ids);
}
