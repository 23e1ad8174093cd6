using System.Net;
using System.Net.Sockets;
using LSeg.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;

namespace LSeg.Cli.Hosting;

/// <summary>
/// N segmentation silos and a client in this process, on localhost clustering with free loopback ports: the
/// one-machine way to run a batch job (<c>lseg batch --silos N</c>) and the benchmark's cluster. Each silo loads its
/// own copy of the model.
/// </summary>
internal sealed class LocalSegmentationCluster : IAsyncDisposable
{
    private readonly List<IHost> _silos;
    private readonly IHost _client;

    private LocalSegmentationCluster(List<IHost> silos, IHost client)
    {
        _silos = silos;
        _client = client;
    }

    /// <summary>The client to submit jobs through.</summary>
    public IClusterClient Client => _client.Services.GetRequiredService<IClusterClient>();

    /// <summary>Starts <paramref name="siloCount"/> silos, then a client connected to all of them.</summary>
    public static async Task<LocalSegmentationCluster> StartAsync(int siloCount, Action<SegmentationWorkerOptions>? configureWorker, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(siloCount, 1);
        int[] ports = FreeLoopbackPorts(2 * siloCount);
        string clusterId = "lseg-local-" + Guid.NewGuid().ToString("N")[..8];
        var membership = new ClusterMembership(null, ports[siloCount..]);
        var silos = new List<IHost>();
        IHost? client = null;
        try
        {
            for (int i = 0; i < siloCount; i++)
            {
                int siloPort = ports[i], gatewayPort = ports[siloCount + i];
                var silo = new HostBuilder()
                    .ConfigureServices(services => services.AddSingleton<IHostLifetime, NoSignalLifetime>())
                    .UseOrleans(builder =>
                    {
                        membership.ConfigureSilo(builder, siloPort, gatewayPort, ports[0], IPAddress.Loopback, clusterId);
                        builder.AddLanguageSegmentationWorker(configureWorker);
                    })
                    .Build();
                silos.Add(silo);
                await silo.StartAsync(cancellationToken);
            }
            client = new HostBuilder().ConfigureServices(services => services.AddSingleton<IHostLifetime, NoSignalLifetime>()).UseOrleansClient(builder => membership.ConfigureClient(builder, clusterId)).Build();
            await client.StartAsync(cancellationToken);
            return new LocalSegmentationCluster(silos, client);
        }
        catch
        {
            // A start cancelled midway (Ctrl+C during start-up) leaves a silo that never ran, and stopping it throws
            // "not in the Running state", which would replace the cancellation: the cause is what propagates.
            client?.Dispose();
            await StopQuietlyAsync(silos);
            throw;
        }
    }

    /// <summary>Stops and disposes each silo as far as it started; a silo that cannot be stopped is only disposed.</summary>
    private static async Task StopQuietlyAsync(List<IHost> silos)
    {
        foreach (var silo in Enumerable.Reverse(silos))
        {
            try
            {
                await silo.StopAsync();
            }
            catch (Exception)
            {
                // Any failure to stop is secondary to the exception being propagated. Nothing to add: the silo is disposed below, and the start's own exception says what went wrong.
            }
            finally
            {
                silo.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _client.StopAsync();
        _client.Dispose();
        await StopAsync(_silos);
    }

    private static async Task StopAsync(List<IHost> silos)
    {
        foreach (var silo in Enumerable.Reverse(silos))
        {
            await silo.StopAsync();
            silo.Dispose();
        }
    }

    private static int[] FreeLoopbackPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
