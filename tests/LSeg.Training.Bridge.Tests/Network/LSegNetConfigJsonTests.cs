using System.Text.Json;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Tests.Network;

/// <summary>
/// The JSON of a network configuration (checkpoints, <c>net-config.json</c>, a training configuration's
/// <c>network</c>): enum values as the model manifest spells them, and files of earlier builds still read.
/// </summary>
public class LSegNetConfigJsonTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public void Spatial_block_and_activation_are_written_as_the_model_manifest_spells_them()
    {
        string json = JsonSerializer.Serialize(new LSegNetConfig { SpatialBlock = SpatialBlock.Depthwise, SpatialDepth = 1 }, Web);
        string manifest = File.ReadAllText(Path.Combine(LSeg.Tests.Shared.SharedData.RepositoryRoot, "models", "default", "manifest.json"));

        Assert.Contains("\"spatialBlock\":\"depthwise\"", json);
        Assert.Contains("\"activation\":\"leakyrelu\"", json);
        Assert.Contains("\"activation\": \"leakyrelu\"", manifest);
    }

    [Fact]
    public void A_network_configuration_written_by_earlier_builds_reads_back_the_same()
    {
        // net-config.json as the trainer wrote it when enum values kept their C# case and the defaults were 512 and 256.
        const string earlier = """
            {"backbone":"vit-b32-384","embeddingSize":512,"decoderFeatures":256,"spatialBlock":"Bottleneck","spatialDepth":2,"activation":"LeakyRelu","temperature":0.07,"reducedBackbone":null}
            """;

        var config = JsonSerializer.Deserialize<LSegNetConfig>(earlier, Web);

        Assert.Equal(new LSegNetConfig { Backbone = "vit-b32-384", EmbeddingSize = 512, DecoderFeatures = 256, SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 2 }, config);
    }
}
