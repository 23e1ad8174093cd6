using System.CommandLine;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using LSeg.Cli.Common;
using LSeg.Cli.Hosting;
using LSeg.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace LSeg.Cli.Commands;

/// <summary>
/// <c>lseg silo --cluster localhost|redis://HOST:PORT</c>: runs one segmentation silo until Ctrl+C or SIGTERM; jobs reach
/// it through <c>lseg batch --join</c>.
/// </summary>
internal static class SiloCommand
{
    public static Command Create(CliConsole console)
    {
        var cluster = new Option<string>("--cluster") { Description = "'localhost' (silos on this machine; the one on --primary-port keeps the membership) or 'redis://HOST:PORT' (membership in Redis, for several machines).", Required = true, HelpName = "CLUSTER" };
        var port = new Option<int>("--port") { Description = "Silo-to-silo port.", DefaultValueFactory = _ => ClusterMembership.DefaultSiloPort, HelpName = "PORT" };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Port clients (lseg batch --join) connect to.", DefaultValueFactory = _ => ClusterMembership.DefaultGatewayPort, HelpName = "PORT" };
        var primaryPort = new Option<int>("--primary-port") { Description = "With localhost: the silo port of the first silo.", DefaultValueFactory = _ => ClusterMembership.DefaultSiloPort, HelpName = "PORT" };
        var advertise = new Option<string?>("--advertise") { Description = "With Redis: the IP address other machines reach this silo at (default: this machine's first non-loopback IPv4 address).", HelpName = "IP" };
        var clusterId = ClusterIdOption();
        var parallel = ParallelOption();
        var gpu = CommonOptions.Gpu();
        var command = new Command("silo", "Run a segmentation silo (Orleans) until Ctrl+C or SIGTERM: it loads each job's model once and segments the images 'lseg batch --join' hands it.")
        {
            cluster, port, gatewayPort, primaryPort, advertise, clusterId, parallel, gpu,
        };
        command.SetAction(parsed => Run(console, ParseCluster(parsed.GetRequiredValue(cluster), "--cluster"), parsed.GetValue(port), parsed.GetValue(gatewayPort),
            parsed.GetValue(primaryPort), parsed.GetValue(advertise), parsed.GetValue(clusterId)!, parsed.GetValue(parallel), parsed.GetValue(gpu)));
        return command;
    }

    /// <summary><c>--cluster-id</c>, shared by <c>silo</c> and <c>batch --join</c>.</summary>
    internal static Option<string> ClusterIdOption() =>
        new("--cluster-id") { Description = "Cluster id: silos and jobs of one cluster share it.", DefaultValueFactory = _ => ClusterMembership.DefaultClusterId, HelpName = "ID" };

    /// <summary><c>--parallel</c>, shared by <c>silo</c> and <c>batch --silos</c>.</summary>
    internal static Option<int?> ParallelOption() =>
        new("--parallel") { Description = $"Images each silo segments at the same time (default {SegmentationWorkerOptions.Defaults.MaxParallelImages}).", HelpName = "N" };

    /// <summary>Checks <c>--parallel</c> before any silo starts.</summary>
    internal static void RequireValidParallel(int? parallel)
    {
        if (parallel is < 1 or > 256)
            throw new CommandFailure($"--parallel {parallel} is out of range: 1 to 256 images at a time.", ExitCodes.Usage);
    }

    /// <summary>Parses a cluster value into a usage error naming <paramref name="option"/> when it is malformed.</summary>
    internal static ClusterMembership ParseCluster(string value, string option)
    {
        try
        {
            return ClusterMembership.Parse(value);
        }
        catch (FormatException e)
        {
            throw new CommandFailure($"{option}: {e.Message}", ExitCodes.Usage);
        }
    }

    private static int Run(CliConsole console, ClusterMembership membership, int port, int gatewayPort, int primaryPort, string? advertise, string clusterId, int? parallel, int? gpu)
    {
        foreach (var (name, value) in new[] { ("--port", port), ("--gateway-port", gatewayPort), ("--primary-port", primaryPort) })
        {
            if (value is < 1 or > 65535)
                throw new CommandFailure($"{name} {value} is not a TCP port (1 to 65535).", ExitCodes.Usage);
        }
        RequireValidParallel(parallel);
        IPAddress address = IPAddress.Loopback;
        if (membership.IsRedis && !(advertise is null ? TryFirstNetworkAddress(out address) : IPAddress.TryParse(advertise, out address!)))
            throw new CommandFailure(advertise is null ? "no network address found to advertise: pass --advertise IP." : $"--advertise '{advertise}' is not an IP address.", ExitCodes.Usage);

        using var host = new HostBuilder()
            .UseOrleans(builder =>
            {
                membership.ConfigureSilo(builder, port, gatewayPort, primaryPort, address, clusterId);
                builder.AddLanguageSegmentationWorker(options =>
                {
                    options.MaxParallelImages = parallel ?? SegmentationWorkerOptions.Defaults.MaxParallelImages;
                    options.GpuDeviceId = gpu;
                });
            })
            .UseConsoleLifetime(options => options.SuppressStatusMessages = true)
            .Build();
        try
        {
            host.Start();
        }
        catch (Exception e) when (e is Microsoft.Extensions.Options.OptionsValidationException or OrleansException or SocketException or InvalidOperationException)
        {
            throw new CommandFailure($"the silo could not start: {e.Message}");
        }
        var silo = host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        console.Out.WriteLine($"silo {silo.ToParsableString()} ready in cluster '{clusterId}' ({(membership.IsRedis ? "Redis membership" : "localhost clustering")}), gateway port {gatewayPort}, " +
            $"{parallel ?? SegmentationWorkerOptions.Defaults.MaxParallelImages} images at a time; Ctrl+C to stop.");
        console.Out.Flush();
        host.WaitForShutdown();
        console.Out.WriteLine($"silo {silo.ToParsableString()} stopped.");
        return ExitCodes.Success;
    }

    private static bool TryFirstNetworkAddress(out IPAddress address)
    {
        address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? IPAddress.None;
        return !address.Equals(IPAddress.None);
    }
}
