using System.Net;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;

namespace LSeg.Cli.Hosting;

/// <summary>
/// How silos find each other and clients find silos, from one command-line value: <c>localhost</c> (Orleans'
/// development clustering on one machine: the silo on the primary port keeps the membership table) or
/// <c>redis://HOST:PORT</c> (membership in Redis, for several machines; anything after the scheme is a
/// StackExchange.Redis configuration string).
/// </summary>
internal sealed record ClusterMembership(string? RedisConfiguration, int[] GatewayPorts)
{
    /// <summary>The silo port of the first silo (the primary one with localhost clustering).</summary>
    public const int DefaultSiloPort = 11111;

    /// <summary>The gateway (client) port of the first silo.</summary>
    public const int DefaultGatewayPort = 30000;

    /// <summary>The cluster and service id used unless told otherwise.</summary>
    public const string DefaultClusterId = "lseg";

    /// <summary>True for Redis membership.</summary>
    public bool IsRedis => RedisConfiguration is not null;

    /// <summary>
    /// Parses <c>localhost</c>, <c>localhost:GATEWAYPORT[,GATEWAYPORT...]</c> (the ports a client connects to; default
    /// 30000) or <c>redis://CONFIGURATION</c>.
    /// </summary>
    /// <exception cref="FormatException">The value is none of these.</exception>
    public static ClusterMembership Parse(string text)
    {
        string value = text.Trim();
        if (value.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) && value.Length > "redis://".Length)
            return new ClusterMembership(value["redis://".Length..], []);
        if (value.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            return new ClusterMembership(null, [DefaultGatewayPort]);
        if (value.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            var ports = value["localhost:".Length..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (ports.Length > 0 && ports.All(p => int.TryParse(p, out int port) && port is > 0 and < 65536))
                return new ClusterMembership(null, ports.Select(int.Parse).ToArray());
        }
        throw new FormatException($"'{text}' is not a cluster: give 'localhost', 'localhost:GATEWAYPORT[,GATEWAYPORT...]' or 'redis://HOST:PORT'.");
    }

    /// <summary>Joins a silo to this cluster, listening on <paramref name="siloPort"/> and <paramref name="gatewayPort"/>.</summary>
    /// <param name="builder">The silo.</param>
    /// <param name="siloPort">Port for silo-to-silo traffic.</param>
    /// <param name="gatewayPort">Port clients connect to.</param>
    /// <param name="primarySiloPort">With localhost clustering, the silo port of the silo that keeps the membership table.</param>
    /// <param name="advertisedAddress">With Redis, the address other machines reach this silo at.</param>
    /// <param name="clusterId">Cluster and service id: silos and clients of one cluster share it.</param>
    public void ConfigureSilo(ISiloBuilder builder, int siloPort, int gatewayPort, int primarySiloPort, IPAddress advertisedAddress, string clusterId)
    {
        if (IsRedis)
        {
            builder.UseRedisClustering(RedisConfiguration!);
            builder.ConfigureEndpoints(advertisedAddress, siloPort, gatewayPort, listenOnAnyHostAddress: true);
            builder.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, clusterId));
        }
        else
        {
            var primary = siloPort == primarySiloPort ? null : new IPEndPoint(IPAddress.Loopback, primarySiloPort);
            builder.UseLocalhostClustering(siloPort, gatewayPort, primary, clusterId, clusterId);
        }
        // A batch job wants a dead silo's chunks back within seconds, not the minute Orleans' defaults allow.
        builder.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(2);
            o.NumMissedProbesLimit = 2;
        });
    }

    /// <summary>Points a client at this cluster.</summary>
    public void ConfigureClient(IClientBuilder builder, string clusterId)
    {
        if (IsRedis)
        {
            builder.UseRedisClustering(RedisConfiguration!);
            builder.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, clusterId));
        }
        else
        {
            builder.UseLocalhostClustering(GatewayPorts, clusterId, clusterId);
        }
    }
}
