using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Tests.Data;
using LSeg.Training.Bridge.Training;

namespace LSeg.Training.Bridge.Tests.Training;

public sealed class TrainerSmokeTests : IDisposable
{
    private readonly TestDatasetFolder _data = new(images: 4, width: 64, height: 48);
    private readonly string _output = Path.Combine(Path.GetTempPath(), "lseg-train-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        _data.Dispose();
        if (Directory.Exists(_output))
            Directory.Delete(_output, recursive: true);
    }

    private TrainingConfig TinyConfig(int epochs) => new()
    {
        Name = "tiny",
        Datasets = [new DatasetConfig { Name = "tiny", Folder = _data.Root, Split = "train.txt" }],
        Validation = [new DatasetConfig { Name = "tiny-val", Folder = _data.Root }],
        PretrainedBackbone = false,
        Network = new() { EmbeddingSize = 16, DecoderFeatures = 16 },
        TextEncoder = "fixed",
        Augmentation = new() { CropHeight = 32, CropWidth = 32 },
        Epochs = epochs,
        BatchSize = 2,
        LearningRate = 1e-3,
        Optimizer = "adamw",
        OutputDirectory = _output,
    };

    [Fact]
    public void OneEpochWritesACheckpointAndTheCurveAndResumeContinuesWithTheNextEpoch()
    {
        var lines = new List<string>();

        var first = Trainer.Run(TinyConfig(epochs: 1), resume: false, lines.Add);

        Assert.Equal(1, first.State.EpochsCompleted);
        Assert.True(File.Exists(Path.Combine(_output, "checkpoints", "last", Trainer.ModelFileName)));
        Assert.True(File.Exists(Path.Combine(_output, "checkpoints", "best", CheckpointStore.StateFileName)));
        Assert.True(new FileInfo(Path.Combine(_output, "training-curve.png")).Length > 0);
        Assert.Contains(lines, l => l.Contains("img/s") && l.Contains("ETA") && l.Contains("loss") && l.Contains("lr"));
        Assert.False(double.IsNaN(first.State.History[0].ValidationMeanIoU));
        // The rate the last step used, not the schedule's next value (0 once a run's last step is taken).
        Assert.True(first.State.History[0].LearningRate > 0, $"learning rate {first.State.History[0].LearningRate}");

        var second = Trainer.Run(TinyConfig(epochs: 2), resume: true, lines.Add);

        Assert.Equal(2, second.State.EpochsCompleted);
        Assert.Equal(new[] { 0, 1 }, second.State.History.Select(h => h.Epoch));
        Assert.Contains(lines, l => l.StartsWith("resumed from", StringComparison.Ordinal));
    }

    [Fact]
    public void A_stop_asked_for_during_the_last_epoch_stops_before_the_final_test_and_a_resume_runs_the_test()
    {
        var config = TinyConfig(epochs: 1);
        config.Test = [new DatasetConfig { Name = "tiny-test", Folder = _data.Root }];
        using var stop = new CancellationTokenSource();
        var lines = new List<string>();

        // Asked while the last epoch's checkpoint is being saved, as a Ctrl+C there would be.
        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Run(config, resume: false, line =>
        {
            lines.Add(line);
            if (line.StartsWith("epoch 1/1 done", StringComparison.Ordinal))
                stop.Cancel();
        }, stop.Token));

        Assert.Equal(1, CheckpointStore.ReadState(Path.Combine(_output, "checkpoints", "last")).EpochsCompleted);
        Assert.False(File.Exists(Path.Combine(_output, "test-tiny-test.json")));
        Assert.DoesNotContain(lines, l => l.StartsWith("training done", StringComparison.Ordinal));
        var again = TinyConfig(epochs: 1);
        again.Test = config.Test;
        var resumed = Trainer.Run(again, resume: true, lines.Add);
        Assert.Equal(1, resumed.State.EpochsCompleted);
        Assert.True(File.Exists(Path.Combine(_output, "test-tiny-test.json")));
        Assert.Contains(lines, l => l.StartsWith("training done", StringComparison.Ordinal));
    }

    [Fact]
    public void A_stop_asked_for_while_the_test_set_loads_stops_the_test_at_its_first_image()
    {
        var config = TinyConfig(epochs: 1);
        Trainer.Run(config, resume: false, _ => { });
        var resumed = TinyConfig(epochs: 1);
        resumed.Test = [new DatasetConfig { Name = "tiny-test", Folder = _data.Root }];
        using var stop = new CancellationTokenSource();

        // Resumed with every epoch done, the run goes straight to the test; the stop comes as its images are read.
        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Run(resumed, resume: true, line =>
        {
            if (line.StartsWith("dataset tiny-test:", StringComparison.Ordinal))
                stop.Cancel();
        }, stop.Token));

        Assert.False(File.Exists(Path.Combine(_output, "test-tiny-test.json")));
    }

    [Fact]
    public void A_run_killed_after_saving_best_but_before_last_resumes_from_best()
    {
        var lines = new List<string>();
        Trainer.Run(TinyConfig(epochs: 1), resume: false, lines.Add);
        // What a kill between the two saves of the first epoch leaves: "best" complete, "last" never written.
        Directory.Delete(Path.Combine(_output, "checkpoints", "last"), recursive: true);

        var resumed = Trainer.Run(TinyConfig(epochs: 2), resume: true, lines.Add);

        Assert.Equal(2, resumed.State.EpochsCompleted);
        Assert.Equal(new[] { 0, 1 }, resumed.State.History.Select(h => h.Epoch));
        Assert.Contains(lines, l => l.StartsWith("resumed from", StringComparison.Ordinal) && l.Contains("best"));
    }

    [Fact]
    public void ResumeRefusesAConfigurationThatChangedWhatTheRunLearnsAndNamesTheFields()
    {
        Trainer.Run(TinyConfig(epochs: 1), resume: false, _ => { });
        var changed = TinyConfig(epochs: 1);
        changed.LearningRate = 5e-4;
        changed.Seed = 9;

        var error = Assert.Throws<InvalidDataException>(() => Trainer.Run(changed, resume: true, _ => { }));

        Assert.Contains("the configuration changed since it was written (learningRate, seed)", error.Message);
        // Where it runs and how it is checked may change: threads, and epochs to train further.
        var further = TinyConfig(epochs: 2);
        further.OutputDirectory = _output + Path.DirectorySeparatorChar; // the same folder spelled otherwise (or moved): still this run
        further.Threads = 1;
        Assert.Equal(2, Trainer.Run(further, resume: true, _ => { }).State.EpochsCompleted);
    }

    [Fact]
    public void A_fresh_run_encodes_its_labels_again_instead_of_reading_the_label_cache_of_an_attempt_stopped_before_its_first_checkpoint()
    {
        TrainingConfig MiniLmConfig(string output)
        {
            var config = TinyConfig(epochs: 1);
            config.Validation = [];
            config.TextEncoder = "minilm";
            config.Network = new() { EmbeddingSize = 384, DecoderFeatures = 16 };
            config.OutputDirectory = output;
            return config;
        }
        // What an attempt with other prompts (or another text encoder) leaves when it is stopped in its first epoch:
        // the label cache, keyed by label text alone, and no checkpoint.
        Directory.CreateDirectory(_output);
        var stale = new float[384];
        stale[0] = 1;
        string cachePath = Path.Combine(_output, Trainer.LabelEmbeddingsFileName);
        File.WriteAllText(cachePath, JsonSerializer.Serialize(new Dictionary<string, float[]> { ["sky"] = stale }));
        string clean = _output + "-clean";
        try
        {
            Trainer.Run(MiniLmConfig(_output), resume: false, _ => { });
            Trainer.Run(MiniLmConfig(clean), resume: false, _ => { });

            float[] Sky(string run) => JsonSerializer.Deserialize<Dictionary<string, float[]>>(File.ReadAllText(Path.Combine(run, Trainer.LabelEmbeddingsFileName)))!["sky"];
            Assert.NotEqual(stale, Sky(_output));
            Assert.Equal(Sky(clean), Sky(_output));
        }
        finally
        {
            if (Directory.Exists(clean))
                Directory.Delete(clean, recursive: true);
        }
    }

    [Fact]
    public void A_zero_shot_run_whose_test_dataset_lacks_the_folds_classes_is_refused_before_training()
    {
        // Fold 0 is building, grass, tree, cow, horse, sheep; the tiny dataset has sky, grass and cow only. Its test
        // would throw only after the last epoch.
        var config = TinyConfig(epochs: 1);
        config.ZeroShotFold = 0;
        config.Test = [new DatasetConfig { Name = "tiny-test", Folder = _data.Root }];

        var error = Assert.Throws<InvalidDataException>(() => Trainer.Run(config, resume: false, _ => { }));

        Assert.Contains("Test dataset 'tiny-test' has no class 'building', 'tree', 'horse', 'sheep' of zero-shot fold 0", error.Message);
        Assert.False(Directory.Exists(Path.Combine(_output, "checkpoints", "last")));
    }

    [Fact]
    public void A_fixed_label_run_validated_on_a_class_it_never_trains_is_refused_before_the_first_epoch()
    {
        // The training dataset leaves "cow" out, so the classifier learns rows for sky and grass only; the validation
        // set would be scored with "cow" and fail after the first epoch's work.
        var config = TinyConfig(epochs: 1);
        config.Datasets[0].ExcludedClasses = ["cow"];

        var error = Assert.Throws<InvalidDataException>(() => Trainer.Run(config, resume: false, _ => { }));

        Assert.Contains("Dataset 'tiny-val' is scored with 'cow', which no training dataset gives the fixed-label classifier to learn", error.Message);
        Assert.False(Directory.Exists(Path.Combine(_output, "checkpoints", "last")));
        var zeroShot = TinyConfig(epochs: 1);
        zeroShot.ZeroShotFold = 3;
        Assert.Contains("cannot be tested on zero-shot fold 3", Assert.Throws<InvalidDataException>(() => Trainer.Run(zeroShot, resume: false, _ => { })).Message);
    }

    [Fact]
    public void A_test_dataset_scores_without_the_classes_it_excludes()
    {
        var config = TinyConfig(epochs: 1);
        config.Datasets[0].ExcludedClasses = ["cow"];
        config.Validation[0].ExcludedClasses = ["cow"];
        config.Test = [new DatasetConfig { Name = "tiny-test", Folder = _data.Root, ExcludedClasses = ["cow"] }];

        var result = Trainer.Run(config, resume: false, _ => { });

        Assert.Equal(["sky", "grass"], Assert.Single(result.Test).ClassNames);
        var typo = TinyConfig(epochs: 1);
        typo.OutputDirectory = _output + "-typo";
        typo.Test = [new DatasetConfig { Name = "tiny-test", Folder = _data.Root, ExcludedClasses = ["horse"] }];
        Assert.Contains("Test dataset 'tiny-test' excludes class 'horse', which is not one of its classes", Assert.Throws<InvalidDataException>(() => Trainer.Run(typo, resume: false, _ => { })).Message);
    }

    [Fact]
    public void A_resume_with_other_validation_settings_does_not_compare_its_scores_with_the_old_best()
    {
        Trainer.Run(TinyConfig(epochs: 1), resume: false, _ => { });
        // A best score no later epoch can reach, as a validation set on which the old weights happened to be perfect.
        string stateFile = Path.Combine(_output, "checkpoints", "last", CheckpointStore.StateFileName);
        var state = TrainingState.FromJson(File.ReadAllText(stateFile));
        state.BestScore = 1.0;
        File.WriteAllText(stateFile, state.ToJson());

        var sameValidation = TinyConfig(epochs: 2);
        Assert.Equal(0, Trainer.Run(sameValidation, resume: true, _ => { }).State.BestEpoch);
        var lines = new List<string>();
        var otherValidation = TinyConfig(epochs: 3);
        otherValidation.ValidationMaxImages = 2;
        var resumed = Trainer.Run(otherValidation, resume: true, lines.Add);

        Assert.Equal(2, resumed.State.BestEpoch);
        Assert.Contains(lines, l => l.Contains("the validation changed since the checkpoint (validationMaxImages)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_dataset_of_one_image_that_could_never_fill_a_batch_is_refused_naming_it()
    {
        using var single = new TestDatasetFolder(images: 1, width: 64, height: 48);
        var config = TinyConfig(epochs: 1);
        config.Datasets = [.. config.Datasets, new DatasetConfig { Name = "single", Folder = single.Root }];

        var error = Assert.Throws<InvalidDataException>(() => Trainer.Run(config, resume: false, _ => { }));

        Assert.Contains("Dataset 'single' gives one image per epoch", error.Message);
        config.Datasets[1].SamplesPerEpoch = 2; // repeated: two crops of it fill a batch
        Assert.Equal(1, Trainer.Run(config, resume: false, _ => { }).State.EpochsCompleted);
    }

    [Fact]
    public void A_dataset_whose_label_maps_are_all_void_is_refused_naming_it_and_leaves_no_run_folder()
    {
        // Every loss would be NaN and skipped: "loss 0.0000" logged for each batch, and a package written as if trained.
        using var unlabelled = new TestDatasetFolder(images: 4, width: 64, height: 48);
        foreach (string map in Directory.GetFiles(Path.Combine(unlabelled.Root, "labels")))
            new LSeg.Training.Bridge.Data.LabelMap(64, 48, new byte[64 * 48]).Save(map);
        var config = TinyConfig(epochs: 1);
        config.Datasets = [new DatasetConfig { Name = "unlabelled", Folder = unlabelled.Root }];

        var error = Assert.Throws<InvalidDataException>(() => Trainer.Run(config, resume: false, _ => { }));

        Assert.Contains("Dataset 'unlabelled' has no pixel of a class it trains", error.Message);
        Assert.False(Directory.Exists(_output), "the refused run wrote its output folder");
    }

    [Fact]
    public void A_crop_larger_than_2048_on_a_side_is_refused_before_anything_is_read()
    {
        // A 100000-row crop was accepted, and the first batch took all the machine's memory.
        var config = TinyConfig(epochs: 1);
        config.Augmentation = new() { CropHeight = 100_000, CropWidth = 64 };

        var error = Assert.Throws<InvalidDataException>(() => Trainer.Run(config, resume: false, _ => { }));

        Assert.Contains("100000×64 (cropHeight × cropWidth) is over 2048 pixels", error.Message);
        Assert.False(Directory.Exists(_output));
    }

    [Fact]
    public void Episodes_with_two_bottleneck_blocks_are_refused_before_training()
    {
        // Trained on every label and gathered to ["other", c], two such blocks would see a maximum the test never sees.
        var config = TinyConfig(epochs: 1);
        config.Network = new() { EmbeddingSize = 16, DecoderFeatures = 16, SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 2 };
        config.LabelSampling = new() { EpisodeProbability = 0.5 };

        var error = Assert.Throws<InvalidDataException>(() => Trainer.Run(config, resume: false, _ => { }));

        Assert.Contains("with 2 bottleneck spatial blocks", error.Message);
        config.Network = new() { EmbeddingSize = 16, DecoderFeatures = 16, SpatialBlock = SpatialBlock.Bottleneck, SpatialDepth = 1 };
        Assert.Equal(1, Trainer.Run(config, resume: false, _ => { }).State.EpochsCompleted);
    }

    [Fact]
    public void A_dataset_class_named_other_is_refused_when_label_sampling_adds_its_own_other()
    {
        var config = TinyConfig(epochs: 1);
        config.Datasets[0].LabelNames = new() { ["cow"] = "Other" };
        config.LabelSampling = new() { SubsetProbability = 0.5 };

        var error = Assert.Throws<InvalidDataException>(() => TrainingData.Load(config, _ => { }));

        Assert.Contains("Dataset 'tiny' trains a label 'Other', and labelSampling adds its own \"other\"", error.Message);
        // Without subsets or episodes no catch-all is added: the class is an ordinary label.
        config.LabelSampling = new();
        Assert.Contains("Other", TrainingData.Load(config, _ => { }).LabelSets[0].Texts);
    }

    [Fact]
    public void Distractors_are_refused_when_no_other_training_dataset_gives_a_name_to_draw()
    {
        var config = TinyConfig(epochs: 1);
        config.LabelSampling = new() { SubsetProbability = 0.5, Distractors = 2 };

        var error = Assert.Throws<InvalidDataException>(() => TrainingData.Load(config, _ => { }));

        Assert.Contains("labelSampling.distractors is 2, but no dataset has a distractor name", error.Message);
        Assert.Contains("this run trains one dataset", error.Message);
    }

    [Fact]
    public void Labels_the_text_encoder_cannot_tell_apart_or_read_are_refused_before_the_first_epoch()
    {
        TrainingConfig MiniLmConfig()
        {
            var config = TinyConfig(epochs: 1);
            config.TextEncoder = "minilm";
            config.Network = new() { EmbeddingSize = 384, DecoderFeatures = 16 };
            return config;
        }
        // MiniLM strips accents: "café" and "cafe" are one embedding, so the second could never win a pixel (and the
        // package written after the last epoch would refuse the set). Names differing only in case are refused earlier.
        var sameEmbedding = MiniLmConfig();
        sameEmbedding.Datasets[0].LabelNames = new() { ["sky"] = "café", ["grass"] = "cafe" };
        // A validation label of no word MiniLM reads (a symbol outside its vocabulary: unknown tokens only).
        var unreadable = MiniLmConfig();
        unreadable.Validation[0].LabelNames = new() { ["cow"] = "\u2603" };
        var lines = new List<string>();

        var same = Assert.Throws<InvalidDataException>(() => Trainer.Run(sameEmbedding, resume: false, lines.Add));
        Directory.Delete(_output, recursive: true);
        var unknown = Assert.Throws<InvalidDataException>(() => Trainer.Run(unreadable, resume: false, lines.Add));

        Assert.Contains("Training dataset 'tiny' has labels 'café' and 'cafe', which the text encoder gives one embedding", same.Message);
        Assert.Contains("Label '\u2603' cannot be encoded: the text encoder knows none of its words", unknown.Message);
        Assert.DoesNotContain(lines, l => l.StartsWith("epoch ", StringComparison.Ordinal));
    }

    [Fact]
    public void A_class_renamed_to_a_zero_shot_folds_name_is_excluded_with_the_fold()
    {
        // Fold 1 holds sky and car: "cow" renamed "Car" would train the fold's name "car".
        var config = TinyConfig(epochs: 1);
        config.ZeroShotFold = 1;
        config.Validation = [];
        config.Datasets[0].LabelNames = new() { ["cow"] = "Car" };

        var data = TrainingData.Load(config, _ => { });

        Assert.Equal(["grass"], data.LabelSets[0].Texts);
    }

    [Fact]
    public void AFreshRunRefusesToOverwriteAnExistingRunAndResumeNeedsACheckpoint()
    {
        var resumeError = Assert.Throws<InvalidOperationException>(() => Trainer.Run(TinyConfig(1), resume: true, _ => { }));
        Assert.Contains("no complete checkpoint", resumeError.Message);
        Assert.False(Directory.Exists(_output)); // a refused resume leaves no empty run folder

        Trainer.Run(TinyConfig(1), resume: false, _ => { });
        var overwriteError = Assert.Throws<InvalidOperationException>(() => Trainer.Run(TinyConfig(1), resume: false, _ => { }));
        Assert.Contains("already holds a training run", overwriteError.Message);
    }

    [Fact]
    public void The_network_of_a_JSON_configuration_with_its_temperature_and_activation_is_the_one_trained_and_checkpointed()
    {
        var json = JsonNode.Parse(TinyConfig(epochs: 1).ToJson())!;
        json["network"] = JsonNode.Parse("""
            { "embeddingSize": 16, "decoderFeatures": 16, "spatialBlock": "depthwise", "spatialDepth": 1, "activation": "relu", "temperature": 0.2 }
            """);
        var config = TrainingConfig.Parse(json.ToJsonString());

        var result = Trainer.Run(config, resume: false, _ => { });

        var expected = new LSegNetConfig
        {
            EmbeddingSize = 16, DecoderFeatures = 16, SpatialBlock = SpatialBlock.Depthwise, SpatialDepth = 1,
            Activation = SpatialActivation.Relu, Temperature = 0.2,
        };
        Assert.Equal(expected, result.NetworkConfig);
        string saved = File.ReadAllText(Path.Combine(_output, "checkpoints", "last", Trainer.NetConfigFileName));
        Assert.Equal(expected, JsonSerializer.Deserialize<LSegNetConfig>(saved, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
    }
}
