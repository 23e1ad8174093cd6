using System.Net;
using System.Net.Sockets;
using LSeg.Cli.Tests;
using LSeg.MLNet.Tests.Packages;

namespace LSeg.Orleans.Tests;

/// <summary>Two <c>lseg silo</c> processes joined through Redis membership, one killed with SIGKILL in the middle of a job.</summary>
public sealed class RedisClusterTests
{
    [SkippableFact]
    public void TwoSilosThroughRedisFinishAJobWhenOneIsKilled()
    {
        using var redis = RedisServer.Start();
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        var images = CorpusImages.Write(temp.Combine("in"), 30, 800, 600);
        string clusterId = "test-" + Guid.NewGuid().ToString("N")[..8];
        int[] ports = FreePorts(4);
        using var survivor = StartSilo(temp.Path, redis, clusterId, ports[0], ports[1]);
        using var victim = StartSilo(temp.Path, redis, clusterId, ports[2], ports[3]);
        survivor.WaitUntil(() => survivor.StdOut.Contains(" ready "), TimeSpan.FromMinutes(2), "the first silo to start");
        victim.WaitUntil(() => victim.StdOut.Contains(" ready "), TimeSpan.FromMinutes(2), "the second silo to start");
        string victimName = victim.StdOut.Split(' ')[1];

        using var batch = LsegProcess.Start(temp.Path, "batch", "in", "--labels", "red, blue", "--out", "out", "--model", package,
            "--join", redis.ClusterValue, "--cluster-id", clusterId, "--chunk-size", "2");
        // Killed once it has done some of the work (waiting for a number of lines instead let the survivor, on a busy
        // machine, take every chunk before the kill, so the victim had nothing to lose).
        batch.WaitUntil(() => IndexFile.CountLinesOf(temp.Combine("out"), victimName) >= 2, TimeSpan.FromMinutes(3), "2 images of the second silo in the index");
        victim.KillHard();
        batch.WaitForExit(TimeSpan.FromMinutes(3));

        Assert.True(batch.ExitCode == 0, batch.ToString());
        var index = IndexFile.Read(temp.Combine("out"));
        index.RequireExactlyOnce(images);
        Assert.All(index.Lines, line => Assert.Equal("ok", line["status"]!.GetValue<string>()));
        Assert.Contains(index.Lines, line => line["silo"]!.GetValue<string>() == victimName);
        Assert.NotEqual(victimName, index.Lines[^1]["silo"]!.GetValue<string>());
        var expected = LowLevelMasks.Of(package, images[..4], CorpusImages.Labels);
        foreach (var (image, mask) in expected)
            Assert.Equal(mask, File.ReadAllBytes(temp.Combine("out", Path.GetFileNameWithoutExtension(image) + ".mask.png")));
    }

    private static LsegProcess StartSilo(string workingDirectory, RedisServer redis, string clusterId, int port, int gatewayPort) =>
        LsegProcess.Start(workingDirectory, "silo", "--cluster", redis.ClusterValue, "--cluster-id", clusterId, "--port", port.ToString(),
            "--gateway-port", gatewayPort.ToString(), "--advertise", "127.0.0.1", "--parallel", "1");

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
