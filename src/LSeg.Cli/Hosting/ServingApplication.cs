using LSeg.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LSeg.Cli.Hosting;

/// <summary>
/// The application <c>lseg serve</c> and <c>lseg bench serve</c> run: the library mapped at the root of a plain
/// ASP.NET Core host listening on the given URLs, logging to stderr (stdout is left to the command's own output).
/// </summary>
internal static class ServingApplication
{
    public static WebApplication Create(IReadOnlyList<string> urls, Action<LanguageSegmentationServingOptions> configure, LogLevel logLevel = LogLevel.Information)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls([.. urls]);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
        builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(logLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddLanguageSegmentation(configure);
        var app = builder.Build();
        app.MapLanguageSegmentation();
        return app;
    }

    /// <summary>The addresses the started server listens on (with the real port when port 0 was asked for).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
}
