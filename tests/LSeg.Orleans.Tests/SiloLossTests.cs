using LSeg.Cli.Tests;
using LSeg.MLNet.Tests.Packages;

namespace LSeg.Orleans.Tests;

/// <summary>A silo killed in the middle of a job, on its own two-silo <c>InProcessTestCluster</c>.</summary>
public sealed class SiloLossTests
{
    [Fact]
    public async Task ASiloKilledMidJobLosesNoImageAndDuplicatesNoLine()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        // Large enough images (decode, mask resampling, PNG) that the job is still running when the silo dies.
        var images = CorpusImages.Write(temp.Combine("in"), 24, 1024, 768);
        await using var cluster = await SegmentationClusterFixture.StartAsync(silos: 2, maxParallelImages: 1);
        var victim = cluster.Silos[1];
        string victimName = victim.SiloAddress.ToParsableString();
        Task? kill = null;
        int doneAtKill = -1;
        var progress = new CallbackProgress(p =>
        {
            // Killed once it has done some of the work (a count of done images instead let the other silo, on a busy
            // machine, take every chunk before the kill, so the victim had nothing to lose).
            if (kill is null && IndexFile.CountLinesOf(temp.Combine("out"), victimName) >= 1)
            {
                doneAtKill = p.Done;
                kill = Task.Run(() => cluster.KillSiloAsync(victim));
            }
        });
        var job = new BatchSegmentationJob
        {
            Input = temp.Combine("in"), OutputDirectory = temp.Combine("out"), ModelPath = package, Labels = CorpusImages.Labels, ChunkSize = 2,
        };

        var summary = await cluster.Client.SegmentBatchAsync(job, progress);
        if (kill is not null)
            await kill;

        Assert.NotNull(kill);
        Assert.InRange(doneAtKill, 1, 23);
        var index = IndexFile.Read(temp.Combine("out"));
        index.RequireExactlyOnce(images);
        Assert.All(index.Lines, line => Assert.True(line["status"]!.GetValue<string>() == "ok", line.ToJsonString()));
        Assert.Equal(24, summary.Succeeded);
        // Both silos worked, and the survivor finished the job.
        Assert.Contains(index.Lines, line => line["silo"]!.GetValue<string>() == victimName);
        Assert.NotEqual(victimName, index.Lines[^1]["silo"]!.GetValue<string>());
        var expected = LowLevelMasks.Of(package, images, CorpusImages.Labels);
        foreach (var image in images)
            Assert.Equal(expected[image], File.ReadAllBytes(temp.Combine("out", Path.GetFileNameWithoutExtension(image) + ".mask.png")));
    }
}
