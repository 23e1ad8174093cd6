using LSeg.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LSeg.Cli.Hosting;

/// <summary>
/// The application <c>lseg serve</c> and <c>lseg bench serve</c> run: the library mapped at the root of a plain
/// ASP.NET Core host listening on the given URLs, logging to stderr (stdout is left to the command's own output).
/// </summary>
internal static class ServingApplication
{
    /// <summary>The category the generic host logs its start and stop under.</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <param name="urls">The addresses to listen on.</param>
    /// <param name="configure">The serving options.</param>
    /// <param name="logLevel">The least level logged.</param>
    /// <param name="handleSignals">
    /// True for <c>serve</c>, whose Ctrl+C stops the host gracefully; false for a host the command stops itself (a
    /// benchmark), so that Ctrl+C ends the process instead of only the host.
    /// </param>
    public static WebApplication Create(IReadOnlyList<string> urls, Action<LanguageSegmentationServingOptions> configure, LogLevel logLevel = LogLevel.Information, bool handleSignals = true)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls([.. urls]);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
        builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(logLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Until the host has started, a start failure is thrown to the command, which prints it as its one line: the
        // host's own "Hosting failed to start" entry (with a stack trace) would say it a second time.
        bool started = false;
        builder.Logging.AddFilter(HostCategory, level => level >= logLevel && (Volatile.Read(ref started) || level < LogLevel.Error));
        builder.Services.AddLanguageSegmentation(configure);
        if (!handleSignals)
            builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
        var app = builder.Build();
        app.Lifetime.ApplicationStarted.Register(() => Volatile.Write(ref started, true));
        // As the example host: problem+json for what the API's own endpoints do not answer (unknown paths, wrong methods).
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapLanguageSegmentation();
        return app;
    }

    /// <summary>The addresses the started server listens on (with the real port when port 0 was asked for).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
}
