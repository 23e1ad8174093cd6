using LSeg.MLNet;
using LSeg.MLNet.Tests.Packages;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.Cli.Tests;

/// <summary><c>lseg segment</c> and <c>relabel</c> as users meet them: command-line mistakes, bad files, odd labels, limits.</summary>
public class CliInputTests
{
    /// <summary>Random colour blocks (seeded): a non-square picture with many colour edges.</summary>
    private static string Blocks(string path, int width, int height, int seed)
    {
        var generator = new Random(seed);
        var grid = new (byte, byte, byte)[(width / 8 + 1) * (height / 8 + 1)];
        for (int i = 0; i < grid.Length; i++)
            grid[i] = ((byte)generator.Next(256), (byte)generator.Next(256), (byte)generator.Next(256));
        return Images.WritePng(path, width, height, (x, y) => grid[(y / 8) * (width / 8 + 1) + x / 8]);
    }

    [Theory]
    [InlineData("segment")]
    [InlineData("relabel")]
    public void An_unknown_option_is_a_usage_error_with_exit_2_and_the_usage_line(string command)
    {
        using var temp = new TempDirectory();
        string image = Images.RedLeftBlueRight(temp.Combine("a.png"));

        var result = CliRunner.RunInProcess(command, image, "--colour", "red", "--labels", "red");

        Assert.Equal(2, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains("Unknown option '--colour'", line);
        Assert.Contains($"Usage: lseg {command} IMAGE", line);
        Assert.Contains("--labels LIST", line);
    }

    [Fact]
    public void A_dangling_symbolic_link_is_refused_naming_the_missing_target()
    {
        using var temp = new TempDirectory();
        File.CreateSymbolicLink(temp.Combine("photo.png"), temp.Combine("gone.png"));

        var result = CliRunner.RunInProcess("segment", temp.Combine("photo.png"), "--labels", "red, blue", "--out", temp.Combine("out"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"is a symbolic link to '{temp.Combine("gone.png")}', which does not exist", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public async Task An_image_given_through_a_pipe_is_refused_saying_pipes_are_not_supported()
    {
        // A named pipe with a writer holding a real PNG: what /dev/stdin or <(cat a.png) gives.
        using var temp = new TempDirectory();
        string png = Images.RedLeftBlueRight(temp.Combine("a.png"));
        string fifo = temp.Combine("pipe.png");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo]))
            mkfifo.WaitForExit();
        var writer = Task.Run(() =>
        {
            try
            {
                using var pipe = new FileStream(fifo, FileMode.Open, FileAccess.Write);
                pipe.Write(File.ReadAllBytes(png));
            }
            catch (IOException)
            {
                // The reader may close its end first: the write, or the flush when the stream is closed, finds the pipe broken.
            }
        });

        var result = CliRunner.RunInProcess("segment", fifo, "--labels", "red, blue", "--out", temp.Combine("out"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("pipes are not supported", Assert.Single(result.ErrorLines));
        // The writer finishes once lseg has opened and closed the pipe; if lseg refused it without opening it, the
        // writer still waits in open(): a reader of our own lets it go (not awaited: should the writer finish first,
        // that reader would wait in open() in turn, and must not hold the test).
        if (!writer.IsCompleted)
        {
            _ = Task.Run(() =>
            {
                using var release = new FileStream(fifo, FileMode.Open, FileAccess.Read);
                release.CopyTo(Stream.Null);
            });
        }
        await writer.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData("--size", "abc", "--size takes a whole number; 'abc' is not one.")]
    [InlineData("--gpu", "first", "--gpu takes a whole number; 'first' is not one.")]
    [InlineData("--max-pixels", "1e9", "--max-pixels takes a whole number; '1e9' is not one.")]
    [InlineData("--gpu", "-1", "--gpu takes a CUDA device number, 0 or more; got -1.")]
    public void A_number_option_with_text_says_so_in_plain_words(string option, string value, string expected)
    {
        var result = CliRunner.RunInProcess("segment", "a.png", "--labels", "red", option, value);

        Assert.Equal(2, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("System.", line);
    }

    [Fact]
    public void A_pixel_limit_past_what_one_array_holds_is_a_usage_error()
    {
        using var temp = new TempDirectory();
        string image = Images.RedLeftBlueRight(temp.Combine("a.png"));

        var result = CliRunner.RunInProcess("segment", image, "--labels", "red", "--max-pixels", "600000000", "--out", temp.Combine("out"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--max-pixels 600000000 is too large: at most 500000000", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void An_output_folder_that_cannot_be_written_fails_before_the_model_is_loaded()
    {
        using var temp = new TempDirectory();
        string image = Images.RedLeftBlueRight(temp.Combine("a.png"));
        // A package whose graphs are not ONNX: loading it would fail, so the error shows the folder was checked first.
        string brokenModel = FakePackage.Create(temp.Combine("broken-model"), ("image_encoder.onnx", [1, 2, 3]), ("head.onnx", [4, 5, 6]));

        var result = CliRunner.RunInProcess("segment", image, "--labels", "red", "--model", brokenModel, "--out", "/proc/lseg-cannot-write-here");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--out '/proc/lseg-cannot-write-here' cannot be created: '/proc' is not writable", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void An_output_folder_under_a_file_is_refused_naming_the_file_before_the_model_is_loaded()
    {
        using var temp = new TempDirectory();
        string image = Images.RedLeftBlueRight(temp.Combine("a.png"));
        string brokenModel = FakePackage.Create(temp.Combine("broken-model"), ("image_encoder.onnx", [1, 2, 3]), ("head.onnx", [4, 5, 6]));
        File.WriteAllText(temp.Combine("notes.txt"), "not a folder");

        var result = CliRunner.RunInProcess("segment", image, "--labels", "red", "--model", brokenModel, "--out", temp.Combine("notes.txt", "masks"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cannot be created: '{temp.Combine("notes.txt")}' is a file.", Assert.Single(result.ErrorLines));
        Assert.Equal("not a folder", File.ReadAllText(temp.Combine("notes.txt")));
    }

    [Fact]
    public void A_truncated_jpeg_is_refused_naming_the_problem_and_nothing_is_written()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        using (var bitmap = SkiaSharp.SKBitmap.Decode(Blocks(temp.Combine("full.png"), 160, 120, 3)))
        using (var image = SkiaSharp.SKImage.FromBitmap(bitmap))
        using (var jpeg = image.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90))
        {
            byte[] bytes = jpeg.ToArray();
            File.WriteAllBytes(temp.Combine("half.jpg"), bytes[..(bytes.Length / 2)]);
        }

        var result = CliRunner.RunInProcess("segment", temp.Combine("half.jpg"), "--labels", "red, blue", "--model", package, "--out", temp.Combine("out"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("half.jpg' is incomplete or corrupt (the file ends before the image data does (truncated))", Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("out")));
    }

    [Fact]
    public void Labels_with_terminal_escape_sequences_are_printed_escaped()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("a.png"));

        var result = CliRunner.RunInProcess("segment", image, "--labels", "red, \u001b[2Jblue", "--model", package, "--out", temp.Combine("out"));

        Assert.Equal(2, result.ExitCode); // a label the model refuses: a usage error
        Assert.DoesNotContain('\u001b', result.StdErr + result.StdOut);
        Assert.Contains("\\u001B[2Jblue", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void The_size_limit_error_names_the_clis_own_option_and_the_option_lifts_it()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("a.png")); // 64 × 48 = 3,072 pixels

        var refused = CliRunner.RunInProcess("segment", image, "--labels", "red, blue", "--model", package, "--max-pixels", "1000", "--out", temp.Combine("out"));
        var allowed = CliRunner.RunInProcess("segment", image, "--labels", "red, blue", "--model", package, "--max-pixels", "3072", "--out", temp.Combine("out"));

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("raise the limit with --max-pixels 3072", Assert.Single(refused.ErrorLines));
        Assert.True(allowed.ExitCode == 0, allowed.ToString());
    }

    [Theory]
    [InlineData("segment")]
    [InlineData("relabel")]
    public void An_empty_out_folder_is_a_usage_error_naming_the_flag(string command)
    {
        using var temp = new TempDirectory();
        string image = Images.RedLeftBlueRight(temp.Combine("a.png"));

        var result = CliRunner.RunInProcess(command, image, "--labels", "red", "--out", "");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--out is empty: give a folder", Assert.Single(result.ErrorLines));
    }

    [Theory]
    [InlineData("export", "--checkpoint", "run/checkpoints/best")]
    [InlineData("upgrade", "--model", "package")]
    [InlineData("quantize", "--model", "package")]
    [InlineData("import", "--checkpoint", "lseg.ckpt", "--clip-bpe", "bpe.txt.gz")]
    [InlineData("average", "--checkpoint", "a", "--checkpoint", "b")]
    [InlineData("text-projection", "--names", "names.txt", "--embeddings", "embeddings.bin")]
    public void An_empty_out_path_of_a_writing_command_is_a_usage_error_naming_the_flag(params string[] command)
    {
        var result = CliRunner.RunInProcess([.. command, "--out", ""]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--out is empty: give a path", string.Join("\n", result.ErrorLines));
    }

    [Fact]
    public void An_image_larger_than_any_limit_is_told_to_be_downscaled_not_to_raise_the_limit_past_its_cap()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = temp.Combine("huge.png");
        File.WriteAllBytes(image, PngHeaderOnly(30_000, 20_000)); // 600 megapixels; only the header is read

        var result = CliRunner.RunInProcess("segment", image, "--labels", "red, blue", "--model", package, "--out", temp.Combine("out"));

        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains("more than the 500,000,000 any --max-pixels allows: downscale it", line);
        Assert.DoesNotContain("raise the limit", line);
    }

    /// <summary>A PNG signature, an IHDR of <paramref name="width"/> × <paramref name="height"/> 8-bit RGB, one byte of IDAT and IEND.</summary>
    private static byte[] PngHeaderOnly(int width, int height) => LSeg.Tests.Shared.RawPng.Chunks(
        ("IHDR", [.. BigEndian(width), .. BigEndian(height), 8, 2, 0, 0, 0]),
        ("IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]), // one zero byte, zlib-compressed
        ("IEND", []));

    private static byte[] BigEndian(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    [Fact]
    public void The_same_image_gives_the_same_mask_through_the_cli_the_low_level_api_and_the_pipeline()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Blocks(temp.Combine("in", "blocks.png"), 150, 70, seed: 11);
        string[] labels = ["red", "green", "blue", "yellow", "cyan", "magenta", "white", "black"];

        var cli = CliRunner.RunInProcess("segment", image, "--labels", string.Join(", ", labels), "--model", package, "--size", "96", "--out", temp.Combine("out"));
        Assert.True(cli.ExitCode == 0, cli.ToString());
        var (_, _, cliMask) = Images.ReadMask(temp.Combine("out", "blocks.mask.png"));

        using var model = LanguageSegmentationModel.Load(package);
        using var photo = MLImage.CreateFromFile(image);
        var lowLevel = model.Segment(model.EncodeImage(photo, 96), model.EncodeLabels(labels)).Mask;

        var context = new MLContext();
        var table = context.Data.LoadFromEnumerable(new[] { new ImagePathRow { Path = "blocks.png" } });
        var data = context.Transforms.LoadImages("Image", temp.Combine("in"), nameof(ImagePathRow.Path)).Fit(table).Transform(table);
        using var transformer = context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = labels, Model = model, InputSize = 96 }).Fit(data);
        var keys = transformer.Transform(data).GetColumn<VBuffer<uint>>("SegmentationMask").Single().DenseValues().ToArray();

        Assert.Equal(150 * 70, cliMask.Length);
        Assert.Equal(lowLevel, cliMask);
        Assert.Equal(lowLevel.Select(i => (uint)i + 1), keys);
    }

    private sealed class ImagePathRow
    {
        public string Path { get; set; } = "";
    }
}
