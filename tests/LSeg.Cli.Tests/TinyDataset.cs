using LSeg.Cli.Rendering;

namespace LSeg.Cli.Tests;

/// <summary>A folder dataset of a few 64×64 colour images (red/blue/green regions) in the images/labels/classes.txt format.</summary>
internal static class TinyDataset
{
    public const int Side = 64;

    public static string Write(string folder, int images = 4)
    {
        Directory.CreateDirectory(Path.Combine(folder, "labels"));
        File.WriteAllText(Path.Combine(folder, "classes.txt"), "0\tvoid\n1\tred\n2\tblue\n3\tgreen\n");
        var colours = new[] { Images.Red, Images.Blue, Images.Green };
        for (int i = 0; i < images; i++)
        {
            int split = Side / 4 + i * 8;
            int left = i % 3, right = (i + 1) % 3;
            Images.WritePng(Path.Combine(folder, "images", $"img{i}.png"), Side, Side, (x, _) => x < split ? colours[left] : colours[right]);
            var truth = new int[Side * Side];
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                    truth[y * Side + x] = (x < split ? left : right) + 1;
            MaskPng.Write(Path.Combine(folder, "labels", $"img{i}.png"), Side, Side, truth);
        }
        return folder;
    }

    /// <summary>A one-epoch training configuration on <paramref name="dataFolder"/> (JSON, absolute paths).</summary>
    public static string Config(string dataFolder, string outputDirectory, string extra = "") => $$"""
        {
          "name": "tiny-colours",
          "datasets": [ { "name": "tiny", "folder": {{System.Text.Json.JsonSerializer.Serialize(dataFolder)}} } ],
          "network": { "backbone": "resnet18", "embeddingSize": 384, "decoderFeatures": 16 },
          "pretrainedBackbone": false,
          "textEncoder": "minilm",
          "augmentation": { "cropHeight": 64, "cropWidth": 64, "scaleMin": 1.0, "scaleMax": 1.0, "flipProbability": 0.5 },
          "epochs": 1,
          "batchSize": 2,
          "learningRate": 0.001,
          "threads": 2,{{extra}}
          "outputDirectory": {{System.Text.Json.JsonSerializer.Serialize(outputDirectory)}}
        }
        """;
}
