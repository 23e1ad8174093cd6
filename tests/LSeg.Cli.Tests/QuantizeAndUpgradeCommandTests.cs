using LSeg.MLNet.Tests.Packages;

namespace LSeg.Cli.Tests;

/// <summary><c>lseg quantize</c> and <c>lseg upgrade</c>: bad input fails with one line and writes nothing.</summary>
public class QuantizeAndUpgradeCommandTests
{
    [Fact]
    public void Quantizing_a_ResNet_package_without_calibration_images_names_the_missing_option()
    {
        using var temp = new TempDirectory();
        string package = FakePackage.Create(temp.Combine("package"), ("image_encoder.onnx", [1, 2, 3]), ("head.onnx", [4]));

        var result = CliRunner.RunInProcess("quantize", "--model", package, "--out", temp.Combine("int8"));

        // A missing option is the command line's mistake: exit 2, as docs/cli.md classifies it.
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--calibration", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("int8")));
    }

    [Fact]
    public void A_calibration_count_below_one_is_a_usage_error_even_when_the_output_folder_exists()
    {
        using var temp = new TempDirectory();
        string package = FakePackage.Create(temp.Combine("package"), ("image_encoder.onnx", [1, 2, 3]), ("head.onnx", [4]));
        Directory.CreateDirectory(temp.Combine("int8"));

        var result = CliRunner.RunInProcess("quantize", "--model", package, "--out", temp.Combine("int8"), "--calibration-count", "0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--calibration-count must be at least 1", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void A_calibration_folder_without_images_is_refused()
    {
        using var temp = new TempDirectory();
        string package = FakePackage.Create(temp.Combine("package"), ("image_encoder.onnx", [1, 2, 3]), ("head.onnx", [4]));
        Directory.CreateDirectory(temp.Combine("empty"));
        File.WriteAllText(temp.Combine("empty", "notes.txt"), "no images here");

        var result = CliRunner.RunInProcess("quantize", "--model", package, "--out", temp.Combine("int8"), "--calibration", temp.Combine("empty"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("holds no PNG, JPEG or BMP image", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void Upgrading_a_package_the_exporter_did_not_write_fails_with_one_line_and_writes_nothing()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);

        var result = CliRunner.RunInProcess("upgrade", "--model", package, "--out", temp.Combine("upgraded"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not written by this project's exporter", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("upgraded")));
    }
}
