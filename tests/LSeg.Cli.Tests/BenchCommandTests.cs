using System.Text.Json;

namespace LSeg.Cli.Tests;

/// <summary><c>lseg bench export</c> and <c>lseg bench segment</c> at tiny sizes, in real processes.</summary>
public class BenchCommandTests
{
    [Fact]
    public void Bench_export_json_reports_both_runtimes_and_their_agreement()
    {
        using var temp = new TempDirectory();

        var result = CliRunner.RunProcess(temp.Path, "bench", "export", "--size", "64", "--labels", "3", "--iterations", "1", "--warmup", "0", "--threads", "2", "--backbone", "resnet18", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.StdOut);
        var row = Assert.Single(json.RootElement.EnumerateArray());
        Assert.Equal("resnet18", row.GetProperty("backbone").GetString());
        Assert.Equal(64, row.GetProperty("size").GetInt32());
        Assert.True(row.GetProperty("onnxRuntimeMs").GetDouble() > 0);
        Assert.True(row.GetProperty("torchSharpMs").GetDouble() > 0);
        Assert.InRange(row.GetProperty("maxLogitDifference").GetDouble(), 0, 1e-2);
        Assert.Equal("static", row.GetProperty("int8Method").GetString());
        Assert.True(row.GetProperty("int8Ms").GetDouble() > 0);
        Assert.Contains("resnet18", result.StdErr); // progress lines go to stderr with --json
    }

    [Fact]
    public void Bench_export_with_a_size_that_is_not_a_multiple_of_32_fails_with_one_line()
    {
        var result = CliRunner.RunInProcess("bench", "export", "--size", "50", "--backbone", "resnet18");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("32", Assert.Single(result.ErrorLines));
    }

    [Theory]
    [InlineData("--iterations", "0", "--iterations must be at least 1")]
    [InlineData("--images", "0", "--images must be at least 1")]
    [InlineData("--labels", "11", "--labels must be 1 to 10")]
    [InlineData("--size", "0", "--size 0 is out of range")]
    public void Bench_segment_refuses_out_of_range_numbers_before_loading_a_model(string option, string value, string message)
    {
        using var temp = new TempDirectory();

        var result = CliRunner.RunInProcess("bench", "segment", "--model", temp.Combine("no-model-needed"), option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, Assert.Single(result.ErrorLines));
    }

    [Theory]
    [InlineData("export --backbone bogus", "'bogus' not recognized")]
    [InlineData("export --size 50", "--size 50 must be a multiple of 32")]
    [InlineData("export --labels 0", "--labels must be at least 1; got 0")]
    [InlineData("export --warmup -1", "--warmup must be at least 0; got -1")]
    [InlineData("train --batch 1", "--batch must be at least 2; got 1")]
    [InlineData("train --decoder-features 8 --decoder-features 0", "--decoder-features must be at least 1; got 0")]
    [InlineData("runtime --rounds 0 --model MISSING", "--rounds must be at least 1; got 0")]
    [InlineData("runtime --size 4000 --model MISSING", "--size 4000 is out of range")]
    [InlineData("memory --width 0 --model MISSING", "--width must be at least 1; got 0")]
    [InlineData("memory --threads 0 --model MISSING", "--threads must be at least 1; got 0")]
    [InlineData("memory --width 4 --model MISSING", "--width 4 --height 480: the image must be at least 8 pixels on a side")]
    [InlineData("memory --width 40000 --height 40000 --model MISSING", "and at most 40,000,000 pixels")]
    [InlineData("train --crop 100x100", "--crop '100x100': both sides must be multiples of 32")]
    [InlineData("serve --seconds 2200000 --model MISSING", "--seconds must be 1 to 86400")]
    [InlineData("serve --clients 0 --model MISSING", "--clients must be at least 1; got 0")]
    [InlineData("serve --label-changes 1.5 --model MISSING", "--label-changes must be 0 to 1; got 1.5")]
    [InlineData("batch --labels 13 --model MISSING", "--labels must be 1 to 12; got 13")]
    [InlineData("batch --images 1 --model MISSING", "--images must be at least 2; got 1")]
    public void Every_benchmark_refuses_an_out_of_range_option_by_name_with_the_usage_exit_code(string arguments, string message)
    {
        using var temp = new TempDirectory();

        // Where the benchmark takes a model, a path that does not exist: the option must be refused before anything loads or runs.
        var result = CliRunner.RunInProcess(["bench", .. arguments.Replace("MISSING", temp.Combine("no-model-needed"), StringComparison.Ordinal).Split(' ')]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, Assert.Single(result.ErrorLines));
    }

    [SkippableFact]
    public void Bench_segment_json_reports_the_label_change_and_the_mlnet_overhead_on_the_default_model()
    {
        Skip.IfNot(LSeg.MLNet.LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");
        using var temp = new TempDirectory();

        // The ML.NET half runs ExtractPixels in the lseg process: it only works while nothing brings SkiaSharp 3.
        var result = CliRunner.RunProcess(temp.Path, "bench", "segment", "--size", "64", "--images", "2", "--labels", "2", "--iterations", "1", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.StdOut);
        var root = json.RootElement;
        Assert.Equal(64, root.GetProperty("imageSize").GetInt32());
        Assert.Equal(2, root.GetProperty("images").GetInt32());
        Assert.True(root.GetProperty("fullSegmentationMs").GetDouble() > 0);
        Assert.True(root.GetProperty("labelChangeMs").GetDouble() > 0);
        // Labels never seen before run the text encoder inside the timed call.
        Assert.True(root.GetProperty("newLabelsChangeMs").GetDouble() > 0);
        // A 64-pixel input gives a 32 × 32 grid of float vectors, all read by a label change: the 384-d embeddings, or
        // the narrower decoder features of a package with a pixel projection.
        int channels = root.GetProperty("gridChannels").GetInt32();
        using var defaultModel = LSeg.MLNet.LanguageSegmentationModel.LoadDefault();
        Assert.Equal(defaultModel.Manifest.Graphs.PixelProjection is null ? 384 : 128, channels);
        Assert.Equal(channels * 32 * 32 * 4 / 1048576.0, root.GetProperty("gridMB").GetDouble(), 6);
        Assert.True(root.GetProperty("gridReadMs").GetDouble() > 0);
        // The default model's "other" absorbs unoffered names in both kinds of label set (package format 7): both timed.
        Assert.True(root.GetProperty("catchAllLabelChangeMs").GetDouble() > 0);
        Assert.True(root.GetProperty("catchAllBesideUntrainedLabelChangeMs").GetDouble() > 0);
        Assert.True(root.GetProperty("mlNetTotalMs").GetDouble() > 0);
        Assert.True(root.GetProperty("lowLevelTotalMs").GetDouble() > 0);
        Assert.All(new[] { "1", "4", "8" }, batch => Assert.True(root.GetProperty("imagesPerSecondByBatchSize").GetProperty(batch).GetDouble() > 0));
        // A batch of 8 is 8 images even with --images 2: the batch comparison writes its own.
        Assert.Equal(8, root.GetProperty("batchImages").GetInt32());
        // Each peak is measured in a process that loaded the model and segmented one image: at least the model's weights.
        Assert.True(root.GetProperty("oneSegmentationPeakMB").GetDouble() > 50);
        Assert.True(root.GetProperty("largeImageSegmentationPeakMB").GetDouble() > root.GetProperty("oneSegmentationPeakMB").GetDouble());
        // The ML.NET pipeline holds the 12-megapixel mask at least as a uint key per pixel on top of the model.
        Assert.True(root.GetProperty("largeImageMLNetPeakMB").GetDouble() > root.GetProperty("oneSegmentationMLNetPeakMB").GetDouble() + 4000 * 3000 * 4 / 1048576.0);
        Assert.True(root.GetProperty("oneSegmentationMLNetPeakMB").GetDouble() > 50);
    }
}

/// <summary>The JSON of the bench commands is read by scripts: every number field holds a number or null.</summary>
public class BenchmarkJsonTests
{
    private sealed record Figures(double Measured, double NoRequests, double Ratio, double? Absent);

    [Fact]
    public void A_figure_that_was_not_measured_is_null_not_the_string_NaN()
    {
        // A median over no requests is NaN, and a ratio to it too; both were written as "NaN", a string in a number field.
        string json = System.Text.Json.JsonSerializer.Serialize(new Figures(12.5, double.NaN, double.PositiveInfinity, null), LSeg.Cli.Common.BenchmarkJson.Options);

        using var document = System.Text.Json.JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal(12.5, root.GetProperty("measured").GetDouble());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, root.GetProperty("noRequests").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, root.GetProperty("ratio").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, root.GetProperty("absent").ValueKind);
    }
}
