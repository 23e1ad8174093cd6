using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.Cli.Benchmarks;
using LSeg.Cli.Common;
using LSeg.Cli.Hosting;
using LSeg.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LSeg.Cli.Commands;

/// <summary>
/// <c>lseg batch INPUT --labels "..." --out DIR</c>: segments a folder or manifest of images on Orleans silos — N silos
/// in this process (<c>--silos N</c>), or a cluster of <c>lseg silo</c> processes (<c>--join CLUSTER</c>) — writing
/// <c>NAME.mask.png</c> per image and one <c>index.jsonl</c> line per image; <c>--resume</c> continues an interrupted job.
/// </summary>
internal static class BatchCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new Argument<string>("INPUT") { Description = "A folder of images (searched recursively) or a manifest: a text file of image paths, one per line, or a .jsonl file of JSON strings or {\"image\": PATH} objects." };
        var labels = new Option<string>("--labels", "-l") { Description = "Comma-separated text labels, e.g. \"dog, grass, other\". Mask value i is the i-th label.", Required = true, HelpName = "LIST" };
        var output = CommonOptions.OutputDirectory("Folder for the masks (mirroring the input's sub-folders), index.jsonl and batch.json (created if missing).");
        output.Required = true;
        var model = CommonOptions.Model("Model package directory, or its manifest.json (default: the model embedded in this build); with --join, every silo must see it at this path.");
        var size = CommonOptions.Size();
        var silos = new Option<int?>("--silos") { Description = "Run N silos in this process on localhost clustering (default 1 without --join).", HelpName = "N" };
        var join = new Option<string?>("--join") { Description = "Submit the job to a running cluster of 'lseg silo' processes: 'localhost[:GATEWAYPORTS]' or 'redis://HOST:PORT'.", HelpName = "CLUSTER" };
        var clusterId = SiloCommand.ClusterIdOption();
        var resume = new Option<bool>("--resume") { Description = "Continue the job in --out: images already in its index.jsonl are not redone." };
        var chunkSize = new Option<int>("--chunk-size") { Description = "Images handed to a silo at a time.", DefaultValueFactory = _ => BatchSegmentationJob.Defaults.ChunkSize, HelpName = "N" };
        var parallel = SiloCommand.ParallelOption();
        var gpu = CommonOptions.Gpu();
        var json = CommonOptions.Json("Print the summary as JSON on stdout.");
        var command = new Command("batch", "Segment a corpus of images on Orleans silos: NAME.mask.png per image and one index.jsonl line each (path, size, labels, shares, status, error); at-least-once with atomic outputs, resumable.")
        {
            input, labels, output, model, size, silos, join, clusterId, resume, chunkSize, parallel, gpu, json,
        };
        command.SetAction(parsed => Run(console, new Request(
            parsed.GetRequiredValue(input), parsed.GetRequiredValue(labels), parsed.GetValue(output)!, parsed.GetValue(model), parsed.GetValue(size),
            parsed.GetValue(silos), parsed.GetValue(join), parsed.GetValue(clusterId)!, parsed.GetValue(resume), parsed.GetValue(chunkSize),
            parsed.GetValue(parallel), parsed.GetValue(gpu), parsed.GetValue(json))));
        return command;
    }

    /// <summary><c>lseg bench batch</c>: images/s on 1 and 2 in-process silos, the coordination overhead per image, and the N-machine estimate.</summary>
    public static Command CreateBenchmark(CliConsole console)
    {
        var defaults = new BatchBenchmark.Options();
        var model = CommonOptions.Model();
        var images = new Option<int>("--images") { Description = "Images per run, 2 or more.", DefaultValueFactory = _ => defaults.Images, HelpName = "N" }.InRange(2);
        var labels = new Option<int>("--labels") { Description = $"Labels per image, 1 to {BatchBenchmark.MaxLabels}.", DefaultValueFactory = _ => defaults.Labels, HelpName = "N" }.InRange(1, BatchBenchmark.MaxLabels);
        var chunkSize = new Option<int>("--chunk-size") { Description = "Images per chunk.", DefaultValueFactory = _ => defaults.ChunkSize, HelpName = "N" }.InRange(1);
        var command = new Command("batch", "Measured in one run: the low-level API's cost per image, batch images/s on 1 and 2 silos in this process, the coordination overhead per image, and the estimate of images/s on N machines.")
        {
            model, images, labels, chunkSize,
        };
        command.SetAction(parsed =>
        {
            string? package = ModelLoading.Validate(parsed.GetValue(model));
            var options = defaults with { PackagePath = package, Images = parsed.GetValue(images), Labels = parsed.GetValue(labels), ChunkSize = parsed.GetValue(chunkSize) };
            console.Out.Write(BatchBenchmark.Run(options, console.Error).ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private sealed record Request(string Input, string Labels, string OutputDirectory, string? Model, int? Size, int? Silos, string? Join, string ClusterId,
        bool Resume, int ChunkSize, int? Parallel, int? Gpu, bool Json);

    private static int Run(CliConsole console, Request request)
    {
        var labels = LabelList.Parse(request.Labels);
        int? size = CommonOptions.RequireValidSize(request.Size);
        string? package = ModelLoading.Validate(request.Model);
        if (request.Join is not null && (request.Silos is not null || request.Parallel is not null || request.Gpu is not null))
            throw new CommandFailure("--join submits to running silos, which have their own --parallel and --gpu: leave out --silos, --parallel and --gpu.", ExitCodes.Usage);
        if (request.Silos is < 1 or > 64)
            throw new CommandFailure($"--silos {request.Silos} is out of range: 1 to 64.", ExitCodes.Usage);
        if (request.ChunkSize < 1)
            throw new CommandFailure($"--chunk-size {request.ChunkSize} must be 1 or more.", ExitCodes.Usage);
        SiloCommand.RequireValidParallel(request.Parallel);
        var membership = request.Join is null ? null : SiloCommand.ParseCluster(request.Join, "--join");
        var job = new BatchSegmentationJob
        {
            Input = request.Input, Labels = labels, OutputDirectory = request.OutputDirectory, ModelPath = package, InputSize = size,
            Resume = request.Resume, ChunkSize = request.ChunkSize,
        };

        bool holdsJob = File.Exists(Path.Combine(request.OutputDirectory, "batch.json")) || File.Exists(Path.Combine(request.OutputDirectory, "index.jsonl"));
        // A mistyped --out with --resume would otherwise redo every image into a new folder without a word.
        if (request.Resume && !holdsJob)
            console.Error.WriteLine($"note: --resume: '{request.OutputDirectory}' holds no batch job (no batch.json); a new job starts there.");
        // The library refuses this too, naming its own option for library users; said here first, in the command's
        // words, and before any silo starts.
        if (!request.Resume && holdsJob)
            throw new CommandFailure($"--out '{request.OutputDirectory}' already holds a batch job (batch.json, index.jsonl): run the same command with --resume to continue it, or give another --out.");
        using var interrupt = new ConsoleInterrupt();
        var progress = new ProgressLines(console.Error);
        try
        {
            var summary = membership is null
                ? RunLocal(job, progress, request.Silos ?? 1, request.Parallel, request.Gpu, interrupt.Token).GetAwaiter().GetResult()
                : RunJoined(console, job, progress, membership, request.ClusterId, interrupt.Token).GetAwaiter().GetResult();
            // As every --gpu command: a fallback to the CPU is said on stderr (the silos ran the model where they could).
            if (request.Gpu is int gpu && summary.DevicePerSilo?.Where(p => p.Value != "gpu").Select(p => p.Key).ToList() is { Count: > 0 } onCpu)
                console.Error.WriteLine($"note: --gpu {gpu} could not be used (CUDA 13 and cuDNN 9 are needed): {string.Join(", ", onCpu)} ran on the CPU.");
            var counts = JobCounts.Of(summary, progress.Last);
            console.Out.WriteLine(request.Json ? ToJson(summary, counts) : Describe(summary, counts));
            return ExitCodes.Success;
        }
        catch (Exception) when (interrupt.Requested)
        {
            // Whatever a stop at this moment surfaced as (a cancellation, or a silo that was still starting and refuses to
            // stop), the user asked for it: 130, and what is on disk.
            string index = Path.Combine(request.OutputDirectory, "index.jsonl");
            throw new CommandFailure(File.Exists(index)
                ? $"interrupted; the finished images are in {index}: run the same command with --resume to continue."
                : "interrupted before the job started; nothing was written.", ExitCodes.Interrupted);
        }
        catch (BatchSegmentationException e)
        {
            // A label the model refuses is the command line's mistake, as a repeat caught before the cluster starts.
            throw new CommandFailure(e.Message, e.LabelsRefused ? ExitCodes.Usage : ExitCodes.Failure);
        }
    }

    private static async Task<BatchSummary> RunLocal(BatchSegmentationJob job, IProgress<BatchProgress> progress, int silos, int? parallel, int? gpu, CancellationToken cancellation)
    {
        await using var cluster = await LocalSegmentationCluster.StartAsync(silos, options =>
        {
            options.MaxParallelImages = parallel ?? SegmentationWorkerOptions.Defaults.MaxParallelImages;
            options.GpuDeviceId = gpu;
        }, cancellation);
        return await cluster.Client.SegmentBatchAsync(job, progress, cancellation);
    }

    private static async Task<BatchSummary> RunJoined(CliConsole console, BatchSegmentationJob job, IProgress<BatchProgress> progress, ClusterMembership membership, string clusterId, CancellationToken cancellation)
    {
        using var client = new HostBuilder().ConfigureServices(services => services.AddSingleton<IHostLifetime, NoSignalLifetime>()).UseOrleansClient(builder => membership.ConfigureClient(builder, clusterId)).Build();
        // Orleans keeps retrying a gateway it cannot reach for minutes before it gives up: say what it is waiting for.
        console.Error.WriteLine("connecting to the cluster (Orleans retries an unreachable gateway for a few minutes; Ctrl+C stops)");
        try
        {
            await client.StartAsync(cancellation);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new CommandFailure($"cannot connect to the cluster: {e.Message}");
        }
        try
        {
            return await client.Services.GetRequiredService<IClusterClient>().SegmentBatchAsync(job, progress, cancellation);
        }
        finally
        {
            await client.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// The whole job as its index holds it: <see cref="BatchSummary"/> counts this run's images only, so after
    /// <c>--resume</c> its <c>Failed</c> would say 0 beside an index of failed lines. The last progress report counts the
    /// index (failed lines included); the runner sends one once every image is in the index, so the fallback to this
    /// run's counts is only a guard.
    /// </summary>
    private sealed record JobCounts(int Succeeded, int Failed)
    {
        public static JobCounts Of(BatchSummary summary, BatchProgress? last) => last is { } p && p.Done == summary.Total
            ? new JobCounts(p.Done - p.Failed, p.Failed)
            : new JobCounts(summary.Succeeded, summary.Failed);
    }

    private static string Describe(BatchSummary s, JobCounts job) =>
        $"{s.Total} images: {job.Succeeded} segmented, {job.Failed} failed (this run: {s.Succeeded} segmented, {s.Failed} failed, {s.Resumed} already done, of {s.Total}) " +
        $"in {s.Elapsed.TotalSeconds:0.0} s ({s.ImagesPerSecond:0.00} images/s; per silo: {string.Join(", ", s.ImagesPerSilo.Select(p => $"{p.Key} {p.Value}"))}); model {s.ModelIdentity}; index {s.IndexPath}";

    private static string ToJson(BatchSummary s, JobCounts job) => new JsonObject
    {
        ["total"] = s.Total, ["succeeded"] = job.Succeeded, ["failed"] = job.Failed, ["resumed"] = s.Resumed,
        ["thisRun"] = new JsonObject { ["succeeded"] = s.Succeeded, ["failed"] = s.Failed },
        ["seconds"] = Math.Round(s.Elapsed.TotalSeconds, 3), ["imagesPerSecond"] = Math.Round(s.ImagesPerSecond, 3),
        ["imagesPerSilo"] = new JsonObject(s.ImagesPerSilo.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        ["model"] = s.ModelIdentity, ["index"] = s.IndexPath,
        ["devicePerSilo"] = s.DevicePerSilo is { } devices ? new JsonObject(devices.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))) : null,
    }.ToJsonString(CliJson.Indented);

    /// <summary>Progress on stderr, at most one line a second: done/total, failures, images/s, silos, time left.</summary>
    private sealed class ProgressLines(TextWriter error) : IProgress<BatchProgress>
    {
        private readonly Stopwatch _sinceLast = Stopwatch.StartNew();
        private BatchProgress? _last;

        /// <summary>The latest report, printed or not.</summary>
        public BatchProgress? Last { get; private set; }

        public void Report(BatchProgress value)
        {
            Last = value;
            bool changed = _last is null || value.Done != _last.Done || value.Silos != _last.Silos;
            bool finished = value.Done == value.Total;
            if (!changed || (!finished && _sinceLast.Elapsed < TimeSpan.FromSeconds(1)))
                return;
            _last = value;
            _sinceLast.Restart();
            // Whole hours, not the hours component ("hh" would print a 55-hour estimate as 07).
            string eta = value.Remaining is { } left ? $", {(long)left.TotalHours}:{left:mm\\:ss} left" : "";
            error.WriteLine($"batch: {value.Done}/{value.Total} images ({value.Failed} failed, {value.Resumed} resumed), {value.ImagesPerSecond:0.00} images/s on {value.Silos} silos{eta}");
        }
    }
}
