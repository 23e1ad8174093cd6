using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LSeg.Orleans.Tests;

/// <summary>
/// A throw-away Debian <c>redis-server</c> on a free loopback port, without persistence, killed on dispose. The test
/// that needs it skips when the package is not installed (<c>.ci/run</c> installs it).
/// </summary>
internal sealed class RedisServer : IDisposable
{
    private const string Executable = "/usr/bin/redis-server";
    private readonly Process _process;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The value of <c>--cluster</c> / <c>--join</c> for this server.</summary>
    public string ClusterValue => $"redis://127.0.0.1:{Port}";

    public static RedisServer Start()
    {
        Skip.IfNot(File.Exists(Executable), $"{Executable} is missing: install Debian's redis-server package (.ci/run does) to run the Redis membership test.");
        int port = FreePort();
        var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes" })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var server = new RedisServer(process, port);
        var clock = Stopwatch.StartNew();
        while (!server.Accepts())
        {
            if (process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                server.Dispose();
                throw new InvalidOperationException($"redis-server did not start on port {port}: {process.StandardError.ReadToEnd()}");
            }
            Thread.Sleep(50);
        }
        return server;
    }

    private bool Accepts()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
    }
}
