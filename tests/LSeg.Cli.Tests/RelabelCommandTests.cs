using System.Text.Json;
using LSeg.MLNet.Tests.Packages;

namespace LSeg.Cli.Tests;

/// <summary><c>lseg relabel</c> on the colour package: one image, several label sets.</summary>
public class RelabelCommandTests
{
    [Fact]
    public void Relabel_segments_one_image_with_each_label_set_and_times_each_step()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.GreenTopWhiteBottom(temp.Combine("scene.png"));

        var result = CliRunner.RunProcess(temp.Path, "relabel", image, "--labels", "green, white", "--labels", "white, black, green", "--model", package, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.StdOut);
        var root = json.RootElement;
        Assert.True(root.GetProperty("encodeImageSeconds").GetDouble() >= 0);
        var sets = root.GetProperty("sets").EnumerateArray().ToList();
        Assert.Equal(2, sets.Count);
        Assert.Equal(["green", "white"], sets[0].GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(["white", "black", "green"], sets[1].GetProperty("labels").EnumerateArray().Select(l => l.GetString()));

        // The top quarter is green and the rest white whichever set is used; "black" gets nothing.
        double ShareOf(JsonElement set, string label) =>
            set.GetProperty("shares").EnumerateArray().Single(s => s.GetProperty("label").GetString() == label).GetProperty("share").GetDouble();
        Assert.InRange(ShareOf(sets[0], "green"), 20, 30);
        Assert.InRange(ShareOf(sets[1], "green"), 20, 30);
        Assert.Equal(0, ShareOf(sets[1], "black"));
        foreach (var set in sets)
        {
            Assert.True(set.GetProperty("segmentSeconds").GetDouble() >= 0);
            Assert.True(set.GetProperty("encodeLabelsSeconds").GetDouble() >= 0);
            Assert.Equal(JsonValueKind.Null, set.GetProperty("overlay").ValueKind);
        }
        Assert.Equal(["scene.png"], temp.Files().Where(f => !f.Contains("colour-")));
    }

    [Fact]
    public void Relabel_prints_a_timing_line_per_step_and_can_write_each_sets_overlay()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("halves.png"));

        var result = CliRunner.RunInProcess("relabel", image, "--labels", "red, blue", "--labels", "blue, red, white", "--model", package, "--out", temp.Combine("out"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("encode image", result.StdOut);
        Assert.Equal(2, result.StdOut.Split("segment ").Length - 1);
        Assert.Contains("set 2: blue, red, white", result.StdOut);
        Assert.Equal(["halves.set1.mask.png", "halves.set1.overlay.png", "halves.set2.mask.png", "halves.set2.overlay.png"],
            new TempDirectory.View(temp.Combine("out")).Files());
        var (width, _, mask) = Images.ReadMask(temp.Combine("out", "halves.set2.mask.png"));
        Assert.Equal(1, mask[10 * width + 3]);          // red is label 1 of set 2
        Assert.Equal(0, mask[10 * width + width - 3]);  // blue is label 0
    }

    [Fact]
    public void A_second_set_the_model_cannot_encode_fails_before_the_first_sets_files_are_written()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("halves.png"));

        var result = CliRunner.RunInProcess("relabel", image, "--labels", "red, blue", "--labels", "red, turquoise", "--model", package, "--out", temp.Combine("out"));

        Assert.Equal(2, result.ExitCode); // a usage error: the --labels value must change
        Assert.Contains("turquoise", Assert.Single(result.ErrorLines));
        Assert.False(File.Exists(temp.Combine("out", "halves.set1.mask.png")));
        Assert.False(File.Exists(temp.Combine("out", "halves.set1.overlay.png")));
    }

    [Fact]
    public void Relabel_with_an_empty_second_set_fails_naming_that_set_and_writes_nothing()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("halves.png"));

        var result = CliRunner.RunInProcess("relabel", image, "--labels", "red", "--labels", " , ", "--model", package, "--out", temp.Combine("out"));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--labels #2", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("out")));
    }

    [Fact]
    public void Relabel_of_a_missing_image_fails_with_one_line()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);

        var result = CliRunner.RunInProcess("relabel", temp.Combine("nope.png"), "--labels", "red", "--model", package);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("does not exist", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void An_out_of_range_size_is_a_usage_error_before_the_image_is_looked_at()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);

        var result = CliRunner.RunInProcess("relabel", temp.Combine("nope.png"), "--labels", "red", "--model", package, "--size", "5");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--size", Assert.Single(result.ErrorLines));
    }
}
