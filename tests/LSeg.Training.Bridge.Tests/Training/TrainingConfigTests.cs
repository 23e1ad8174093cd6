using LSeg.Training.Bridge.Training;

namespace LSeg.Training.Bridge.Tests.Training;

public class TrainingConfigTests
{
    private static string Json(string folder, string extra = "") =>
        $$"""{ "datasets": [ { "name": "d", "folder": "{{folder.Replace("\\", "/")}}" } ], "epochs": 3 {{extra}} }""";

    [Fact]
    public void AValidConfigurationParsesWithDefaultsForUnsetFields()
    {
        string folder = Path.GetTempPath();

        var config = TrainingConfig.Parse(Json(folder, """, "optimizer": "sgd", "augmentation": { "cropHeight": 64, "cropWidth": 96 } """));

        Assert.Equal(3, config.Epochs);
        Assert.Equal("sgd", config.Optimizer);
        Assert.Equal(96, config.Augmentation.CropWidth);
        Assert.Equal(0.9, config.PolyPower);
        Assert.Equal(10, config.DecoderLearningRateMultiplier);
    }

    [Fact]
    public void AnUnknownFieldIsAnErrorThatNamesIt()
    {
        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), """, "learningRat": 0.1 """)));

        Assert.Contains("learningRat", error.Message);
    }

    [Fact]
    public void AnUnknownFieldInsideADatasetIsNamedToo()
    {
        string json = $$"""{ "datasets": [ { "name": "d", "folder": "{{Path.GetTempPath().Replace("\\", "/")}}", "splitt": "x.txt" } ] }""";

        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(json));

        Assert.Contains("splitt", error.Message);
    }

    [Fact]
    public void AMissingDatasetFolderIsNamedInTheError()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-folder-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<DirectoryNotFoundException>(() => TrainingConfig.Parse(Json(missing)));

        Assert.Contains(missing.Replace("\\", "/"), error.Message.Replace("\\", "/"));
    }

    [Fact]
    public void AnOutOfRangeValueNamesTheFieldAndWhatIsExpected()
    {
        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), """, "optimizer": "adam" """)));

        Assert.Contains("optimizer", error.Message);
        Assert.Contains("sgd or adamw", error.Message);
    }

    [Fact]
    public void TheNetworkFieldsMayBeLeftOutAndThenFollowTheDefaultsOrTheInitialModel()
    {
        var config = TrainingConfig.Parse(Json(Path.GetTempPath()));

        Assert.Null(config.Backbone);
        Assert.Null(config.EmbeddingSize);
        Assert.Null(config.TextEncoder);
        var network = TrainingNetwork.Resolve(config);
        Assert.Equal(("resnet18", 384, 128), (network.Config.Backbone, network.Config.EmbeddingSize, network.Config.DecoderFeatures));
        Assert.Equal("minilm", network.Text.Kind);
    }

    [Theory]
    [InlineData(""", "train": "head" """, "'train' is head; expected all, decoder or lastBlocks")]
    [InlineData(""", "train": "lastBlocks" """, "'trainBlocks' is 0; expected 1 or more with train lastBlocks")]
    [InlineData(""", "trainBlocks": 2 """, "'trainBlocks' is 2; expected 0 (it is read with train lastBlocks only)")]
    [InlineData(""", "textEncoder": "clip" """, "'textEncoder' is clip; expected minilm or fixed without initialModel")]
    [InlineData(""", "backbone": "vit-l16-384" """, "'backbone' is vit-l16-384; expected resnet18 (the only backbone with pretrained weights here)")]
    [InlineData(""", "backbone": "vit-h14" """, "'backbone' is vit-h14; expected resnet101, resnet18, vit-b32-384, vit-l16-384")]
    [InlineData(""", "learningRate": -0.1 """, "'learningRate' is -0.1; expected a rate ≥ 0")]
    public void AFineTuningSettingThatCannotWorkIsRefusedByName(string extra, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), extra)));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void TheConfigurationOfTheShippedDefaultModelParses()
    {
        string path = Path.Combine(LSeg.Tests.Shared.SharedData.RepositoryRoot, "configs", "default-model.json");
        string json = File.ReadAllText(path);
        // The dataset folders may be absent here; check the fields, not the folders.
        var config = System.Text.Json.JsonSerializer.Deserialize<TrainingConfig>(json, TrainingConfig.JsonOptions)!;

        Assert.Equal("resnet18", config.Backbone);
        Assert.Equal(384, config.EmbeddingSize);
        Assert.Equal("minilm", config.TextEncoder);
        Assert.Equal(["msrc-v2", "camvid"], config.Datasets.Select(d => d.Name));
        Assert.Equal(20, config.Epochs);
    }

    [Fact]
    public void EveryCommittedConfigurationHasOnlyKnownFields()
    {
        string root = Path.Combine(LSeg.Tests.Shared.SharedData.RepositoryRoot, "configs");
        var files = Directory.GetFiles(root, "*.json", SearchOption.AllDirectories).Where(f => !f.EndsWith("label-overlaps.json", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(files);
        foreach (string file in files)
        {
            // Unknown fields fail deserialisation (UnmappedMemberHandling.Disallow); folders may be absent here.
            var config = System.Text.Json.JsonSerializer.Deserialize<TrainingConfig>(File.ReadAllText(file), TrainingConfig.JsonOptions);
            Assert.NotNull(config);
            // Probabilities checked here; the overlap table's path is relative to the repository root, not to the test.
            if (config!.LabelSampling.Overlaps is { } overlaps)
                Assert.True(File.Exists(Path.Combine(LSeg.Tests.Shared.SharedData.RepositoryRoot, overlaps)), $"{file}: overlaps '{overlaps}' does not exist");
            config.LabelSampling.Overlaps = null;
            config.LabelSampling.Validate();
        }
    }
}
