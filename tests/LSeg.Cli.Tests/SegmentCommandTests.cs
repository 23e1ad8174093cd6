using System.Text.Json;
using LSeg.MLNet.Tests.Packages;
using SkiaSharp;

namespace LSeg.Cli.Tests;

/// <summary>
/// <c>lseg segment</c> on the hand-made colour package, whose answer is known without running it: a red region is
/// labelled "red", a blue region "blue".
/// </summary>
public class SegmentCommandTests
{
    [Fact]
    public void Segment_writes_a_mask_of_label_indices_and_an_overlay_and_reports_shares_as_json()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("in", "halves.png"));

        var result = CliRunner.RunProcess(temp.Path, "segment", image, "--labels", " blue ,red ", "--model", package, "--out", "out", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["halves.mask.png", "halves.overlay.png"], new TempDirectory.View(temp.Combine("out")).Files());

        // "blue" is label 0 and "red" label 1: the left (red) half is 1, the right (blue) half 0, away from the seam.
        var (width, height, mask) = Images.ReadMask(temp.Combine("out", "halves.mask.png"));
        Assert.Equal((64, 48), (width, height));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                if (Math.Abs(x - width / 2) <= 2) continue; // the seam is interpolated
                Assert.Equal(x < width / 2 ? 1 : 0, mask[y * width + x]);
            }
        }

        using var overlay = SKBitmap.Decode(temp.Combine("out", "halves.overlay.png"));
        Assert.Equal(64, overlay.Width);
        Assert.True(overlay.Height > 48, "the overlay has a legend below the photo");

        using var json = JsonDocument.Parse(result.StdOut);
        var report = Assert.Single(json.RootElement.GetProperty("images").EnumerateArray());
        Assert.Equal(Path.GetFullPath(temp.Combine("out", "halves.mask.png")), report.GetProperty("mask").GetString());
        var shares = report.GetProperty("shares").EnumerateArray().ToList();
        Assert.Equal(["blue", "red"], shares.Select(s => s.GetProperty("label").GetString()));
        // Pixel counts agree with the mask file, and shares with the counts.
        for (int label = 0; label < 2; label++)
        {
            long count = mask.Count(v => v == label);
            Assert.Equal(count, shares[label].GetProperty("pixels").GetInt64());
            Assert.Equal(100.0 * count / mask.Length, shares[label].GetProperty("share").GetDouble(), 2);
        }
        Assert.InRange(shares[1].GetProperty("share").GetDouble(), 45, 55);
    }

    [Fact]
    public void Segment_json_writes_text_as_it_is_spells_the_device_as_batch_does_and_gives_the_input_size_used()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("in", "кот \"x\".png"));

        // --size 50: the longer side of the 64×48 image becomes 50, rounded to the nearest multiple of 32, 64.
        var result = CliRunner.RunInProcess("segment", image, "--labels", "red, blue", "--model", package, "--out", temp.Combine("out"), "--size", "50", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        // As index.jsonl writes it: the letters themselves and JSON's own escape for a quote, no \uXXXX.
        Assert.Contains("кот \\\"x\\\".png", result.StdOut);
        Assert.DoesNotContain("\\u", result.StdOut);
        using var json = JsonDocument.Parse(result.StdOut);
        Assert.Equal(image, json.RootElement.GetProperty("images")[0].GetProperty("image").GetString());
        Assert.Equal("cpu", json.RootElement.GetProperty("device").GetString());
        Assert.Equal(64, json.RootElement.GetProperty("inputSize").GetInt32());
    }

    [Fact]
    public void A_folder_where_a_later_images_mask_would_go_is_refused_before_any_file_is_written()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string first = Images.RedLeftBlueRight(temp.Combine("in", "horse.png"));
        string second = Images.GreenTopWhiteBottom(temp.Combine("in", "dog.png"));
        Directory.CreateDirectory(temp.Combine("out", "dog.mask.png"));

        var result = CliRunner.RunInProcess("segment", first, second, "--labels", "red, blue", "--model", package, "--out", temp.Combine("out"), "--json");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.StdOut);
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains($"'{temp.Combine("out", "dog.mask.png")}', where the mask of '{second}' would be written, is a folder", line);
        Assert.DoesNotContain("Is a directory", line);
        // Nothing of the first image: the folder holds only what was there before.
        Assert.Equal(["dog.mask.png"], Directory.GetFileSystemEntries(temp.Combine("out")).Select(Path.GetFileName));
    }

    [Fact]
    public void A_folder_where_a_label_sets_overlay_would_go_is_refused_by_relabel_before_any_file_is_written()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("a.png"));
        Directory.CreateDirectory(temp.Combine("out", "a.set2.overlay.png"));

        var result = CliRunner.RunInProcess("relabel", image, "--labels", "red, blue", "--labels", "blue, red", "--model", package, "--out", temp.Combine("out"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("where the overlay of", Assert.Single(result.ErrorLines));
        Assert.Equal(["a.set2.overlay.png"], Directory.GetFileSystemEntries(temp.Combine("out")).Select(Path.GetFileName));
    }

    [Fact]
    public void An_input_that_another_input_would_overwrite_is_refused_before_anything_is_written()
    {
        // An earlier run's mask beside its photo, both named again (a glob over the folder does this): a.png's new mask
        // would replace a.mask.png, which would then be segmented as if it were a photo.
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string photo = Images.RedLeftBlueRight(temp.Combine("photos", "a.png"));
        string earlier = Images.GreenTopWhiteBottom(temp.Combine("photos", "a.mask.png"));
        byte[] before = File.ReadAllBytes(earlier);

        var result = CliRunner.RunInProcess("segment", photo, earlier, "--labels", "red, blue", "--model", package, "--out", temp.Combine("photos"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"Image '{earlier}' is where the outputs of '{photo}' would be written", Assert.Single(result.ErrorLines));
        Assert.Equal(before, File.ReadAllBytes(earlier));
        Assert.False(File.Exists(temp.Combine("photos", "a.overlay.png")));
        // Into another folder nothing collides: both are segmented.
        var elsewhere = CliRunner.RunInProcess("segment", photo, earlier, "--labels", "red, blue", "--model", package, "--out", temp.Combine("out"));
        Assert.True(elsewhere.ExitCode == 0, elsewhere.ToString());
        Assert.Equal(before, File.ReadAllBytes(earlier));
    }

    [Fact]
    public void A_file_name_holding_terminal_codes_is_printed_escaped()
    {
        // A name from an untrusted archive: printed raw, ESC[2J clears the user's terminal.
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("in", "\u001b[2Jx.png"));

        var result = CliRunner.RunInProcess("segment", image, "--labels", "red, blue", "--model", package, "--out", temp.Combine("out"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain('\u001b', result.StdOut);
        Assert.Contains("[2Jx.png", result.StdOut);
    }

    [Fact]
    public void Scales_and_flip_combine_several_passes_and_the_json_says_which()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("in", "halves.png"));

        var result = CliRunner.RunInProcess("segment", image, "--labels", "blue, red", "--model", package, "--out", temp.Combine("out"), "--scales", "0.5,1", "--flip", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var (width, height, mask) = Images.ReadMask(temp.Combine("out", "halves.mask.png"));
        Assert.Equal((64, 48), (width, height));
        Assert.Equal(1, mask[24 * 64 + 5]);  // red left
        Assert.Equal(0, mask[24 * 64 + 58]); // blue right
        using var json = JsonDocument.Parse(result.StdOut);
        Assert.Equal([0.5, 1.0], json.RootElement.GetProperty("scales").EnumerateArray().Select(e => e.GetDouble()));
        Assert.True(json.RootElement.GetProperty("flip").GetBoolean());
        Assert.Equal(JsonValueKind.Null, Assert.Single(json.RootElement.GetProperty("images").EnumerateArray()).GetProperty("encodeSeconds").ValueKind);
    }

    [Fact]
    public void An_image_whose_long_name_leaves_room_for_its_outputs_is_written_although_a_temporary_name_would_not_fit()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string stem = new('n', 210); // NAME.overlay.png is 222 bytes, its temporary .NAME.GUID.tmp would be 260 (> 255)
        string image = Images.RedLeftBlueRight(temp.Combine("in", stem + ".png"));

        var result = CliRunner.RunInProcess("segment", image, "--labels", "blue, red", "--model", package, "--out", temp.Combine("out"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(temp.Combine("out", stem + ".mask.png")));
        Assert.True(File.Exists(temp.Combine("out", stem + ".overlay.png")));
        Assert.Equal(2, Directory.GetFiles(temp.Combine("out"), "*", SearchOption.AllDirectories).Length); // no temporary left
    }

    [Theory]
    [InlineData("0.05", "--scales: A scale of 0.05 × input size 320 is 16 pixels")]
    [InlineData("1,1.04", "--scales: The scales 1 and 1.04 × input size 320 both give an input of 320 pixels")]
    public void A_scale_that_gives_no_usable_pass_is_a_usage_error_naming_the_flag_and_writes_nothing(string scales, string expected)
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("in", "halves.png"));

        var result = CliRunner.RunInProcess("segment", image, "--labels", "blue, red", "--model", package, "--out", temp.Combine("out"), "--size", "320", "--scales", scales);

        Assert.Equal(2, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("Actual value", line);
        Assert.False(File.Exists(temp.Combine("out", "halves.mask.png")));
    }

    [Fact]
    public void Segment_of_several_images_writes_two_files_per_image_and_prints_a_table()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string first = Images.RedLeftBlueRight(temp.Combine("a.png"));
        string second = Images.GreenTopWhiteBottom(temp.Combine("b.png"));

        var result = CliRunner.RunInProcess("segment", first, second, "--labels", "red, blue, green, white", "--model", package, "--out", temp.Combine("out"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["a.mask.png", "a.overlay.png", "b.mask.png", "b.overlay.png"], new TempDirectory.View(temp.Combine("out")).Files());
        Assert.Contains("a.png", result.StdOut);
        Assert.Contains("b.png", result.StdOut);
        Assert.Matches(@"white\s+7\d\.\d%", result.StdOut); // 3/4 of b.png is white
        var (_, _, mask) = Images.ReadMask(temp.Combine("out", "b.mask.png"));
        Assert.Equal(2, mask[5 * 64 + 10]);  // green top
        Assert.Equal(3, mask[60 * 64 + 10]); // white bottom
    }

    [Fact]
    public void Segment_help_exits_zero_and_names_the_options()
    {
        var result = CliRunner.RunInProcess("segment", "--help");

        Assert.Equal(0, result.ExitCode);
        foreach (string option in new[] { "--labels", "--model", "--out", "--json", "--size" })
            Assert.Contains(option, result.StdOut);
    }

    public static TheoryData<string, string[], string> BadInputs => new()
    {
        { "missing image", ["segment", "{dir}/nope.png", "--labels", "red, blue", "--model", "{pkg}"], "does not exist" },
        { "unreadable image", ["segment", "{dir}/text.png", "--labels", "red, blue", "--model", "{pkg}"], "not a readable image" },
        { "no labels", ["segment", "{dir}/good.png", "--labels", "", "--model", "{pkg}"], "--labels" },
        { "only commas", ["segment", "{dir}/good.png", "--labels", ", ,,", "--model", "{pkg}"], "no label" },
        { "missing model", ["segment", "{dir}/good.png", "--labels", "red, blue", "--model", "{dir}/no-model"], "does not exist" },
        { "label the model cannot encode", ["segment", "{dir}/good.png", "--labels", "red, zebra", "--model", "{pkg}"], "zebra" },
        { "bad size", ["segment", "{dir}/good.png", "--labels", "red", "--model", "{pkg}", "--size", "5"], "--size" },
        { "no --labels", ["segment", "{dir}/good.png", "--model", "{pkg}"], "--labels" },
        { "image too small", ["segment", "{dir}/tiny.png", "--labels", "red", "--model", "{pkg}"], "at least 8" },
        { "bad scale", ["segment", "{dir}/good.png", "--labels", "red", "--model", "{pkg}", "--scales", "1,zero"], "--scales" },
        { "missing second image", ["segment", "{dir}/good.png", "{dir}/gone.jpg", "--labels", "red", "--model", "{pkg}"], "gone.jpg" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_fails_with_one_line_and_writes_nothing(string problem, string[] args, string expectedInMessage)
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Combine("models"));
        Images.RedLeftBlueRight(temp.Combine("in", "good.png"));
        File.WriteAllText(temp.Combine("in", "text.png"), "this is not a picture");
        Images.WritePng(temp.Combine("in", "tiny.png"), 4, 4, (_, _) => Images.Red);
        var before = new TempDirectory.View(temp.Path).Files();
        string[] resolved = args.Select(a => a.Replace("{dir}", temp.Combine("in")).Replace("{pkg}", package)).Append("--out").Append(temp.Combine("out")).ToArray();

        var result = CliRunner.RunInProcess(resolved);

        Assert.True(result.ExitCode != 0, $"{problem}: {result}");
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains(expectedInMessage, line);
        Assert.Equal(before, new TempDirectory.View(temp.Path).Files());
    }

    [Theory]
    [InlineData("--scales", "0.75,abc")]
    [InlineData("--size", "5000")]
    [InlineData("--size", "abc")]
    public void A_malformed_or_out_of_range_option_value_is_a_command_line_mistake_exit_2(string option, string value)
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("a.png"));

        var result = CliRunner.RunInProcess("segment", image, "--labels", "red", "--model", package, option, value, "--out", temp.Combine("out"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(option, Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void A_label_the_model_refuses_is_a_usage_error_reported_without_the_librarys_parameter_name()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("a.png"));

        var result = CliRunner.RunInProcess("segment", image, "--labels", "red, zebra", "--model", package, "--out", temp.Combine("out"));

        // Exit 2, as a repeated label: the command line is what must change.
        Assert.Equal(2, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains("zebra", line);
        Assert.DoesNotContain("(Parameter", line);
    }

    [Fact]
    public void The_same_image_named_twice_is_segmented_once()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("in", "a.png"));
        string sameFile = Path.Combine(temp.Combine("in"), ".", "a.png");

        var result = CliRunner.RunInProcess("segment", image, sameFile, "--labels", "red, blue", "--model", package, "--out", temp.Combine("out"), "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.StdOut);
        Assert.Single(json.RootElement.GetProperty("images").EnumerateArray());
        Assert.Equal(["a.mask.png", "a.overlay.png"], new TempDirectory.View(temp.Combine("out")).Files());
    }

    [Fact]
    public void A_missing_image_in_a_real_process_is_one_line_and_a_non_zero_exit()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);

        var result = CliRunner.RunProcess(temp.Path, "segment", "missing.jpg", "--labels", "red", "--model", package);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("lseg segment: Image 'missing.jpg' does not exist.", Assert.Single(result.ErrorLines));
        Assert.Empty(result.StdOut);
    }
}
