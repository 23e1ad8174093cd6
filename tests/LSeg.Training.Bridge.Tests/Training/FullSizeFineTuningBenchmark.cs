using System.Diagnostics;
using System.Globalization;
using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Training;
using Xunit.Abstractions;

namespace LSeg.Training.Bridge.Tests.Training;

/// <summary>
/// Benchmark, not a CI test: fine-tuning the full-size ViT-L/16 package that <c>FullSizeImportBenchmark</c> imports
/// from a synthetic checkpoint in the official format, with the decoder-only setting (the default for ViT packages),
/// batch 1 with accumulation and BatchNorm statistics kept, on a few MSRC-v2 crops; then the export of the fine-tuned
/// package. Prints the seconds per optimizer step and per crop (second epoch, after warm-up) and the process's peak
/// resident memory. Runs only when <c>LSEG_IMPORT_BENCHMARK_DIR</c> holds the imported package (run the import
/// benchmark's two steps first) and about 5 GB more are free; run it in a process of its own:
/// <c>dotnet test --filter FullSizeFineTuningBenchmark</c>. Crop and accumulation: <c>LSEG_FINETUNE_CROP</c>
/// (<c>HxW</c>, default 224x320) and <c>LSEG_FINETUNE_ACCUMULATION</c> (default 2).
/// </summary>
public sealed class FullSizeFineTuningBenchmark(ITestOutputHelper output)
{
    private const int Images = 4;

    [SkippableFact]
    public void Fine_tune_the_decoder_of_the_full_size_ViT_L16_package()
    {
        string? directory = Environment.GetEnvironmentVariable("LSEG_IMPORT_BENCHMARK_DIR");
        Skip.If(string.IsNullOrEmpty(directory), "Set LSEG_IMPORT_BENCHMARK_DIR to the import benchmark's folder to run the full-size fine-tuning benchmark.");
        string package = Path.Combine(directory!, "lseg-vitl16");
        Skip.IfNot(File.Exists(Path.Combine(package, "manifest.json")), $"'{package}' has no imported package: run FullSizeImportBenchmark (Generate, then Import) first.");
        string msrc = SharedData.RequireDirectory("msrc-v2");
        string[] crop = (Environment.GetEnvironmentVariable("LSEG_FINETUNE_CROP") ?? "224x320").Split('x');
        int accumulation = int.Parse(Environment.GetEnvironmentVariable("LSEG_FINETUNE_ACCUMULATION") ?? "2", CultureInfo.InvariantCulture);
        string run = Path.Combine(directory!, "finetune-run");
        string tuned = Path.Combine(directory!, "lseg-vitl16-finetuned");
        if (Directory.Exists(run))
            Directory.Delete(run, recursive: true);
        string split = Path.Combine(directory!, "finetune-split.txt");
        File.WriteAllLines(split, File.ReadLines(Path.Combine(msrc, "train.txt")).Take(Images));
        var config = new TrainingConfig
        {
            Name = "lseg-vitl16-msrc",
            Datasets = [new DatasetConfig { Name = "msrc-v2", Folder = msrc, Split = split }],
            InitialModel = package,
            Augmentation = new() { CropHeight = int.Parse(crop[0], CultureInfo.InvariantCulture), CropWidth = int.Parse(crop[1], CultureInfo.InvariantCulture) },
            BatchSize = 1, GradientAccumulation = accumulation, FreezeBatchNormStatistics = true,
            Epochs = 2, LearningRate = 1e-4, OutputDirectory = run,
        };

        var clock = Stopwatch.StartNew();
        long sampledPeak = 0;
        string sampledPeakAt = "";
        string phase = "start";
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                long rss = Environment.WorkingSet;
                if (rss > sampledPeak)
                    (sampledPeak, sampledPeakAt) = (rss, $"{clock.Elapsed.TotalSeconds:F0} s, {phase}");
                await Task.Delay(100);
            }
        });
        void Log(string line)
        {
            phase = line.Length > 60 ? line[..60] : line;
            output.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1} s, resident {Environment.WorkingSet / 1e9:F2} GB] {line}");
        }

        var result = Trainer.Run(config, resume: false, Log);
        double trainingSeconds = clock.Elapsed.TotalSeconds;
        long trainingPeak = Process.GetCurrentProcess().PeakWorkingSet64;
        phase = "export";
        var exportClock = Stopwatch.StartNew();
        TrainedPackage.ExportBest(result, tuned, "lseg-vitl16-msrc", []);
        double exportSeconds = exportClock.Elapsed.TotalSeconds;
        sampling.Cancel();
        sampler.Wait();

        var epoch = result.State.History[^1];
        int steps = (Images + accumulation - 1) / accumulation;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"decoder-only, batch 1 × accumulation {accumulation}, crops {crop[0]}×{crop[1]}: epoch 2 {epoch.Seconds:F1} s for {steps} steps = {epoch.Seconds / steps:F1} s per step, {epoch.Seconds / Images:F1} s per crop"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"whole run {trainingSeconds:F0} s; peak working set during training {trainingPeak / 1e9:F2} GB; sampled peak {sampledPeak / 1e9:F2} GB at {sampledPeakAt}; export of the fine-tuned package {exportSeconds:F0} s, peak after export {Process.GetCurrentProcess().PeakWorkingSet64 / 1e9:F2} GB"));
        Assert.Equal("vit-l16-384", result.NetworkConfig.Backbone);
        Assert.Null(result.NetworkConfig.ReducedBackbone);
        Assert.True(File.Exists(Path.Combine(tuned, "text_encoder.onnx")));
    }
}
