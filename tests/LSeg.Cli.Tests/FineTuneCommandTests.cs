using System.Text.Json;
using LSeg.MLNet.Package;
using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Tests.Import;

namespace LSeg.Cli.Tests;

/// <summary>
/// <c>lseg train</c> with <c>"initialModel"</c> naming an imported package (a small ViT-B/32 LSeg with a CLIP text
/// tower, from a synthetic checkpoint in the official format), the network fields left out of the configuration.
/// </summary>
public sealed class FineTuneCommandTests
{
    private static string ImportSmallVitB32(TempDirectory temp)
    {
        string bpe = Path.Combine(SharedData.RequireDirectory("clip"), OfficialCheckpointImporter.ClipBpeFileName);
        var network = new LSegNetConfig
        {
            Backbone = "vit-b32-384", EmbeddingSize = 32, DecoderFeatures = 16,
            ReducedBackbone = OfficialFormatCheckpoint.SmallVitB32WithBottleneck.ReducedBackbone,
        };
        using (var source = new OfficialFormatCheckpoint(network, OfficialFormatCheckpoint.SmallClip, seed: 71))
            TorchCheckpointWriter.Save(source.LightningCheckpoint(), temp.Combine("official.ckpt"));
        OfficialCheckpointImporter.Import(temp.Combine("official.ckpt"), bpe, temp.Combine("imported"), new OfficialCheckpointImportOptions { DefaultInputSize = 64 });
        return temp.Combine("imported");
    }

    [SkippableFact]
    public void Fine_tuning_an_imported_package_writes_a_package_with_its_CLIP_text_encoder_copied_and_export_keeps_it()
    {
        using var temp = new TempDirectory();
        string imported = ImportSmallVitB32(temp);
        string data = TinyDataset.Write(temp.Combine("data"));
        string run = temp.Combine("run");
        File.WriteAllText(temp.Combine("train.json"), $$"""
            {
              "name": "tiny-vitb32",
              "datasets": [ { "name": "tiny", "folder": {{JsonSerializer.Serialize(data)}} } ],
              "initialModel": {{JsonSerializer.Serialize(imported)}},
              "augmentation": { "cropHeight": 64, "cropWidth": 64 },
              "epochs": 1,
              "batchSize": 2,
              "outputDirectory": {{JsonSerializer.Serialize(run)}}
            }
            """);

        var result = CliRunner.RunProcess(temp.Path, "train", "--config", "train.json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("train: decoder", result.StdOut);
        var initial = ModelManifest.FromJson(File.ReadAllText(Path.Combine(imported, "manifest.json")));
        var tuned = ModelManifest.FromJson(File.ReadAllText(Path.Combine(run, "model", "manifest.json")));
        Assert.Equal(("vit-b32-384", 32, "clip"), (tuned.Backbone, tuned.EmbeddingSize, tuned.TextEncoder.Kind));
        Assert.Equal(initial.Files["text_encoder.onnx"].Sha256, tuned.Files["text_encoder.onnx"].Sha256);
        Assert.Equal(initial.Files[OfficialCheckpointImporter.ClipBpeFileName].Sha256, tuned.Files[OfficialCheckpointImporter.ClipBpeFileName].Sha256);
        Assert.NotEqual(initial.Files["image_encoder.onnx"].Sha256, tuned.Files["image_encoder.onnx"].Sha256);
        var info = CliRunner.RunInProcess("info", "--model", Path.Combine(run, "model"));
        Assert.True(info.ExitCode == 0, info.ToString());

        var export = CliRunner.RunInProcess("export", "--checkpoint", Path.Combine(run, "checkpoints", "best"), "--out", temp.Combine("exported"));
        Assert.True(export.ExitCode == 0, export.ToString());
        var exported = ModelManifest.FromJson(File.ReadAllText(temp.Combine("exported", "manifest.json")));
        Assert.Equal("clip", exported.TextEncoder.Kind);
        Assert.Equal(initial.Files["text_encoder.onnx"].Sha256, exported.Files["text_encoder.onnx"].Sha256);
    }

    [SkippableFact]
    public void A_configuration_that_does_not_fit_the_initial_model_fails_with_one_line_naming_the_differences_and_writes_nothing()
    {
        using var temp = new TempDirectory();
        string imported = ImportSmallVitB32(temp);
        string data = TinyDataset.Write(temp.Combine("data"), images: 1);
        string run = temp.Combine("run");
        File.WriteAllText(temp.Combine("train.json"), TinyDataset.Config(data, run, $"\n  \"initialModel\": {JsonSerializer.Serialize(imported)},"));

        var result = CliRunner.RunInProcess("train", "--config", temp.Combine("train.json"));

        Assert.NotEqual(0, result.ExitCode);
        string error = Assert.Single(result.ErrorLines);
        Assert.Contains("backbone resnet18 (configuration) vs vit-b32-384 (package)", error);
        Assert.Contains("embeddingSize 384 (configuration) vs 32 (package)", error);
        Assert.Contains("textEncoder minilm (configuration) vs clip (package)", error);
        Assert.False(Directory.Exists(run));
    }
}
