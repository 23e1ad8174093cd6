using System.CommandLine;
using System.Text.Json;
using LSeg.Cli.Benchmarks;
using LSeg.Cli.Common;

namespace LSeg.Cli.Commands;

/// <summary><c>lseg bench serve</c>: the HTTP service under concurrent clients on loopback (<see cref="ServingBenchmark"/>).</summary>
internal static class BenchServeCommand
{
    public static Command Create(CliConsole console)
    {
        var defaults = new ServingBenchmark.Options();
        var model = CommonOptions.Model();
        var clients = new Option<int>("--clients") { Description = "Concurrent clients.", DefaultValueFactory = _ => defaults.Clients, HelpName = "N" }.InRange(1);
        var requests = new Option<int>("--requests") { Description = "Requests in all, after each client's one upload.", DefaultValueFactory = _ => defaults.Requests, HelpName = "N" }.InRange(1);
        var seconds = new Option<int>("--seconds") { Description = "Time bound: no request starts after it.", DefaultValueFactory = _ => (int)defaults.TimeLimit.TotalSeconds, HelpName = "N" }.InRange(1, 86_400);
        var share = new Option<double>("--label-changes") { Description = "Share of requests that are label changes, 0 to 1; the rest are full segmentations.", DefaultValueFactory = _ => defaults.LabelChangeShare, HelpName = "F" }.DecimalNumber(defaults.LabelChangeShare).InRange(0, 1);
        var labels = new Option<string[]>("--labels") { Description = "A comma-separated label set the clients pick from; repeat for each set (default: four built-in sets).", HelpName = "LIST", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var concurrency = new Option<int?>("--concurrency") { Description = "Server: requests that run the model at once (default: the server's).", HelpName = "N" }.InRange(1);
        var json = CommonOptions.Json("Print the results as JSON on stdout (the progress lines go to stderr).");
        var command = new Command("serve", "Load test of the HTTP service on 127.0.0.1 in this process: concurrent clients mixing full segmentations and label changes; throughput, p50/p95/p99 latency, errors, wrong masks (checked against the low-level API), peak memory.")
        {
            model, clients, requests, seconds, share, labels, concurrency, json,
        };
        command.SetAction(parsed =>
        {
            string? package = ModelLoading.Validate(parsed.GetValue(model));
            var sets = parsed.GetValue(labels) is { Length: > 0 } given
                ? given.Select((text, i) => LabelList.Parse(text, $"--labels #{i + 1}").ToArray()).ToArray()
                : null;
            int? slots = parsed.GetValue(concurrency);
            var options = defaults with
            {
                PackagePath = package,
                Clients = parsed.GetValue(clients),
                Requests = parsed.GetValue(requests),
                Duration = TimeSpan.FromSeconds(parsed.GetValue(seconds)),
                LabelChangeShare = parsed.GetValue(share),
                LabelSets = sets,
                Server = slots is int n ? server => server.MaxConcurrentInferences = n : null,
            };
            bool asJson = parsed.GetValue(json);
            var result = ServingBenchmark.RunAsync(options, asJson ? console.Error : console.Out).GetAwaiter().GetResult();
            console.Out.WriteLine(asJson ? JsonSerializer.Serialize(result, BenchmarkJson.Options) : result.ToString());
            return result.Errors == 0 && result.WrongMasks == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }
}
