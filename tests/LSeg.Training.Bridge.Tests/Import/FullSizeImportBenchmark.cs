using System.Diagnostics;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.TextEncoders;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Import;

/// <summary>
/// Benchmark, not a CI test: a full-size synthetic checkpoint shaped like <c>demo_e200.ckpt</c> (DPT ViT-L/16 in
/// float32, CLIP ViT-B/32 in float16 with an image tower of the real size, SGD momentum for every image weight), then
/// its import. Runs only when <c>LSEG_IMPORT_BENCHMARK_DIR</c> names a scratch folder (about 5 GB free); run the two
/// steps as separate processes so that the import's peak memory is its own:
/// <c>dotnet test --filter FullSizeImportBenchmark.Generate</c>, then <c>--filter FullSizeImportBenchmark.Import</c>.
/// </summary>
public sealed class FullSizeImportBenchmark(ITestOutputHelper output)
{
    private const string DirectoryVariable = "LSEG_IMPORT_BENCHMARK_DIR";

    private static string RequireDirectory()
    {
        string? directory = Environment.GetEnvironmentVariable(DirectoryVariable);
        Skip.If(string.IsNullOrEmpty(directory), $"Set {DirectoryVariable} to a scratch folder to run the full-size import benchmark.");
        Directory.CreateDirectory(directory!);
        return directory!;
    }

    [SkippableFact]
    public void Generate_a_full_size_ViT_L16_checkpoint_in_the_official_format()
    {
        string directory = RequireDirectory();
        var stopwatch = Stopwatch.StartNew();
        using var source = new OfficialFormatCheckpoint(new LSegNetConfig { Backbone = "vit-l16-384", EmbeddingSize = 512, DecoderFeatures = 256 }, ClipTextConfig.ViTB32, seed: 61);
        var stateDict = source.StateDict();
        // CLIP ViT-B/32's image tower at its real size (87.8 M parameters in float16): read past, never loaded.
        for (int i = 0; i < 12; i++)
        {
            string block = $"net.clip_pretrained.visual.transformer.resblocks.{i}";
            stateDict.Add($"{block}.attn.in_proj_weight", new PyTensor(torch.randn(2304, 768).to_type(ScalarType.Float16)));
            stateDict.Add($"{block}.attn.out_proj.weight", new PyTensor(torch.randn(768, 768).to_type(ScalarType.Float16)));
            stateDict.Add($"{block}.mlp.c_fc.weight", new PyTensor(torch.randn(3072, 768).to_type(ScalarType.Float16)));
            stateDict.Add($"{block}.mlp.c_proj.weight", new PyTensor(torch.randn(768, 3072).to_type(ScalarType.Float16)));
        }
        var checkpoint = SyntheticCheckpoints.LightningCheckpoint(stateDict);
        // SGD momentum for every trained image weight, as in the real 3.1 GB file.
        var momentum = new PyDict();
        int index = 0;
        foreach (var parameter in source.Network.parameters())
            momentum.Add(index++, new PyDict { { "momentum_buffer", new PyTensor(parameter) } });
        var optimizer = (List<object?>)checkpoint.Single(kv => (string?)kv.Key == "optimizer_states").Value!;
        ((PyDict)optimizer[0]!)[0] = new KeyValuePair<object?, object?>("state", momentum);

        string path = Path.Combine(directory, "demo_full_size.ckpt");
        TorchCheckpointWriter.Save(checkpoint, path);
        output.WriteLine($"Wrote {path}: {new FileInfo(path).Length / 1e9:F2} GB in {stopwatch.Elapsed.TotalSeconds:F1} s.");
    }

    [SkippableFact]
    public void Import_the_full_size_checkpoint()
    {
        string directory = RequireDirectory();
        string checkpoint = Path.Combine(directory, "demo_full_size.ckpt");
        Skip.IfNot(File.Exists(checkpoint), $"Run {nameof(Generate_a_full_size_ViT_L16_checkpoint_in_the_official_format)} first.");
        string bpe = Path.Combine(LSeg.Tests.Shared.SharedData.RequireDirectory("clip"), OfficialCheckpointImporter.ClipBpeFileName);
        string package = Path.Combine(directory, "lseg-vitl16");
        // Resident memory sampled every 100 ms, so that the log says which phase reaches the peak.
        var clock = Stopwatch.StartNew();
        long sampledPeak = 0;
        double sampledPeakAt = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                using var process = Process.GetCurrentProcess();
                long rss = process.WorkingSet64;
                if (rss > sampledPeak) (sampledPeak, sampledPeakAt) = (rss, clock.Elapsed.TotalSeconds);
                await Task.Delay(100);
            }
        });
        var report = OfficialCheckpointImporter.Import(checkpoint, bpe, package, new OfficialCheckpointImportOptions
        {
            Overwrite = true,
            Log = line => output.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1} s, resident {Environment.WorkingSet / 1e9:F2} GB] {line}"),
        });
        sampling.Cancel();
        sampler.Wait();
        output.WriteLine($"sampled peak resident {sampledPeak / 1e9:F2} GB at {sampledPeakAt:F1} s");

        long packageBytes = Directory.EnumerateFiles(package).Sum(f => new FileInfo(f).Length);
        output.WriteLine($"checkpoint {new FileInfo(checkpoint).Length / 1e9:F2} GB; kept weights (float32) {report.KeptBytes / 1e9:F2} GB; " +
                         $"package {packageBytes / 1e9:F2} GB ({string.Join(", ", report.Manifest.Files.Keys)})");
        output.WriteLine($"import time {report.Elapsed.TotalSeconds:F1} s; peak working set {report.PeakWorkingSetBytes / 1e9:F2} GB " +
                         $"({(double)report.PeakWorkingSetBytes / report.KeptBytes:F2}× the kept weights)");
        Assert.Equal("vit-l16-384", report.Network.Backbone);
        Assert.Null(report.Network.ReducedBackbone);
        Assert.Equal(ClipTextConfig.ViTB32, report.Text);
    }
}
