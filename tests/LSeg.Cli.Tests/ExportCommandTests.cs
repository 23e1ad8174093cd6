using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Network;

namespace LSeg.Cli.Tests;

/// <summary>
/// <c>lseg export --label-logit-offset LABEL=VALUE</c> and <c>--calibrated-label-drop VALUE --trained-labels PATH</c>:
/// the calibration of labels goes into the package's manifest.
/// </summary>
public class ExportCommandTests
{
    internal static string TinyCheckpoint(TempDirectory temp)
    {
        string path = temp.Combine("tiny.ckpt");
        using var net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = 384, DecoderFeatures = 8 }, pretrainedBackbone: false);
        net.SaveCheckpoint(path);
        return path;
    }

    /// <summary>Exports a tiny random checkpoint to TEMP/package with the given <c>--label-logit-offset</c> values.</summary>
    private static CliResult ExportWithOffsets(TempDirectory temp, params string[] offsets) =>
        CliRunner.RunInProcess([
            "export", "--checkpoint", TinyCheckpoint(temp), "--out", temp.Combine("package"), "--without-minilm",
            .. offsets.SelectMany(offset => new[] { "--label-logit-offset", offset }),
        ]);

    [Fact]
    public void A_checkpoint_whose_width_is_not_MiniLMs_is_refused_instead_of_exported_unloadable()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("wide.ckpt");
        using (var net = LSegNet.Create(new LSegNetConfig { EmbeddingSize = 512, DecoderFeatures = 8 }, pretrainedBackbone: false))
            net.SaveCheckpoint(path);

        var result = CliRunner.RunInProcess(["export", "--checkpoint", path, "--out", temp.Combine("package"), "--without-minilm"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("MiniLM (384-d label embeddings, no projection), but the network's embeddingSize is 512", result.StdErr);
        Assert.False(Directory.Exists(temp.Combine("package")));
    }

    [Fact]
    public void Label_logit_offsets_are_written_to_the_manifest_at_format_version_3()
    {
        using var temp = new TempDirectory();

        var result = ExportWithOffsets(temp, "other=1.25", "sky=-0.5");

        Assert.True(result.ExitCode == 0, result.ToString());
        var manifest = ModelManifest.FromJson(File.ReadAllText(temp.Combine("package", ModelManifest.FileName)));
        Assert.Equal(3, manifest.FormatVersion);
        Assert.Equal(new Dictionary<string, double> { ["other"] = 1.25, ["sky"] = -0.5 }, manifest.LabelLogitOffsets);
    }

    [Theory]
    [InlineData("other", "LABEL=VALUE")]
    [InlineData("other=much", "LABEL=VALUE")]
    [InlineData("=1", "LABEL=VALUE")]
    public void A_malformed_offset_fails_with_one_line_and_writes_nothing(string offset, string message)
    {
        using var temp = new TempDirectory();

        var result = ExportWithOffsets(temp, offset);

        Assert.Equal(2, result.ExitCode); // a malformed option value is a usage error
        Assert.Contains(message, Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("package")));
    }

    /// <summary>A checkpoint folder as <c>lseg train</c> writes it (tiny random weights), with <paramref name="runConfig"/> as its run configuration.</summary>
    internal static string TinyCheckpointFolder(TempDirectory temp, string runConfig, string name = "best", int decoderFeatures = 8)
    {
        string folder = temp.Combine(name);
        Directory.CreateDirectory(folder);
        // 384-d: the width of the MiniLM text side a run without text settings exports with.
        var config = new LSegNetConfig { EmbeddingSize = 384, DecoderFeatures = decoderFeatures };
        using (var net = LSegNet.Create(config, pretrainedBackbone: false))
            net.save(Path.Combine(folder, LSeg.Training.Bridge.Training.Trainer.ModelFileName));
        File.WriteAllText(Path.Combine(folder, LSeg.Training.Bridge.Training.Trainer.NetConfigFileName),
            System.Text.Json.JsonSerializer.Serialize(config, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)));
        File.WriteAllText(Path.Combine(folder, LSeg.Training.Bridge.Training.Trainer.RunConfigFileName), runConfig);
        return folder;
    }

    [Fact]
    public void A_run_trained_from_scratch_exports_a_package_sized_for_the_side_its_run_validated_and_tested_at()
    {
        using var temp = new TempDirectory();
        string folder = TinyCheckpointFolder(temp, "{ \"validationLongSide\": 320 }");

        var fromRun = CliRunner.RunInProcess(["export", "--checkpoint", folder, "--out", temp.Combine("package"), "--without-minilm"]);
        using var bare = new TempDirectory();
        var fromFile = ExportWithOffsets(bare);

        Assert.True(fromRun.ExitCode == 0, fromRun.ToString());
        Assert.Equal(320, ModelManifest.FromJson(File.ReadAllText(temp.Combine("package", ModelManifest.FileName))).DefaultInputSize);
        // A bare checkpoint file has no run: the exporter's own default.
        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        Assert.Equal(LSeg.Training.Bridge.Export.ModelPackageExportOptions.Defaults.DefaultInputSize,
            ModelManifest.FromJson(File.ReadAllText(bare.Combine("package", ModelManifest.FileName))).DefaultInputSize);
    }

    [Fact]
    public void A_checkpoint_folder_whose_run_configuration_is_not_JSON_fails_with_one_line_and_writes_nothing()
    {
        using var temp = new TempDirectory();
        string folder = TinyCheckpointFolder(temp, "{ \"textPrompts\": [");

        var result = CliRunner.RunInProcess(["export", "--checkpoint", folder, "--out", temp.Combine("package"), "--without-minilm"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("config.json", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("package")));
    }

    [Fact]
    public void A_checkpoint_of_a_fixed_label_run_is_refused_and_writes_nothing()
    {
        using var temp = new TempDirectory();
        string folder = TinyCheckpointFolder(temp, "{ \"textEncoder\": \"fixed\" }");

        var result = CliRunner.RunInProcess(["export", "--checkpoint", folder, "--out", temp.Combine("package"), "--without-minilm"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is of a fixed-label run", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("package")));
    }

    [Fact]
    public void The_same_label_twice_ignoring_case_is_a_usage_error_before_the_checkpoint_loads()
    {
        using var temp = new TempDirectory();

        var result = ExportWithOffsets(temp, "other=1", "Other=2");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("gives 'Other' twice (labels match ignoring case)", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("package")));
    }

    [Theory]
    [InlineData("other=NaN")]
    [InlineData("other=Infinity")]
    public void An_offset_that_is_not_a_finite_number_is_a_usage_error(string pair)
    {
        using var temp = new TempDirectory();

        var result = ExportWithOffsets(temp, pair);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"--label-logit-offset '{pair}' must give a finite number", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("package")));
    }

    [Fact]
    public void A_calibrated_label_drop_is_written_with_the_trained_names_of_a_run_at_format_version_4()
    {
        using var temp = new TempDirectory();
        // A run's label-embeddings.json: its keys are the trained names (the vectors do not matter here).
        File.WriteAllText(temp.Combine("label-embeddings.json"), """{ "sky": [0.1, 0.2], "other": [0.3, 0.4] }""");

        var result = CliRunner.RunInProcess([
            "export", "--checkpoint", TinyCheckpoint(temp), "--out", temp.Combine("package"), "--without-minilm",
            "--label-logit-offset", "other=2", "--calibrated-label-drop", "3.5", "--trained-labels", temp.Combine("label-embeddings.json"),
        ]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var manifest = ModelManifest.FromJson(File.ReadAllText(temp.Combine("package", ModelManifest.FileName)));
        Assert.Equal(4, manifest.FormatVersion);
        Assert.Equal(3.5, manifest.UntrainedLabels!.CalibratedLabelDrop);
        Assert.Equal(["sky", "other"], manifest.UntrainedLabels.TrainedLabels);
    }

    [Fact]
    public void An_unoffered_label_similarity_is_written_beside_the_trained_names_at_format_version_6()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("names.txt"), "sky\ngrass\n");

        var result = CliRunner.RunInProcess([
            "export", "--checkpoint", TinyCheckpoint(temp), "--out", temp.Combine("package"), "--without-minilm",
            "--label-logit-offset", "other=2", "--calibrated-label-drop", "3.5", "--trained-labels", temp.Combine("names.txt"),
            "--unoffered-label-similarity", "0.6",
        ]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var manifest = ModelManifest.FromJson(File.ReadAllText(temp.Combine("package", ModelManifest.FileName)));
        Assert.Equal(6, manifest.FormatVersion);
        Assert.Equal(0.6, manifest.UntrainedLabels!.UnofferedLabelSimilarity);
        Assert.Equal(["sky", "grass"], manifest.UntrainedLabels.TrainedLabels);
    }

    [Fact]
    public void Names_to_absorb_beside_untrained_ones_are_written_with_their_limit_at_format_version_7()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("names.txt"), "sky\ngrass\ncar\n");
        File.WriteAllText(temp.Combine("stuff.txt"), "sky\ngrass\n");

        var result = CliRunner.RunInProcess([
            "export", "--checkpoint", TinyCheckpoint(temp), "--out", temp.Combine("package"), "--without-minilm",
            "--label-logit-offset", "other=2", "--calibrated-label-drop", "3.5", "--trained-labels", temp.Combine("names.txt"),
            "--unoffered-label-similarity-beside-untrained", "0.3", "--unoffered-labels-beside-untrained", temp.Combine("stuff.txt"),
        ]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var manifest = ModelManifest.FromJson(File.ReadAllText(temp.Combine("package", ModelManifest.FileName)));
        Assert.Equal(7, manifest.FormatVersion);
        Assert.Null(manifest.UntrainedLabels!.UnofferedLabelSimilarity);
        Assert.Equal(0.3, manifest.UntrainedLabels.UnofferedLabelSimilarityBesideUntrained);
        Assert.Equal(["sky", "grass"], manifest.UntrainedLabels.UnofferedLabelsBesideUntrained);
    }

    [Theory]
    [InlineData(new[] { "--calibrated-label-drop", "3", "--trained-labels", "names.txt", "--label-logit-offset", "other=2", "--unoffered-label-similarity-beside-untrained", "0.3", "--unoffered-labels-beside-untrained", "strangers.txt" }, "'road' in untrainedLabels.unofferedLabelsBesideUntrained")]
    [InlineData(new[] { "--calibrated-label-drop", "3", "--trained-labels", "missing.txt" }, "does not exist")]
    public void A_calibration_whose_names_do_not_hold_fails_with_one_line_and_writes_nothing(string[] options, string message) =>
        AssertExportRefused(options, message, exitCode: 1);

    [Theory]
    [InlineData(new[] { "--calibrated-label-drop", "3", "--trained-labels", "names.txt" }, "given a --label-logit-offset (such as other=2), which gives none")]
    [InlineData(new[] { "--calibrated-label-drop", "-1", "--trained-labels", "names.txt", "--label-logit-offset", "other=2" }, "--calibrated-label-drop must be 0 or more")]
    [InlineData(new[] { "--calibrated-label-drop", "3", "--trained-labels", "names.txt", "--label-logit-offset", "other=2", "--unoffered-label-similarity", "2" }, "--unoffered-label-similarity must be above -1 and at most 1; got 2.")]
    [InlineData(new[] { "--calibrated-label-drop", "3", "--trained-labels", "names.txt", "--label-logit-offset", "other=2", "--unoffered-label-similarity", "-1" }, "--unoffered-label-similarity must be above -1 and at most 1; got -1.")]
    [InlineData(new[] { "--calibrated-label-drop", "3", "--trained-labels", "names.txt", "--label-logit-offset", "other=2", "--unoffered-label-similarity-beside-untrained", "0.3" }, "needs --unoffered-labels-beside-untrained")]
    [InlineData(new[] { "--calibrated-label-drop", "3", "--trained-labels", "names.txt", "--label-logit-offset", "other=2", "--unoffered-labels-beside-untrained", "names.txt" }, "only serves --unoffered-label-similarity-beside-untrained")]
    [InlineData(new[] { "--calibrated-label-drop", "3" }, "needs --trained-labels")]
    [InlineData(new[] { "--calibrated-label-drop", "3,5", "--trained-labels", "names.txt", "--label-logit-offset", "other=2" }, "--calibrated-label-drop '3,5' is not a number: use '.' as the decimal separator")]
    [InlineData(new[] { "--calibrated-label-drop", "3", "--trained-labels", "names.txt", "--label-logit-offset", "other=2", "--unoffered-label-similarity", "0,4" }, "--unoffered-label-similarity '0,4' is not a number: use '.'")]
    [InlineData(new[] { "--trained-labels", "names.txt" }, "give both or neither")]
    [InlineData(new[] { "--unoffered-label-similarity", "0.6" }, "needs the names the network was trained with")]
    public void A_calibration_option_without_its_companion_or_out_of_range_is_a_usage_error_naming_the_options(string[] options, string message) =>
        AssertExportRefused(options, message, exitCode: 2);

    /// <summary>Exports a tiny checkpoint with <paramref name="options"/> (names.txt: sky, other; strangers.txt: road) and expects one error line and no package.</summary>
    private static void AssertExportRefused(string[] options, string message, int exitCode)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("names.txt"), "sky\nother\n");
        File.WriteAllText(temp.Combine("strangers.txt"), "road\n");
        string[] resolved = options.Select(o => o.EndsWith(".txt", StringComparison.Ordinal) ? temp.Combine(o) : o).ToArray();

        var result = CliRunner.RunInProcess(["export", "--checkpoint", TinyCheckpoint(temp), "--out", temp.Combine("package"), "--without-minilm", .. resolved]);

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Contains(message, Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("package")));
    }
}
