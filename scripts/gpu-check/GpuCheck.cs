using System.Diagnostics;
using LSeg.MLNet;
using LSeg.MLNet.Benchmarks;
using Microsoft.ML.Data;

namespace LSeg.GpuCheck;

/// <summary>
/// Checks a CUDA machine: the same images segmented on the CPU and on GPU 0 must agree on at least 99.9% of pixels;
/// prints both timings. Run by <c>scripts/gpu-check.sh</c> (see there) through the small <c>scripts/gpu-check</c>
/// console, which only calls <see cref="Run"/>. It uses only LSeg.MLNet's public API.
/// </summary>
internal static class GpuCheck
{
    /// <summary>Minimum share of pixels whose CPU and GPU labels must agree.</summary>
    public const double RequiredAgreement = 0.999;

    /// <summary>Runs the check; returns 0 when it passes, 1 when the masks disagree, 2 when CUDA cannot be used.</summary>
    public static int Run(string? packagePath, int images, int size, TextWriter output)
    {
        LanguageSegmentationModel Load(int? gpu) => packagePath is null
            ? LanguageSegmentationModel.LoadDefault(new LanguageSegmentationModelOptions { GpuDeviceId = gpu, FallbackToCpu = false })
            : LanguageSegmentationModel.Load(packagePath, new LanguageSegmentationModelOptions { GpuDeviceId = gpu, FallbackToCpu = false });

        using var cpu = Load(null);
        LanguageSegmentationModel gpu;
        try
        {
            gpu = Load(0);
        }
        catch (InvalidOperationException e)
        {
            output.WriteLine($"FAIL: CUDA is not usable: {e.Message}");
            return 2;
        }
        using (gpu)
        {
            output.WriteLine($"model {cpu.Manifest.Name} ({cpu.Manifest.Backbone}); {images} images of {size}×{size}; GPU in use: {gpu.UsesGpu}");
            string[] labels = ["sky", "grass", "road", "car", "person", "tree", "building", "water"];
            var generator = new Random(42);
            long agree = 0, total = 0;
            var cpuTimes = new List<double>();
            var gpuTimes = new List<double>();
            var gpuHeadTimes = new List<double>();
            for (int i = 0; i < images; i++)
            {
                using var image = ColourBlockImage.Create(size, size, generator);
                var watch = Stopwatch.StartNew();
                var onCpu = cpu.Segment(image, labels);
                cpuTimes.Add(watch.Elapsed.TotalMilliseconds);
                watch.Restart();
                var onGpu = gpu.Segment(image, labels);
                gpuTimes.Add(watch.Elapsed.TotalMilliseconds);
                var encoded = gpu.EncodeImage(image);
                watch.Restart();
                gpu.Segment(encoded, gpu.EncodeLabels(labels));
                gpuHeadTimes.Add(watch.Elapsed.TotalMilliseconds);
                agree += onCpu.Mask.Zip(onGpu.Mask).Count(p => p.First == p.Second);
                total += onCpu.Mask.Length;
            }
            double share = (double)agree / total;
            // The first image of each device includes session warm-up: report the median of the rest.
            output.WriteLine($"CPU full segmentation: median {Median(cpuTimes):F1} ms per image");
            output.WriteLine($"GPU full segmentation: median {Median(gpuTimes):F1} ms per image; label change on an encoded image {Median(gpuHeadTimes):F2} ms");
            output.WriteLine($"CPU/GPU mask agreement: {share:P4} of {total:N0} pixels (required {RequiredAgreement:P1})");
            output.WriteLine(share >= RequiredAgreement ? "PASS" : "FAIL: the GPU masks differ from the CPU masks");
            return share >= RequiredAgreement ? 0 : 1;
        }
    }

    private static double Median(List<double> times)
    {
        var sorted = (times.Count > 1 ? times.Skip(1) : times).Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
