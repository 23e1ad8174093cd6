using LSeg.Cli.Tests;
using LSeg.Orleans.Workers;

namespace LSeg.Orleans.Tests;

/// <summary>
/// A silo's loaded models when a package is rewritten in place: a new job gets the new weights, a job prepared before
/// keeps the weights it started with, and nothing else is handed out under the job's model identity.
/// </summary>
public sealed class SiloModelsTests
{
    [Fact]
    public void A_rewritten_package_is_loaded_again_for_a_new_job_while_a_running_job_keeps_its_model()
    {
        using var temp = new TempDirectory();
        string package = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(temp.Path);
        using var models = new SiloModels(Microsoft.Extensions.Options.Options.Create(new SegmentationWorkerOptions()));
        var first = models.Get(package, reloadIfChanged: true);
        string rewritten = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(temp.Combine("next"), temperature: 0.05f);
        foreach (string file in Directory.GetFiles(rewritten))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)), overwrite: true);

        var unchangedForChunks = models.Get(package);
        var forNewJob = models.Get(package, reloadIfChanged: true);
        var forRunningJob = models.Get(package, identity: first.Identity);
        var forNewJobsChunks = models.Get(package, identity: forNewJob.Identity);
        var unknown = Assert.Throws<InvalidOperationException>(() => models.Get(package, identity: "colour-test (manifest sha256 0000000000000000)"));

        Assert.Same(first, unchangedForChunks);
        Assert.NotEqual(first.Identity, forNewJob.Identity);
        Assert.Same(first, forRunningJob);
        Assert.Same(forNewJob, forNewJobsChunks);
        Assert.Contains("rewritten in place while the job ran", unknown.Message);
    }
}
