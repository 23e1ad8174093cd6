using LSeg.Cli.Tests;
using LSeg.MLNet.Tests.Packages;

namespace LSeg.Orleans.Tests;

/// <summary><c>lseg batch</c> as a real process: killed with SIGKILL midway, then resumed; its masks against <c>lseg segment</c>'s.</summary>
public sealed class ProcessBatchTests
{
    [Fact]
    public void ABatchKilledWithSigkillResumesToOneLinePerImageWithTheMasksOfLsegSegment()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        var images = CorpusImages.Write(temp.Combine("in"), 40, 1024, 768);
        string[] batch = ["batch", "in", "--labels", "red, blue", "--out", "out", "--model", package, "--silos", "2", "--chunk-size", "2", "--parallel", "1"];

        using (var first = LsegProcess.Start(temp.Path, batch))
        {
            first.WaitUntil(() => IndexFile.CountLines(temp.Combine("out")) >= 6, TimeSpan.FromMinutes(3), "6 images in the index");
            first.KillHard();
        }
        int linesAtKill = IndexFile.CountLines(temp.Combine("out"));
        Assert.InRange(linesAtKill, 6, 39);
        var finishedBefore = IndexFile.Read(temp.Combine("out")).Images.ToHashSet();

        var refused = LsegProcess.Run(temp.Path, batch);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("run the same command with --resume", refused.StdErr);

        var resumed = LsegProcess.Run(temp.Path, [.. batch, "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"{linesAtKill} already done, of 40", resumed.StdOut);
        Assert.Contains("batch: 40/40 images", resumed.StdErr);
        var index = IndexFile.Read(temp.Combine("out"));
        index.RequireExactlyOnce(images);
        Assert.All(index.Lines, line => Assert.Equal("ok", line["status"]!.GetValue<string>()));
        Assert.Equal(finishedBefore, index.Images.Take(linesAtKill).ToHashSet());

        // The masks are byte for byte those of lseg segment on the same images.
        string[] sample = [images[0], images[17], images[39]];
        var segment = LsegProcess.Run(temp.Path, ["segment", .. sample, "--labels", "red, blue", "--model", package, "--out", "segment"]);
        Assert.True(segment.ExitCode == 0, segment.ToString());
        foreach (string image in sample)
        {
            string name = Path.GetFileNameWithoutExtension(image) + ".mask.png";
            Assert.Equal(File.ReadAllBytes(temp.Combine("segment", name)), File.ReadAllBytes(temp.Combine("out", name)));
        }
    }

    [Fact]
    public void BadArgumentsAreOneLineBeforeAnythingRuns()
    {
        using var temp = new TempDirectory();
        var both = LsegProcess.Run(temp.Path, "batch", "in", "--labels", "a, b", "--out", "out", "--silos", "2", "--join", "localhost");
        Assert.Equal(2, both.ExitCode);
        Assert.Equal("lseg batch: --join submits to running silos, which have their own --parallel and --gpu: leave out --silos, --parallel and --gpu.", both.StdErr.Trim());
        var parallel = LsegProcess.Run(temp.Path, "batch", "in", "--labels", "a, b", "--out", "out", "--parallel", "0");
        Assert.Equal(2, parallel.ExitCode);
        Assert.Equal("lseg batch: --parallel 0 is out of range: 1 to 256 images at a time.", parallel.StdErr.Trim());
        var missing = LsegProcess.Run(temp.Path, "batch", "no-such-folder", "--labels", "a, b", "--out", "out", "--silos", "1");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("Input 'no-such-folder' does not exist", missing.StdErr);
        Assert.False(Directory.Exists(temp.Combine("out")));
    }

    [Fact]
    public void Resume_on_a_folder_without_a_job_says_a_new_job_starts_and_a_real_resume_does_not()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        CorpusImages.Write(temp.Combine("in"), 2, 64, 48);
        string[] command = ["batch", "in", "--labels", "red, blue", "--model", package, "--silos", "1", "--resume", "--out"];

        var typo = LsegProcess.Run(temp.Path, [.. command, "maks"]);
        var again = LsegProcess.Run(temp.Path, [.. command, "maks"]);

        Assert.True(typo.ExitCode == 0, typo.ToString());
        Assert.Contains("note: --resume: 'maks' holds no batch job (no batch.json); a new job starts there.", typo.StdErr);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.DoesNotContain("holds no batch job", again.StdErr);
    }

    [Fact]
    public void A_batch_asked_for_a_GPU_it_cannot_use_says_so_on_stderr_and_records_each_silos_device()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        CorpusImages.Write(temp.Combine("in"), 4, 64, 48);

        var result = LsegProcess.Run(temp.Path, "batch", "in", "--labels", "red, blue", "--out", "out", "--model", package, "--silos", "2", "--gpu", "0", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var devices = System.Text.Json.Nodes.JsonNode.Parse(result.StdOut)!["devicePerSilo"]!.AsObject();
        Assert.NotEmpty(devices);
        Assert.All(devices, p => Assert.Contains(p.Value!.GetValue<string>(), new[] { "gpu", "cpu" }));
        // On a machine without CUDA (CI) every silo falls back, and the note must say so, as segment's does.
        bool anyOnCpu = devices.Any(p => p.Value!.GetValue<string>() == "cpu");
        Assert.Equal(anyOnCpu, result.StdErr.Contains("note: --gpu 0 could not be used", StringComparison.Ordinal));
    }
}
