using System.Globalization;
using System.Text.RegularExpressions;
using LSeg.MLNet;
using LSeg.MLNet.Tests.Packages;
using LSeg.Tests.Shared;

namespace LSeg.Cli.Tests;

/// <summary>
/// Each example runs as its own process. Most use the hand-made colour package (known answers); the default-model
/// runs skip until the build embeds models/default.
/// </summary>
public class ExampleTests
{
    private static double ShareIn(string output, string label)
    {
        var match = Regex.Match(output, $@"{Regex.Escape(label)}\s+(\d+\.\d)%");
        Assert.True(match.Success, $"no share for '{label}' in:\n{output}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Quickstart_segments_a_photo_with_the_given_labels()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("halves.png"), 96, 64);

        var result = CliRunner.RunExample("Quickstart", temp.Path, null, image, "red, blue, green", package);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.InRange(ShareIn(result.StdOut, "red"), 45, 55);
        Assert.InRange(ShareIn(result.StdOut, "blue"), 45, 55);
        Assert.Equal(0, ShareIn(result.StdOut, "green"));
        // The text picture: 'r' on the left, 'b' on the right.
        var picture = result.StdOut.Split('\n').Where(l => Regex.IsMatch(l, "^  [rbg]{48}$")).ToList();
        Assert.NotEmpty(picture);
        Assert.All(picture, line => Assert.True(line.Trim().StartsWith("rrrr") && line.Trim().EndsWith("bbbb"), line));
    }

    [SkippableFact]
    public void Quickstart_runs_the_readme_command_on_the_default_model()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");

        var result = CliRunner.RunExample("Quickstart", SharedData.RepositoryRoot, null);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("chelsea.png", result.StdOut);
        double total = new[] { "cat", "wall", "other" }.Sum(label => ShareIn(result.StdOut, label));
        Assert.InRange(total, 99.5, 100.5);
        // chelsea.png is a close-up of a cat's face: the default model must give "cat" most of the picture.
        Assert.True(ShareIn(result.StdOut, "cat") > 50, result.StdOut);
    }

    [SkippableFact]
    public void MlNetPipeline_and_Relabel_run_on_the_default_model()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");

        var pipeline = CliRunner.RunExample("MlNetPipeline", SharedData.RepositoryRoot, null);
        var relabel = CliRunner.RunExample("Relabel", SharedData.RepositoryRoot, null);

        Assert.True(pipeline.ExitCode == 0, pipeline.ToString());
        Assert.Contains("same mask = True", pipeline.StdOut);
        Assert.True(relabel.ExitCode == 0, relabel.ToString());
        Assert.Equal(4, Regex.Matches(relabel.StdOut, @"encode labels\s+\d+\.\d ms, segment").Count);
    }

    [Fact]
    public void MlNetPipeline_predicts_saves_loads_and_changes_labels()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);

        // horse.png is a black horse on white: with colour labels, "white" and "black" share the picture.
        var result = CliRunner.RunExample("MlNetPipeline", temp.Path, null, package, "white, black, green", "black, white");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("horse.png 400x328", result.StdOut);
        Assert.Contains("same mask = True", result.StdOut);
        Assert.Contains("coffee.png with [black, white]", result.StdOut);
        Assert.InRange(ShareIn(result.StdOut, "white"), 50, 80);
    }

    [Fact]
    public void Relabel_encodes_once_and_times_each_label_set()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.GreenTopWhiteBottom(temp.Combine("scene.png"));

        var result = CliRunner.RunExample("Relabel", temp.Path, null, image, package, "green, white", "white, green, black");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Single(Regex.Matches(result.StdOut, "encode image"));
        Assert.Equal(2, Regex.Matches(result.StdOut, @"encode labels\s+\d+\.\d ms, segment\s+\d+\.\d ms").Count);
        Assert.Contains("[white, green, black]", result.StdOut);
        Assert.Contains("black 0.0%", result.StdOut);
    }

    [Fact]
    public void The_Gpu_example_runs_on_the_CUDA_build_of_ONNX_Runtime_and_falls_back_to_the_CPU()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("halves.png"), 96, 64);

        var result = CliRunner.RunExample("Gpu", temp.Path, null, package, image, "red, blue");

        Assert.True(result.ExitCode == 0, result.ToString());
        // The CPU build of ONNX Runtime lists no CUDA provider: the example loaded the CUDA build.
        Assert.Contains("CUDAExecutionProvider", result.StdOut);
        Assert.Contains("default model carried: False", result.StdOut);
        // Without CUDA 13 + cuDNN 9 on the machine it falls back, quietly (nothing on stderr).
        Assert.Matches("running on (GPU 0|the CPU: .+)", result.StdOut);
        Assert.InRange(ShareIn(result.StdOut, "red"), 45, 55);
        Assert.InRange(ShareIn(result.StdOut, "blue"), 45, 55);
        Assert.Equal("", result.StdErr);
    }

    [Fact]
    public void TrainCustom_trains_with_the_tool_evaluates_and_uses_the_zip_in_a_pipeline()
    {
        using var temp = new TempDirectory();

        var result = CliRunner.RunExample("TrainCustom", temp.Path, new Dictionary<string, string> { ["LSEG_CLI"] = CliRunner.CliDllPath });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("> lseg train", result.StdOut);
        Assert.Matches(@"evaluation: mIoU \d+(\.\d+)?%, pixel accuracy \d+(\.\d+)?% over 6 images", result.StdOut);
        Assert.Contains("pipeline on sample0.png: red ", result.StdOut);
        Assert.Contains(", other ", result.StdOut); // WithLabels([first label, "other"])
    }
}
