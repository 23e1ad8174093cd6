using LSeg.Cli.Tests;
using LSeg.Orleans.Jobs;

namespace LSeg.Orleans.Tests;

/// <summary>How a job's images and their mask paths are listed, before any silo is involved.</summary>
public sealed class ImageCorpusTests
{
    [Fact]
    public void AFolderIsListedRecursivelyInOrderWithMasksMirroringItsSubfoldersAndWithoutTheOutputFolder()
    {
        using var temp = new TempDirectory();
        foreach (string file in new[] { "b.png", "a/c.JPG", "a/d.txt", "out/old.mask.png", "a/e.webp" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(temp.Combine("in", file))!);
            File.WriteAllText(temp.Combine("in", file), "");
        }

        var corpus = ImageCorpus.List(temp.Combine("in"), temp.Combine("in", "out"));

        Assert.Equal([temp.Combine("in", "a", "c.JPG"), temp.Combine("in", "a", "e.webp"), temp.Combine("in", "b.png")], corpus.Select(c => c.ImagePath));
        Assert.Equal([Path.Combine("a", "c.mask.png"), Path.Combine("a", "e.mask.png"), "b.mask.png"], corpus.Select(c => c.MaskPath));
    }

    [Fact]
    public void Links_to_folders_are_not_followed_so_no_image_is_listed_twice_while_links_to_files_are()
    {
        using var temp = new TempDirectory();
        Directory.CreateDirectory(temp.Combine("in", "2024"));
        Directory.CreateDirectory(temp.Combine("elsewhere"));
        File.WriteAllText(temp.Combine("in", "2024", "a.png"), "");
        File.WriteAllText(temp.Combine("elsewhere", "b.png"), "");
        Directory.CreateSymbolicLink(temp.Combine("in", "latest"), temp.Combine("in", "2024"));  // the same images again
        Directory.CreateSymbolicLink(temp.Combine("in", "all"), temp.Combine("in"));             // a loop
        File.CreateSymbolicLink(temp.Combine("in", "b.png"), temp.Combine("elsewhere", "b.png"));

        var corpus = ImageCorpus.List(temp.Combine("in"), temp.Combine("out"));

        Assert.Equal([temp.Combine("in", "2024", "a.png"), temp.Combine("in", "b.png")], corpus.Select(c => c.ImagePath));
    }

    [Fact]
    public void AJsonLinesManifestResolvesAgainstItsFolderDropsRepeatsAndMasksBelowTheCommonFolder()
    {
        using var temp = new TempDirectory();
        string manifest = temp.Combine("lists", "job.jsonl");
        Directory.CreateDirectory(temp.Combine("lists"));
        File.WriteAllLines(manifest, [
            "\"../data/x/1.png\"",
            "{\"image\": \"../data/y/1.png\", \"note\": \"ignored\"}",
            "",
            $"\"{temp.Combine("data", "x", "1.png")}\"",
        ]);

        var corpus = ImageCorpus.List(manifest, temp.Combine("out"));

        Assert.Equal([temp.Combine("data", "x", "1.png"), temp.Combine("data", "y", "1.png")], corpus.Select(c => c.ImagePath));
        Assert.Equal([Path.Combine("x", "1.mask.png"), Path.Combine("y", "1.mask.png")], corpus.Select(c => c.MaskPath));
    }

    [Fact]
    public void ProblemsWithTheListAreRefusedNamingThem()
    {
        using var temp = new TempDirectory();
        File.WriteAllLines(temp.Combine("twice.txt"), ["# two files, one mask", "dog.jpg", "dog.png"]);
        File.WriteAllLines(temp.Combine("bad.jsonl"), ["\"ok.png\"", "{\"path\": \"no-image-field.png\"}"]);
        Directory.CreateDirectory(temp.Combine("empty"));

        Assert.Contains("would both write 'dog.mask.png'", Assert.Throws<BatchSegmentationException>(() => ImageCorpus.List(temp.Combine("twice.txt"), temp.Combine("out"))).Message);
        Assert.Contains("line 2 is neither a JSON string nor an object with an \"image\" path", Assert.Throws<BatchSegmentationException>(() => ImageCorpus.List(temp.Combine("bad.jsonl"), temp.Combine("out"))).Message);
        Assert.Contains("holds no image", Assert.Throws<BatchSegmentationException>(() => ImageCorpus.List(temp.Combine("empty"), temp.Combine("out"))).Message);
        // One photo given as the input: named as an image, not read as a manifest (whose lines hold a NUL).
        File.WriteAllBytes(temp.Combine("photo.PNG"), [0x89, (byte)'P', (byte)'N', (byte)'G', 0, 0, 0, 13]);
        Assert.Contains("is an image, not a folder or a manifest", Assert.Throws<BatchSegmentationException>(() => ImageCorpus.List(temp.Combine("photo.PNG"), temp.Combine("out"))).Message);
    }

    [Fact]
    public void A_manifest_whose_image_a_mask_would_overwrite_is_refused()
    {
        // A folder input leaves images in the output folder out; a manifest can list one: cat.png's mask is cat.mask.png.
        using var temp = new TempDirectory();
        File.WriteAllLines(temp.Combine("list.txt"), ["cat.png", "cat.mask.png"]);
        File.WriteAllLines(temp.Combine("fine.txt"), ["cat.png", "dog.png"]);

        var error = Assert.Throws<BatchSegmentationException>(() => ImageCorpus.List(temp.Combine("list.txt"), temp.Path));

        Assert.Contains($"The mask of '{temp.Combine("cat.png")}' would be written over '{temp.Combine("cat.mask.png")}', an image the input lists", error.Message);
        Assert.Equal(2, ImageCorpus.List(temp.Combine("fine.txt"), temp.Path).Count);
    }

    [Theory]
    [InlineData(new[] { "dog", null }, "Labels has an empty (or null) label")]
    [InlineData(new[] { "dog", " " }, "Labels has an empty (or null) label")]
    public void A_job_with_a_null_or_blank_label_is_refused_before_any_silo_is_asked(string?[] labels, string message)
    {
        var job = new BatchSegmentationJob { Input = "in", OutputDirectory = "out", Labels = labels! };

        Assert.Contains(message, Assert.Throws<BatchSegmentationException>(job.Validate).Message);
    }

    [Fact]
    public void A_name_the_file_system_refuses_is_the_images_fault_and_other_write_errors_are_the_silos()
    {
        // EINVAL from a real system call (a folder moved into itself), as exFAT or SMB give for "12:30.mask.png".
        using var temp = new TempDirectory();
        Directory.CreateDirectory(temp.Combine("a"));
        var invalid = Assert.Throws<IOException>(() => Directory.Move(temp.Combine("a"), temp.Combine("a", "b")));

        Assert.True(LSeg.Orleans.Workers.ImageSegmenter.IsNameRejected(invalid));
        Assert.False(LSeg.Orleans.Workers.ImageSegmenter.IsNameRejected(new IOException("No space left on device", 28)));
        Assert.False(LSeg.Orleans.Workers.ImageSegmenter.IsNameRejected(new FileNotFoundException("gone")));
    }

    [Fact]
    public void The_input_folders_checked_on_each_silo_cover_every_mount_first()
    {
        // 20 folders on one share and one on another: checking the first 16 in order missed the second share entirely.
        string[] folders = [.. Enumerable.Range(0, 20).Select(i => $"/mnt/nas1/photos/{i:D2}"), "/mnt/nas2/photos", "/home/me/more"];
        string[] mounts = ["/", "/mnt/nas1", "/mnt/nas2"];

        string[] checkedFolders = LSeg.Orleans.Jobs.BatchRunner.InputFoldersToCheck(folders, mounts, 16);

        Assert.Equal(16, checkedFolders.Length);
        Assert.Equal(["/mnt/nas1/photos/00", "/mnt/nas2/photos", "/home/me/more"], checkedFolders[..3]);
        Assert.Equal(folders[1..14], checkedFolders[3..]);
        // Without mount points (none could be listed), the folders are checked in order.
        Assert.Equal(folders[..16], LSeg.Orleans.Jobs.BatchRunner.InputFoldersToCheck(folders, [], 16));
    }

    [Fact]
    public void A_job_with_an_empty_model_path_is_refused_naming_it()
    {
        var job = new BatchSegmentationJob { Input = "in", OutputDirectory = "out", Labels = ["dog"], ModelPath = "" };

        Assert.Contains("ModelPath is empty", Assert.Throws<BatchSegmentationException>(job.Validate).Message);
    }

    [Fact]
    public void An_output_folder_that_is_or_holds_the_input_is_refused_naming_both_rather_than_called_empty()
    {
        using var temp = new TempDirectory();
        CorpusImages.Write(temp.Combine("photos"), 2);

        var same = Assert.Throws<BatchSegmentationException>(() => ImageCorpus.List(temp.Combine("photos"), temp.Combine("photos") + "/"));
        var above = Assert.Throws<BatchSegmentationException>(() => ImageCorpus.List(temp.Combine("photos"), temp.Path));

        Assert.All(new[] { same, above }, e => Assert.Contains("choose an output folder outside the input", e.Message));
        Assert.Equal(2, ImageCorpus.List(temp.Combine("photos"), temp.Combine("photos", "masks")).Count); // inside it is fine: left out
    }
}
