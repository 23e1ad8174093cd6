using LSeg.MLNet.Package;

namespace LSeg.Cli.Tests;

/// <summary>
/// <c>lseg upgrade</c> on a calibrated package changes what its options give and keeps the rest of the package's
/// <c>untrainedLabels</c>: a new drop must not quietly switch the absorption of unoffered names off. And
/// <c>lseg quantize</c> on the same kind of exported package refuses what would write a useless or miscalibrated copy.
/// </summary>
public class UpgradeCommandTests
{
    /// <summary>A tiny package at format 7: trained sky, grass, car; "other" +2, drop 3.5; both absorption rules.</summary>
    private static string CalibratedPackage(TempDirectory temp)
    {
        File.WriteAllText(temp.Combine("names.txt"), "sky\ngrass\ncar\n");
        File.WriteAllText(temp.Combine("stuff.txt"), "sky\ngrass\n");
        var result = CliRunner.RunInProcess([
            "export", "--checkpoint", ExportCommandTests.TinyCheckpoint(temp), "--out", temp.Combine("package"), "--without-minilm",
            "--label-logit-offset", "other=2", "--calibrated-label-drop", "3.5", "--trained-labels", temp.Combine("names.txt"),
            "--unoffered-label-similarity", "0.4", "--unoffered-labels", temp.Combine("stuff.txt"),
            "--unoffered-label-similarity-beside-untrained", "0.3", "--unoffered-labels-beside-untrained", temp.Combine("stuff.txt"),
        ]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return temp.Combine("package");
    }

    private static ModelManifest ManifestOf(string package) => ModelManifest.FromJson(File.ReadAllText(Path.Combine(package, ModelManifest.FileName)));

    [Fact]
    public void A_new_drop_keeps_the_packages_trained_names_and_both_absorption_rules()
    {
        using var temp = new TempDirectory();
        string package = CalibratedPackage(temp);

        var result = CliRunner.RunInProcess("upgrade", "--model", package, "--out", temp.Combine("upgraded"), "--without-minilm", "--calibrated-label-drop", "4");

        Assert.True(result.ExitCode == 0, result.ToString());
        var upgraded = ManifestOf(temp.Combine("upgraded")).UntrainedLabels!;
        Assert.Equal(7, ManifestOf(temp.Combine("upgraded")).FormatVersion);
        Assert.Equal(4, upgraded.CalibratedLabelDrop);
        Assert.Equal(["sky", "grass", "car"], upgraded.TrainedLabels);
        Assert.Equal(0.4, upgraded.UnofferedLabelSimilarity);
        Assert.Equal(["sky", "grass"], upgraded.UnofferedLabels);
        Assert.Equal(0.3, upgraded.UnofferedLabelSimilarityBesideUntrained);
        Assert.Equal(["sky", "grass"], upgraded.UnofferedLabelsBesideUntrained);
    }

    [Fact]
    public void A_new_similarity_limit_keeps_the_packages_list_of_absorbed_names()
    {
        using var temp = new TempDirectory();
        string package = CalibratedPackage(temp);

        var result = CliRunner.RunInProcess("upgrade", "--model", package, "--out", temp.Combine("upgraded"), "--without-minilm", "--unoffered-label-similarity", "0.45");

        Assert.True(result.ExitCode == 0, result.ToString());
        var upgraded = ManifestOf(temp.Combine("upgraded")).UntrainedLabels!;
        Assert.Equal(0.45, upgraded.UnofferedLabelSimilarity);
        Assert.Equal(["sky", "grass"], upgraded.UnofferedLabels); // not null, which would absorb every trained name, car included
        Assert.Equal(["sky", "grass"], upgraded.UnofferedLabelsBesideUntrained);
    }

    [Theory]
    [InlineData("--unoffered-label-similarity", "5")]
    [InlineData("--unoffered-label-similarity-beside-untrained", "-2")]
    public void A_similarity_that_is_no_cosine_is_a_usage_error_naming_the_flag_before_the_package_is_read(string option, string value)
    {
        using var temp = new TempDirectory();

        var result = CliRunner.RunInProcess("upgrade", "--model", temp.Combine("no-package"), "--out", temp.Combine("upgraded"), option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{option} must be above -1 and at most 1; got {value}.", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("upgraded")));
    }

    [Fact]
    public void New_trained_names_replace_the_packages_and_keep_its_drop()
    {
        using var temp = new TempDirectory();
        string package = CalibratedPackage(temp);
        File.WriteAllText(temp.Combine("more.txt"), "sky\ngrass\ncar\nroad\n");

        var result = CliRunner.RunInProcess("upgrade", "--model", package, "--out", temp.Combine("upgraded"), "--without-minilm", "--trained-labels", temp.Combine("more.txt"));

        Assert.True(result.ExitCode == 0, result.ToString());
        var upgraded = ManifestOf(temp.Combine("upgraded")).UntrainedLabels!;
        Assert.Equal(3.5, upgraded.CalibratedLabelDrop);
        Assert.Equal(["sky", "grass", "car", "road"], upgraded.TrainedLabels);
        Assert.Equal(["sky", "grass"], upgraded.UnofferedLabelsBesideUntrained);
    }

    [Fact]
    public void Trained_names_that_leave_out_an_absorbed_name_are_refused_naming_it_and_nothing_is_written()
    {
        using var temp = new TempDirectory();
        string package = CalibratedPackage(temp);
        File.WriteAllText(temp.Combine("fewer.txt"), "sky\ncar\n");

        var result = CliRunner.RunInProcess("upgrade", "--model", package, "--out", temp.Combine("upgraded"), "--without-minilm",
            "--calibrated-label-drop", "3", "--trained-labels", temp.Combine("fewer.txt"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("'grass'", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("upgraded")));
    }

    [Fact]
    public void Trained_names_from_a_binary_file_or_a_folder_are_refused()
    {
        using var temp = new TempDirectory();
        string package = CalibratedPackage(temp);
        string image = Images.RedLeftBlueRight(temp.Combine("photo.png"));

        var binary = CliRunner.RunInProcess("upgrade", "--model", package, "--out", temp.Combine("a"), "--without-minilm", "--trained-labels", image);
        var folder = CliRunner.RunInProcess("upgrade", "--model", package, "--out", temp.Combine("b"), "--without-minilm", "--trained-labels", temp.Path);

        Assert.Equal(1, binary.ExitCode);
        Assert.Contains("is not a text file", Assert.Single(binary.ErrorLines));
        Assert.Equal(1, folder.ExitCode);
        Assert.Contains("is a folder", Assert.Single(folder.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("a")));
    }

    [Fact]
    public void A_ResNet_package_is_not_quantized_dynamically_and_calibration_images_do_not_serve_dynamic_quantization()
    {
        using var temp = new TempDirectory();
        string package = CalibratedPackage(temp);
        Directory.CreateDirectory(temp.Combine("calibration"));
        Images.RedLeftBlueRight(temp.Combine("calibration", "a.png"));

        var dynamic = CliRunner.RunInProcess("quantize", "--model", package, "--out", temp.Combine("int8"), "--method", "dynamic");
        var dynamicWithImages = CliRunner.RunInProcess("quantize", "--model", package, "--out", temp.Combine("int8"), "--method", "dynamic", "--calibration", temp.Combine("calibration"));

        Assert.Equal(1, dynamic.ExitCode);
        Assert.Contains("no float matrix product to quantize dynamically", Assert.Single(dynamic.ErrorLines));
        Assert.Equal(2, dynamicWithImages.ExitCode);
        Assert.Contains("--calibration only serves static quantization", Assert.Single(dynamicWithImages.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("int8")));
    }

    [Fact]
    public void A_calibration_count_below_the_folder_count_or_with_dynamic_quantization_is_a_usage_error()
    {
        using var temp = new TempDirectory();
        string package = CalibratedPackage(temp);
        string[] folders = [temp.Combine("c1"), temp.Combine("c2"), temp.Combine("c3")];
        foreach (string folder in folders)
        {
            Directory.CreateDirectory(folder);
            Images.RedLeftBlueRight(Path.Combine(folder, "a.png"));
        }

        var fewer = CliRunner.RunInProcess("quantize", "--model", package, "--out", temp.Combine("int8"),
            "--calibration", folders[0], "--calibration", folders[1], "--calibration", folders[2], "--calibration-count", "2");
        var dynamic = CliRunner.RunInProcess("quantize", "--model", package, "--out", temp.Combine("int8"), "--method", "dynamic", "--calibration-count", "8");

        Assert.Equal(2, fewer.ExitCode);
        Assert.Contains("--calibration-count 2 is fewer than the 3 --calibration folders", Assert.Single(fewer.ErrorLines));
        Assert.Equal(2, dynamic.ExitCode);
        Assert.Contains("--calibration-count only serves static quantization", Assert.Single(dynamic.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("int8")));
    }

    [Fact]
    public void Overwrite_replaces_only_a_package_and_never_a_folder_holding_the_source()
    {
        using var temp = new TempDirectory();
        string package = CalibratedPackage(temp);
        string runFolder = temp.Combine("run");
        Directory.CreateDirectory(runFolder);
        File.WriteAllText(Path.Combine(runFolder, "notes.txt"), "keep me");

        var notAPackage = CliRunner.RunInProcess("upgrade", "--model", package, "--out", runFolder, "--without-minilm", "--overwrite");
        var parentOfSource = CliRunner.RunInProcess("upgrade", "--model", package, "--out", Path.GetDirectoryName(package)!, "--without-minilm", "--overwrite");
        var aPackage = CliRunner.RunInProcess("upgrade", "--model", package, "--out", temp.Combine("copy"), "--without-minilm");
        var replaced = CliRunner.RunInProcess("upgrade", "--model", package, "--out", temp.Combine("copy"), "--without-minilm", "--overwrite");

        Assert.Equal(2, notAPackage.ExitCode);
        Assert.Contains("is not a model package (it has no manifest.json)", Assert.Single(notAPackage.ErrorLines));
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(runFolder, "notes.txt")));
        Assert.Equal(2, parentOfSource.ExitCode);
        Assert.Contains("is or holds the input", Assert.Single(parentOfSource.ErrorLines));
        Assert.True(File.Exists(Path.Combine(package, "manifest.json")));
        Assert.Equal(0, aPackage.ExitCode);
        Assert.Equal(0, replaced.ExitCode);
    }

    [Fact]
    public void A_truncated_calibration_image_is_refused_by_name()
    {
        using var temp = new TempDirectory();
        string package = CalibratedPackage(temp);
        Directory.CreateDirectory(temp.Combine("calibration"));
        byte[] png = File.ReadAllBytes(Images.RedLeftBlueRight(temp.Combine("whole.png"), 200, 150));
        File.WriteAllBytes(temp.Combine("calibration", "half.png"), png[..(png.Length / 2)]);

        var result = CliRunner.RunInProcess("quantize", "--model", package, "--out", temp.Combine("int8"), "--calibration", temp.Combine("calibration"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("half.png", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("int8")));
    }

    [Fact]
    public void A_drop_for_a_package_without_trained_names_still_needs_them()
    {
        using var temp = new TempDirectory();
        var export = CliRunner.RunInProcess([
            "export", "--checkpoint", ExportCommandTests.TinyCheckpoint(temp), "--out", temp.Combine("package"), "--without-minilm", "--label-logit-offset", "other=2",
        ]);
        Assert.True(export.ExitCode == 0, export.ToString());

        var result = CliRunner.RunInProcess("upgrade", "--model", temp.Combine("package"), "--out", temp.Combine("upgraded"), "--without-minilm", "--calibrated-label-drop", "3");

        Assert.Equal(2, result.ExitCode); // a companion option the command line leaves out
        Assert.Contains("needs --trained-labels", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("upgraded")));
    }
}
