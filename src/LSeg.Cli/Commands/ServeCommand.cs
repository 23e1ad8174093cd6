using System.CommandLine;
using LSeg.Cli.Common;
using LSeg.Cli.Hosting;
using LSeg.Serving;

namespace LSeg.Cli.Commands;

/// <summary>
/// <c>lseg serve [--model PATH] [--urls URLS]</c>: the segmentation service and its page (LSeg.Serving) on
/// 127.0.0.1:5000 unless told otherwise, until Ctrl+C or SIGTERM, which finish the requests in flight first.
/// </summary>
internal static class ServeCommand
{
    /// <summary>Loopback only: serving beyond this machine is a choice the user makes with --urls.</summary>
    public const string DefaultUrls = "http://127.0.0.1:5000";

    public static Command Create(CliConsole console)
    {
        var defaults = new LanguageSegmentationServingOptions();
        var model = CommonOptions.Model();
        var urls = new Option<string>("--urls") { Description = "Where to listen, ';'-separated.", DefaultValueFactory = _ => DefaultUrls, HelpName = "URLS" };
        var gpu = CommonOptions.Gpu();
        var size = CommonOptions.Size();
        var cache = new Option<int>("--cache-mb") { Description = "Memory bound of the encoded-image cache, MiB.", DefaultValueFactory = _ => defaults.ImageCacheMegabytes, HelpName = "N" };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests that run the model at once.", DefaultValueFactory = _ => defaults.MaxConcurrentInferences, HelpName = "N" };
        var queue = new Option<int>("--queue") { Description = "Requests that may wait for the model; more get 503 with Retry-After.", DefaultValueFactory = _ => defaults.MaxQueuedRequests, HelpName = "N" };
        var command = new Command("serve", "Serve the HTTP API (POST /v1/segment, /v1/images, /v1/images/{id}/segment, GET /v1/model, /healthz, /readyz, /openapi/lseg.json) and the page at / for interactive segmentation.")
        {
            model, urls, gpu, size, cache, concurrency, queue,
        };
        command.SetAction(parsed =>
        {
            int cacheMegabytes = RequireAtLeast(parsed.GetValue(cache), 1, "--cache-mb", "the encoded-image cache's memory bound in MiB");
            int maxConcurrent = RequireAtLeast(parsed.GetValue(concurrency), 1, "--concurrency", "how many requests run the model at once");
            int maxQueued = RequireAtLeast(parsed.GetValue(queue), 0, "--queue", "how many requests may wait for the model");
            int? inputSize = CommonOptions.RequireValidSize(parsed.GetValue(size));
            string? package = ModelLoading.Validate(parsed.GetValue(model));
            var addresses = ParseUrls(parsed.GetRequiredValue(urls));
            var app = ServingApplication.Create(addresses, options =>
            {
                options.ModelPath = package;
                options.GpuDeviceId = parsed.GetValue(gpu);
                options.InputSize = inputSize;
                options.ImageCacheMegabytes = cacheMegabytes;
                options.MaxConcurrentInferences = maxConcurrent;
                options.MaxQueuedRequests = maxQueued;
            });
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                foreach (string address in ServingApplication.Addresses(app))
                    console.Out.WriteLine($"lseg serve: listening on {address} (page at {address}/, API under {address}/v1); Ctrl+C stops");
                console.Out.Flush();
            });
            try
            {
                app.Run(); // returns after Ctrl+C / SIGTERM, once the requests in flight are answered
            }
            catch (Exception e) when (e is InvalidOperationException or Microsoft.Extensions.Options.OptionsValidationException)
            {
                // The host refused to start (e.g. a cache too small for one encoded image of this model): its message
                // names the library's options; say which flag sets each.
                throw new CommandFailure(WithFlagNames(e.Message));
            }
            console.Out.WriteLine("lseg serve: stopped");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The library's option names in a message, as the flags of this command that set them.</summary>
    private static readonly (string Option, string Flag)[] Flags =
    [
        ($"{nameof(LanguageSegmentationServingOptions.ImageCacheMegabytes)} =", "--cache-mb"),
        ($"{nameof(LanguageSegmentationServingOptions.ImageCacheMegabytes)} is", "--cache-mb"),
        ($"{nameof(LanguageSegmentationServingOptions.MaxConcurrentInferences)} is", "--concurrency"),
        ($"{nameof(LanguageSegmentationServingOptions.MaxQueuedRequests)} is", "--queue"),
        ($"{nameof(LanguageSegmentationServingOptions.GpuDeviceId)} is", "--gpu"),
    ];

    private static string WithFlagNames(string message)
    {
        foreach (var (option, flag) in Flags)
            message = message.Replace(option, flag, StringComparison.Ordinal);
        return message;
    }

    private static int RequireAtLeast(int value, int minimum, string flag, string what) =>
        value >= minimum ? value : throw new CommandFailure($"{flag} {value} is out of range: give {what}, {minimum} or more.", ExitCodes.Usage);

    private static string[] ParseUrls(string text)
    {
        var urls = text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (urls.Length == 0)
            throw new CommandFailure("--urls is empty: give at least one address, e.g. --urls http://127.0.0.1:5000.", ExitCodes.Usage);
        foreach (string url in urls)
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0").Replace("://+", "://0.0.0.0"), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new CommandFailure($"--urls '{url}' is not an http:// or https:// address, e.g. http://127.0.0.1:5000.", ExitCodes.Usage);
        }
        return urls;
    }
}
