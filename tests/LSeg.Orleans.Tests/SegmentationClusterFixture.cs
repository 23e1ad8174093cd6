using LSeg.Cli.Tests;
using LSeg.MLNet.Tests.Packages;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace LSeg.Orleans.Tests;

/// <summary>
/// An <see cref="InProcessTestCluster"/> of segmentation silos and the colour package, started once for the tests that
/// share it (each test uses its own folders, so they stay independent).
/// </summary>
public sealed class SegmentationClusterFixture : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();

    public InProcessTestCluster Cluster { get; private set; } = null!;

    /// <summary>The colour model package (see <see cref="ColourModelPackage"/>).</summary>
    public string Package { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Package = ColourModelPackage.Write(_temp.Path);
        Cluster = await StartAsync(silos: 3);
        // Every silo is prepared by any job (the model stays loaded), so the tests' jobs find all three ready at once.
        CorpusImages.Write(_temp.Combine("warm"), 1);
        await Cluster.Client.SegmentBatchAsync(new BatchSegmentationJob
        {
            Input = _temp.Combine("warm"), OutputDirectory = _temp.Combine("warm-out"), ModelPath = Package, Labels = CorpusImages.Labels,
        });
    }

    /// <summary>Starts a cluster of segmentation silos that notice a killed member within seconds, as <c>lseg silo</c> does.</summary>
    internal static async Task<InProcessTestCluster> StartAsync(short silos, int maxParallelImages = 2)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddLanguageSegmentationWorker(options => options.MaxParallelImages = maxParallelImages);
            silo.Configure<ClusterMembershipOptions>(options => (options.ProbeTimeout, options.NumMissedProbesLimit) = (TimeSpan.FromSeconds(2), 2));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        _temp.Dispose();
    }
}
