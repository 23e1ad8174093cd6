using LSeg.MLNet.Package;

namespace LSeg.Cli.Tests;

/// <summary><c>lseg average</c>: fine-tunes of one initial model averaged into a checkpoint folder that <c>lseg export</c> reads.</summary>
public class AverageCommandTests
{
    private const string Run = "{ \"validationLongSide\": 320, \"textPrompts\": [\"{0}\"] }";

    [Fact]
    public void Two_checkpoint_folders_average_into_a_folder_that_exports_as_a_package_of_their_run()
    {
        using var temp = new TempDirectory();
        string a = ExportCommandTests.TinyCheckpointFolder(temp, Run, "a");
        string b = ExportCommandTests.TinyCheckpointFolder(temp, Run, "b");

        var average = CliRunner.RunInProcess(["average", "--checkpoint", a, "--checkpoint", b, "--out", temp.Combine("soup")]);
        var export = CliRunner.RunInProcess(["export", "--checkpoint", temp.Combine("soup"), "--out", temp.Combine("package"), "--without-minilm"]);

        Assert.True(average.ExitCode == 0, average.ToString());
        Assert.Contains("mean of 2 checkpoints", average.StdOut);
        Assert.True(export.ExitCode == 0, export.ToString());
        // The run's settings travel: the package is sized as the run validated.
        Assert.Equal(320, ModelManifest.FromJson(File.ReadAllText(temp.Combine("package", ModelManifest.FileName))).DefaultInputSize);
    }

    [Fact]
    public void Networks_of_another_width_are_refused_naming_the_setting_that_differs()
    {
        using var temp = new TempDirectory();
        string a = ExportCommandTests.TinyCheckpointFolder(temp, Run, "a");
        string wider = ExportCommandTests.TinyCheckpointFolder(temp, Run, "wider", decoderFeatures: 16);

        var result = CliRunner.RunInProcess(["average", "--checkpoint", a, "--checkpoint", wider, "--out", temp.Combine("soup")]);

        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains("decoderFeatures 16 vs 8", line); // the name a configuration writes
        Assert.DoesNotContain("LSegNetConfig {", line);
        Assert.False(Directory.Exists(temp.Combine("soup")));
    }

    [Fact]
    public void One_checkpoint_is_a_usage_error_that_writes_nothing()
    {
        using var temp = new TempDirectory();
        string a = ExportCommandTests.TinyCheckpointFolder(temp, Run, "a");

        var result = CliRunner.RunInProcess(["average", "--checkpoint", a, "--out", temp.Combine("soup")]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("two or more", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("soup")));
    }

    [Fact]
    public void A_non_empty_output_folder_is_refused_and_left_as_it_was()
    {
        using var temp = new TempDirectory();
        string a = ExportCommandTests.TinyCheckpointFolder(temp, Run, "a");
        string b = ExportCommandTests.TinyCheckpointFolder(temp, Run, "b");
        Directory.CreateDirectory(temp.Combine("soup"));
        File.WriteAllText(temp.Combine("soup", "keep.txt"), "mine");

        var result = CliRunner.RunInProcess(["average", "--checkpoint", a, "--checkpoint", b, "--out", temp.Combine("soup")]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not empty", Assert.Single(result.ErrorLines));
        Assert.Equal(["keep.txt"], Directory.GetFiles(temp.Combine("soup")).Select(Path.GetFileName));
    }
}
