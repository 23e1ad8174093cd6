using System.Text.Json.Nodes;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;

namespace LSeg.Training.Bridge.Tests.Training;

public class TrainingConfigTests
{
    private static string Json(string folder, string extra = "") =>
        $$"""{ "datasets": [ { "name": "d", "folder": "{{folder.Replace("\\", "/")}}" } ], "epochs": 3 {{extra}} }""";

    [Theory]
    [InlineData(""", "batchSize": "four" """, "the value at $.batchSize (line 1) has the wrong type: a whole number is expected there")]
    [InlineData(""", "learningRate": true """, "the value at $.learningRate (line 1) has the wrong type: a number is expected there")]
    [InlineData(""", "validation": { "name": "v" } """, "the value at $.validation (line 1) has the wrong type: an array is expected there")]
    [InlineData(""", "augmentation": { "cropHieght": 64 } """, "unknown field 'cropHieght' in $.augmentation (line 1)")]
    public void A_value_of_the_wrong_type_or_an_unknown_field_is_named_by_its_place_in_the_file_not_by_a_dotnet_type(string extra, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), extra)));

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("System.", error.Message);
        Assert.DoesNotContain("LSeg.", error.Message);
    }

    [Fact]
    public void The_line_of_a_wrong_value_is_the_files_line_after_a_leading_comment()
    {
        string json = "// my run\n// tried on Monday\n" + Json(Path.GetTempPath(), ", \"batchSize\": \"four\"");

        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(json));

        Assert.Contains("$.batchSize (line 3)", error.Message);
    }

    [Fact]
    public void A_training_dataset_without_a_name_is_refused_naming_its_folder()
    {
        string folder = Path.GetTempPath().TrimEnd('/');

        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse($$"""{ "datasets": [ { "folder": "{{folder}}" } ], "epochs": 1 }"""));

        Assert.Contains($"the training dataset in '{folder}' has no 'name'", error.Message);
    }

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
    public void Evaluation_datasets_are_read_at_their_own_size_and_imageScale_there_needs_a_validation_long_side()
    {
        using var data = new Data.TestDatasetFolder(images: 2, width: 64, height: 48);
        string root = data.Root.Replace("\\", "/");
        string Config(int longSide) => $$"""
            { "datasets": [ { "name": "d", "folder": "{{root}}" } ],
              "validation": [ { "name": "v", "folder": "{{root}}", "imageScale": 0.5 } ],
              "test": [ { "name": "t", "folder": "{{root}}", "imageScale": 0.5 } ], "validationLongSide": {{longSide}} }
            """;

        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Config(0)));
        var config = TrainingConfig.Parse(Config(32));

        Assert.Contains("validation/test dataset 'v' sets imageScale 0.5, which would score shrunk labels", error.Message);
        // The labels a validation or test score counts are the files' own 64×48, not 32×24 shrunk by nearest neighbour;
        // the segmenter resizes the image to validationLongSide itself. A training dataset keeps its scale.
        foreach (var evaluation in config.Validation.Concat(config.Test))
            Assert.All(FolderDataset.Load(evaluation.ToEvaluationOptions()).Samples, s => Assert.Equal((64, 48), (s.Labels.Width, s.Labels.Height)));
        Assert.Equal(0.5, config.Test[0].ToOptions().ImageScale);
    }

    [Fact]
    public void AnUnknownFieldIsAnErrorThatNamesIt()
    {
        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), """, "learningRat": 0.1 """)));

        Assert.Contains("learningRat", error.Message);
    }

    [Theory]
    [InlineData(""", "augmentation": null """, "'augmentation' is null")]
    [InlineData(""", "labelSampling": null """, "'labelSampling' is null")]
    [InlineData(""", "validation": null """, "'validation' is null")]
    [InlineData(""", "test": [ null ] """, "'test' is a list holding null")]
    public void A_null_where_an_object_or_a_list_belongs_is_an_error_that_names_the_field(string extra, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), extra)));

        Assert.Contains(expected, error.Message);
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

        Assert.Null(config.Network);
        Assert.Null(config.TextEncoder);
        var network = TrainingNetwork.Resolve(config);
        Assert.Equal(("resnet18", 384, 128), (network.Config.Backbone, network.Config.EmbeddingSize, network.Config.DecoderFeatures));
        Assert.Equal("minilm", network.Text.Kind);
    }

    [Fact]
    public void A_network_object_builds_that_network_temperature_and_activation_included()
    {
        var config = TrainingConfig.Parse(Json(Path.GetTempPath(), """
            , "network": { "backbone": "resnet18", "embeddingSize": 384, "decoderFeatures": 64, "spatialBlock": "bottleneck",
                           "spatialDepth": 2, "activation": "tanh", "temperature": 0.2 }
            """));

        var network = TrainingNetwork.Resolve(config);

        Assert.Equal(new LSegNetConfig
        {
            Backbone = "resnet18", EmbeddingSize = 384, DecoderFeatures = 64, SpatialBlock = SpatialBlock.Bottleneck,
            SpatialDepth = 2, Activation = SpatialActivation.Tanh, Temperature = 0.2,
        }, network.Config);
    }

    [Fact]
    public void Fields_left_out_of_the_network_object_are_the_default_models()
    {
        var config = TrainingConfig.Parse(Json(Path.GetTempPath(), """, "network": { "temperature": 0.2 } """));

        var network = TrainingNetwork.Resolve(config).Config;

        Assert.Equal(("resnet18", 384, 128, SpatialBlock.None, 0, SpatialActivation.LeakyRelu, 0.2),
            (network.Backbone, network.EmbeddingSize, network.DecoderFeatures, network.SpatialBlock, network.SpatialDepth, network.Activation, network.Temperature));
    }

    [Theory]
    [InlineData("backbone", "\"resnet18\"", "backbone")]
    [InlineData("embeddingSize", "384", "embeddingSize")]
    [InlineData("decoderFeatures", "128", "decoderFeatures")]
    [InlineData("spatialRegularization", "\"depthwise\"", "spatialBlock")]
    [InlineData("spatialRegularizationDepth", "1", "spatialDepth")]
    public void A_network_field_at_the_top_level_is_refused_naming_its_place_in_network(string field, string value, string newName)
    {
        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), $", \"{field}\": {value}")));

        Assert.Contains($"'{field}' moved into 'network'", error.Message);
        Assert.Contains($"write \"network\": {{ \"{newName}\": {value} }}", error.Message);
    }

    [Fact]
    public void A_configuration_in_the_earlier_flat_form_is_refused_with_the_network_object_that_builds_the_same_network()
    {
        const string flat = """, "backbone": "resnet18", "embeddingSize": 384, "decoderFeatures": 128, "spatialRegularization": "none" """;

        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), flat)));

        const string advice = """
            "network": { "backbone": "resnet18", "embeddingSize": 384, "decoderFeatures": 128, "spatialBlock": "none" }
            """;
        Assert.Contains("'backbone', 'embeddingSize', 'decoderFeatures' and 'spatialRegularization' moved into 'network'", error.Message);
        Assert.Contains(advice, error.Message);
        var network = TrainingNetwork.Resolve(TrainingConfig.Parse(Json(Path.GetTempPath(), ", " + advice))).Config;
        Assert.Equal(("resnet18", 384, 128, SpatialBlock.None), (network.Backbone, network.EmbeddingSize, network.DecoderFeatures, network.SpatialBlock));
    }

    [Fact]
    public void The_json_written_for_provenance_keeps_the_network_as_written_and_parses_back_to_the_same_configuration()
    {
        var config = TrainingConfig.Parse(Json(Path.GetTempPath(), """, "network": { "temperature": 0.2, "activation": "relu" } """));

        string json = config.ToJson();

        Assert.Equal(["activation", "temperature"], JsonNode.Parse(json)!["network"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(config.Network, TrainingConfig.Parse(json).Network);
    }

    [Fact]
    public void A_dataset_class_weighting_is_none_unless_set_and_an_unknown_one_is_refused_naming_the_choices()
    {
        string folder = Path.GetTempPath().Replace("\\", "/");
        Assert.Equal("none", TrainingConfig.Parse(Json(folder)).Datasets[0].ClassWeighting);
        string weighted = $$"""{ "datasets": [ { "name": "d", "folder": "{{folder}}", "classWeighting": "median-frequency" } ] }""";
        Assert.Equal("median-frequency", TrainingConfig.Parse(weighted).Datasets[0].ClassWeighting);

        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(weighted.Replace("median-frequency", "inverse")));

        Assert.Contains("dataset 'd' classWeighting is 'inverse'; expected 'none' or 'median-frequency'", error.Message);
    }

    [Fact]
    public void A_repeat_factor_threshold_must_be_a_share_of_images_and_is_not_combined_with_samples_per_epoch()
    {
        string folder = Path.GetTempPath().Replace("\\", "/");
        string Dataset(string fields) => $$"""{ "datasets": [ { "name": "d", "folder": "{{folder}}"{{fields}} } ] }""";
        Assert.Null(TrainingConfig.Parse(Dataset("")).Datasets[0].RepeatFactorThreshold);
        Assert.Equal(0.1, TrainingConfig.Parse(Dataset(""", "repeatFactorThreshold": 0.1""")).Datasets[0].RepeatFactorThreshold);

        var zero = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Dataset(""", "repeatFactorThreshold": 0""")));
        var above = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Dataset(""", "repeatFactorThreshold": 1.5""")));
        var both = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Dataset(""", "repeatFactorThreshold": 0.1, "samplesPerEpoch": 20""")));

        Assert.Contains("dataset 'd' repeatFactorThreshold is 0; expected a share of images in (0, 1]", zero.Message);
        Assert.Contains("repeatFactorThreshold is 1.5", above.Message);
        Assert.Contains("dataset 'd' has both samplesPerEpoch and repeatFactorThreshold", both.Message);
    }

    [Fact]
    public void A_network_that_cannot_be_built_is_refused_naming_the_field()
    {
        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), """, "network": { "spatialBlock": "depthwise" } """)));

        Assert.Contains("network", error.Message);
        Assert.Contains("SpatialDepth is 0", error.Message);
        Assert.DoesNotContain("(Parameter", error.Message);
    }

    [Fact]
    public void An_output_directory_that_is_a_file_is_refused_naming_the_field()
    {
        string file = Path.GetTempFileName();
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), $$""", "outputDirectory": "{{file.Replace("\\", "/")}}" """)));

            Assert.Contains("'outputDirectory'", error.Message);
            Assert.Contains("a file", error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void An_embedding_size_other_than_MiniLMs_is_refused_for_a_MiniLM_run()
    {
        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), """, "network": { "embeddingSize": 512 } """)));

        Assert.Contains("'network.embeddingSize' is 512; expected 384 with the minilm text encoder", error.Message);
    }

    [Theory]
    [InlineData(""", "train": "head" """, "'train' is head; expected all, decoder or lastBlocks")]
    [InlineData(""", "train": "lastBlocks" """, "'trainBlocks' is 0; expected 1 or more with train lastBlocks")]
    [InlineData(""", "trainBlocks": 2 """, "'trainBlocks' is 2; expected 0 (it is read with train lastBlocks only)")]
    [InlineData(""", "textEncoder": "clip" """, "'textEncoder' is clip; expected minilm or fixed without initialModel")]
    [InlineData(""", "network": { "backbone": "vit-l16-384" } """, "'network.backbone' is vit-l16-384; expected resnet18 (the only backbone with pretrained weights here)")]
    [InlineData(""", "network": { "backbone": "vit-h14" } """, "'network.backbone' is vit-h14; expected resnet101, resnet18, vit-b32-384, vit-l16-384")]
    [InlineData(""", "learningRate": -0.1 """, "'learningRate' is -0.1; expected a rate ≥ 0")]
    [InlineData(""", "validationLongSide": 2560 """, "'validationLongSide' is 2560; expected 0 or a multiple of 32 from 32 to 2048")]
    public void AFineTuningSettingThatCannotWorkIsRefusedByName(string extra, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(Path.GetTempPath(), extra)));

        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData(""", "validation": [ { "folder": "F" } ] """, "the validation dataset in 'F' has no 'name'; validation scores are recorded by name")]
    [InlineData(""", "test": [ { "name": "a", "folder": "F" }, { "name": "A ", "folder": "F" } ] """, "2 test datasets are named 'a'; give each its own name")]
    [InlineData(""", "test": [ { "name": "t", "folder": "F", "classWeighting": "median-frequency" } ] """, "test dataset 't' sets 'classWeighting', which only training datasets read")]
    [InlineData(""", "validation": [ { "name": "v", "folder": "F", "repeatFactorThreshold": 0.1 } ] """, "validation dataset 'v' sets 'repeatFactorThreshold', which only training datasets read")]
    [InlineData(""", "freezeBatchNormStatistics": true """, "'freezeBatchNormStatistics' is true without initialModel; expected false, or an initialModel")]
    public void An_evaluation_or_fine_tuning_setting_that_would_be_silently_lost_is_refused_by_name(string extra, string expected)
    {
        string folder = Path.GetTempPath().Replace("\\", "/");

        var error = Assert.Throws<InvalidDataException>(() => TrainingConfig.Parse(Json(folder, extra.Replace("\"F\"", $"\"{folder}\""))));

        Assert.Contains(expected.Replace("'F'", $"'{folder}'"), error.Message);
    }

    [Fact]
    public void TheConfigurationOfTheShippedDefaultModelParses()
    {
        string path = Path.Combine(LSeg.Tests.Shared.SharedData.RepositoryRoot, "configs", "default-model.json");
        string json = File.ReadAllText(path);
        // The dataset folders may be absent here; check the fields, not the folders.
        var config = System.Text.Json.JsonSerializer.Deserialize<TrainingConfig>(json, TrainingConfig.JsonOptions)!;

        Assert.Equal("resnet18", config.Network!.Backbone);
        Assert.Equal(384, config.Network.EmbeddingSize);
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
