using LSeg.Serving.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LSeg.Serving.Tests;

/// <summary>
/// The example host (examples/ServingHost, the README's code) under WebApplicationFactory, serving
/// <paramref name="modelPath"/> (null: the default model) with options adjusted by <paramref name="configure"/>, on an
/// optional clock. <see cref="StartOnLoopback"/> runs it on Kestrel at 127.0.0.1 instead of the in-memory test server.
/// </summary>
internal sealed class ServingFactory(string? modelPath, Action<LanguageSegmentationServingOptions>? configure = null, TimeProvider? clock = null,
    TimeSpan? shutdownTimeout = null)
    : WebApplicationFactory<Program>
{
    /// <summary>Every request the host received, in order.</summary>
    public RequestLog Log { get; } = new();

    /// <summary>Every error the host logged.</summary>
    public ErrorLog Errors { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddProvider(Errors));
        builder.ConfigureTestServices(services =>
        {
            services.PostConfigure<LanguageSegmentationServingOptions>(options =>
            {
                options.ModelPath = modelPath;
                configure?.Invoke(options);
            });
            if (clock is not null)
                services.AddSingleton(clock);
            if (shutdownTimeout is { } timeout)
                services.Configure<Microsoft.Extensions.Hosting.HostOptions>(host => host.ShutdownTimeout = timeout);
            services.AddSingleton<IStartupFilter>(Log);
        });
    }

    public InferenceQueue Queue => Services.GetRequiredService<InferenceQueue>();

    public EncodedImageCache Cache => Services.GetRequiredService<EncodedImageCache>();

    /// <summary>Starts the host on Kestrel at 127.0.0.1 on a free port and returns its base address.</summary>
    public Uri StartOnLoopback()
    {
        UseKestrel(options => options.Listen(System.Net.IPAddress.Loopback, 0));
        StartServer();
        string address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new Uri(address.EndsWith('/') ? address : address + "/");
    }
}
