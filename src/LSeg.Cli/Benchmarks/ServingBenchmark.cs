using System.Diagnostics;
using System.Net.Http.Json;
using LSeg.Cli.Common;
using LSeg.Cli.Hosting;
using LSeg.MLNet;
using LSeg.MLNet.Imaging;
using LSeg.Serving;
using Microsoft.Extensions.Logging;
using Microsoft.ML.Data;
using SkiaSharp;

namespace LSeg.Cli.Benchmarks;

/// <summary>
/// <c>lseg bench serve</c>: a load test of the HTTP service on loopback, in one process. The server is the one
/// <c>lseg serve</c> runs, on 127.0.0.1 at a free port; concurrent clients each encode their own image once, then
/// mix full segmentations (<c>POST /v1/segment</c>) and label changes (<c>POST /v1/images/{id}/segment</c>) until a
/// request count or a time bound is reached. Every answered mask is compared with the low-level API's mask for the
/// same image and labels (computed before the server starts, on a model loaded as the server loads its own), so a lost,
/// failed or wrong answer is counted, never hidden. Like any client, it sees the server through its HTTP API only.
/// </summary>
internal static class ServingBenchmark
{
    /// <summary>What to run.</summary>
    /// <param name="PackagePath">Model package; null serves the default model.</param>
    /// <param name="Clients">Concurrent clients.</param>
    /// <param name="Requests">Requests in all (after each client's one upload), the count bound.</param>
    /// <param name="Duration">Time bound: no request starts after it.</param>
    /// <param name="LabelChangeShare">Share of the requests that are label changes; the rest are full segmentations.</param>
    /// <param name="LabelSets">The label lists the clients pick from; null uses <see cref="DefaultLabelSets"/>.</param>
    /// <param name="ImageSize">Longer side of the synthetic test images, in pixels.</param>
    /// <param name="Server">Limits of the server (slots, queue, cache).</param>
    internal sealed record Options(string? PackagePath = null, int Clients = 8, int Requests = 240, TimeSpan? Duration = null,
        double LabelChangeShare = 0.75, IReadOnlyList<string[]>? LabelSets = null, int ImageSize = 480, Action<LanguageSegmentationServingOptions>? Server = null)
    {
        /// <summary>The time bound (default 3 minutes).</summary>
        public TimeSpan TimeLimit => Duration ?? TimeSpan.FromMinutes(3);
    }

    /// <summary>Latency figures of one kind of request, in milliseconds.</summary>
    internal sealed record Latency(int Count, double P50, double P95, double P99, double Mean, double Max);

    /// <summary>The figures of one run.</summary>
    internal sealed record Result(
        string Model, string Device, int Clients, int ServerSlots, int ServerQueue, int Images, int LabelSets,
        int Requests, int Answered, int Errors, int WrongMasks, IReadOnlyDictionary<string, int> ErrorKinds,
        double Seconds, double RequestsPerSecond, Latency Full, Latency LabelChange, Latency All,
        double LabelChangeSpeedupP50, double UploadMs, double PeakWorkingSetMB, double CacheMB)
    {
        public override string ToString()
        {
            static string Row(string name, Latency l) =>
                $"{name,-26}{l.Count,7}{l.P50,10:F1}{l.P95,10:F1}{l.P99,10:F1}{l.Mean,10:F1}{l.Max,10:F1}";
            var errors = ErrorKinds.Count == 0 ? "" : " (" + string.Join(", ", ErrorKinds.Select(e => $"{e.Key}: {e.Value}")) + ")";
            return string.Join(Environment.NewLine,
                $"model {Model} on the {Device.ToUpperInvariant()}; server: {ServerSlots} model slots and a queue of {ServerQueue} for each kind of work (encodings, label changes); {Clients} clients, {Images} images, {LabelSets} label sets",
                $"{Answered} of {Requests} requests answered in {Seconds:F1} s: {RequestsPerSecond:F2} answered requests/s (latencies below: answered requests only)",
                $"errors {Errors}{errors}; wrong masks {WrongMasks}",
                $"{"latency (ms)",-26}{"count",7}{"p50",10}{"p95",10}{"p99",10}{"mean",10}{"max",10}",
                Row("full  POST /v1/segment", Full),
                Row("label change  /segment", LabelChange),
                Row("all", All),
                $"label change vs full through HTTP (p50): {LabelChangeSpeedupP50:F1}x faster; first upload (encode) {UploadMs:F0} ms on average",
                $"peak working set {PeakWorkingSetMB:F0} MB (server, clients and reference masks in one process); image cache {CacheMB:F1} MB (the uploads' MemoryBytes)");
        }
    }

    /// <summary>Label lists of the default run: words the default model was trained near, 3 to 6 per list.</summary>
    public static readonly IReadOnlyList<string[]> DefaultLabelSets =
    [
        ["sky", "grass", "other"],
        ["road", "car", "building", "tree", "other"],
        ["person", "dog", "cat", "other"],
        ["water", "boat", "sky", "mountain", "sand", "other"],
    ];

    private const int ImageCount = 4;

    private sealed record Sample(bool LabelChange, double Milliseconds, int Status, bool Correct, string? Error);

    /// <summary>Runs the load and writes progress lines to <paramref name="progress"/>.</summary>
    public static async Task<Result> RunAsync(Options options, TextWriter progress)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Clients, 1, nameof(options.Clients));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Requests, 1, nameof(options.Requests));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.LabelChangeShare, 0, nameof(options.LabelChangeShare));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.LabelChangeShare, 1, nameof(options.LabelChangeShare));
        var labelSets = options.LabelSets ?? DefaultLabelSets;
        if (labelSets.Count == 0)
            throw new ArgumentException("Give at least one label set.", nameof(options));

        var serving = new LanguageSegmentationServingOptions { ModelPath = options.PackagePath };
        options.Server?.Invoke(serving);

        // Reference masks, before any load: the low-level API on the same bytes, one-shot and encode-once, on a model
        // loaded with the server's settings (then disposed, so the two are never in memory together).
        var images = Enumerable.Range(0, ImageCount).Select(i => SyntheticPng(options.ImageSize, seed: i)).ToArray();
        var expectedFull = new byte[ImageCount, labelSets.Count][];
        var expectedChange = new byte[ImageCount, labelSets.Count][];
        var encodedBytes = new long[ImageCount];
        string modelName, device;
        var clock = Stopwatch.StartNew();
        using (var model = LoadAsTheServerDoes(serving))
        {
            (modelName, device) = (model.Manifest.Name, CliJson.Device(model.UsesGpu));
            for (int i = 0; i < ImageCount; i++)
            {
                using var image = MLImage.CreateFromStream(new MemoryStream(images[i]));
                var encoded = model.EncodeImage(image);
                encodedBytes[i] = encoded.MemoryBytes;
                for (int k = 0; k < labelSets.Count; k++)
                {
                    expectedFull[i, k] = Indices(model.Segment(image, labelSets[k]));
                    expectedChange[i, k] = Indices(model.Segment(encoded, model.EncodeLabels(labelSets[k])));
                }
            }
        }
        progress.WriteLine($"reference masks for {ImageCount} images × {labelSets.Count} label sets in {clock.Elapsed.TotalSeconds:F1} s");

        await using var app = ServingApplication.Create(["http://127.0.0.1:0"], server =>
        {
            server.ModelPath = options.PackagePath;
            options.Server?.Invoke(server);
        }, LogLevel.Warning, handleSignals: false);
        await app.StartAsync();
        var address = new Uri(ServingApplication.Addresses(app).Single() + "/");
        progress.WriteLine($"serving {modelName} at {address}; starting {options.Clients} clients");

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Clients + 1 })
        {
            BaseAddress = address,
            Timeout = options.TimeLimit + TimeSpan.FromMinutes(1),
        };
        int issued = 0;
        var uploadTimes = new double[options.Clients];
        var uploaded = new bool[options.Clients];
        // Every client uploads its image first; the timed part (requests/s, latencies) starts once all uploads are done.
        var ids = await Task.WhenAll(Enumerable.Range(0, options.Clients).Select(client => Task.Run(async () =>
        {
            var upload = Stopwatch.StartNew();
            string? id = await UploadAsync(http, images[client % ImageCount]);
            uploadTimes[client] = upload.Elapsed.TotalMilliseconds;
            uploaded[client] = id is not null;
            return id;
        })));
        var deadline = Stopwatch.StartNew();
        var clients = Enumerable.Range(0, options.Clients).Select(client => Task.Run(async () =>
        {
            var samples = new List<Sample>();
            var random = new Random(1000 + client);
            int own = client % ImageCount;
            string? id = ids[client];
            while (deadline.Elapsed < options.TimeLimit && Interlocked.Increment(ref issued) <= options.Requests)
            {
                int labels = random.Next(labelSets.Count);
                bool change = id is not null && random.NextDouble() < options.LabelChangeShare;
                int image = change ? own : random.Next(ImageCount);
                samples.Add(change
                    ? await TimeAsync(true, () => http.PostAsJsonAsync($"v1/images/{id}/segment", new { labels = labelSets[labels] }), expectedChange[image, labels])
                    : await TimeAsync(false, () => http.PostAsync("v1/segment", Form(images[image], string.Join(", ", labelSets[labels]))), expectedFull[image, labels]));
            }
            return samples;
        })).ToArray();
        var all = (await Task.WhenAll(clients)).SelectMany(s => s).ToList();
        double seconds = deadline.Elapsed.TotalSeconds;
        // What the cache holds: each client's upload (none expires or is evicted in a run), counted as the cache counts it.
        double cacheMB = Enumerable.Range(0, options.Clients).Where(c => uploaded[c]).Sum(c => encodedBytes[c % ImageCount]) / 1048576.0;
        await app.StopAsync();

        // Throughput and latencies count answered requests only: a refusal ("queue full", 503) returns at once and
        // would otherwise raise requests/s and lower the percentiles.
        var failed = all.Where(s => s.Error is not null).ToList();
        var answered = all.Where(s => s.Error is null).ToList();
        var full = answered.Where(s => !s.LabelChange).ToList();
        var changes = answered.Where(s => s.LabelChange).ToList();
        var fullLatency = Summarise(full);
        var changeLatency = Summarise(changes);
        var uploadsDone = Enumerable.Range(0, options.Clients).Where(c => uploaded[c]).Select(c => uploadTimes[c]).ToList();
        if (all.Count > 0)
            progress.WriteLine($"label changes were {100.0 * all.Count(s => s.LabelChange) / all.Count:F0}% of the requests ({uploadsDone.Count} of {options.Clients} uploads accepted; a client without one sends full requests only)");
        return new Result(modelName, device, options.Clients, serving.MaxConcurrentInferences, serving.MaxQueuedRequests, ImageCount, labelSets.Count,
            Requests: all.Count, Answered: answered.Count, Errors: failed.Count, WrongMasks: answered.Count(s => !s.Correct),
            ErrorKinds: failed.GroupBy(s => s.Error!).ToDictionary(g => g.Key, g => g.Count()),
            seconds, answered.Count / seconds, fullLatency, changeLatency, Summarise(answered),
            changeLatency.Count > 0 && fullLatency.Count > 0 ? fullLatency.P50 / changeLatency.P50 : double.NaN,
            uploadsDone.Count > 0 ? uploadsDone.Average() : double.NaN, Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, cacheMB);
    }

    private static async Task<string?> UploadAsync(HttpClient http, byte[] image)
    {
        using var response = await http.PostAsync("v1/images", Form(image, null));
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<EncodedImageAnswer>())?.Id : null;
    }

    /// <summary>The model as the server loads it: the same package and device settings.</summary>
    private static LanguageSegmentationModel LoadAsTheServerDoes(LanguageSegmentationServingOptions serving)
    {
        var modelOptions = new LanguageSegmentationModelOptions
        {
            GpuDeviceId = serving.GpuDeviceId,
            FallbackToCpu = serving.FallbackToCpu,
            MaxImagePixels = serving.MaxImagePixels,
        };
        return serving.ModelPath is null ? LanguageSegmentationModel.LoadDefault(modelOptions) : LanguageSegmentationModel.Load(serving.ModelPath, modelOptions);
    }

    // The parts of the API's answers (docs/serving.md) the benchmark reads.
    private sealed record EncodedImageAnswer(string Id);

    private sealed record SegmentationAnswer(string Mask);

    private static async Task<Sample> TimeAsync(bool labelChange, Func<Task<HttpResponseMessage>> send, byte[] expected)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await send();
            var answer = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<SegmentationAnswer>() : null;
            double milliseconds = clock.Elapsed.TotalMilliseconds;
            if (answer is null)
                return new Sample(labelChange, milliseconds, (int)response.StatusCode, false, $"HTTP {(int)response.StatusCode}");
            byte[] mask = IndexPng.Decode(Convert.FromBase64String(answer.Mask)).Pixels;
            return new Sample(labelChange, milliseconds, 200, mask.AsSpan().SequenceEqual(expected), null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return new Sample(labelChange, clock.Elapsed.TotalMilliseconds, 0, false, e.GetType().Name);
        }
    }

    private static MultipartFormDataContent Form(byte[] image, string? labels)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(image), "image", "image.png" } };
        if (labels is not null)
            form.Add(new StringContent(labels), "labels");
        return form;
    }

    private static Latency Summarise(List<Sample> samples)
    {
        if (samples.Count == 0)
            return new Latency(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var sorted = samples.Select(s => s.Milliseconds).Order().ToArray();
        // Nearest-rank percentile.
        double At(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Latency(sorted.Length, At(0.50), At(0.95), At(0.99), sorted.Average(), sorted[^1]);
    }

    private static byte[] Indices(SegmentationResult result) => result.Mask.Select(index => (byte)index).ToArray();

    /// <summary>A deterministic photo-sized PNG: smooth colour gradients with blocks, 4:3, longer side <paramref name="size"/>.</summary>
    private static byte[] SyntheticPng(int size, int seed)
    {
        int width = size, height = size * 3 / 4;
        var random = new Random(seed);
        var blocks = Enumerable.Range(0, 12).Select(_ => (X: random.Next(width), Y: random.Next(height), R: random.Next(40, width / 3),
            Colour: new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)))).ToArray();
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            using var sky = new SKPaint
            {
                Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, height),
                    [new SKColor(110, 160, 230), new SKColor(90, 150, 70)], SKShaderTileMode.Clamp),
            };
            canvas.DrawRect(0, 0, width, height, sky);
            foreach (var block in blocks)
            {
                using var paint = new SKPaint { Color = block.Colour, IsAntialias = true };
                canvas.DrawCircle(block.X, block.Y, block.R, paint);
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var encoded = image.Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }
}
