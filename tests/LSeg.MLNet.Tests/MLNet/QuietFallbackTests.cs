using System.Diagnostics;
using LSeg.MLNet.Tests.Packages;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>On a machine without CUDA, asking for the GPU with fallback runs on the CPU and prints nothing on stderr.</summary>
public sealed class QuietFallbackTests
{
    public const string Command = "segment-asking-for-gpu";

    /// <summary>The second process: loads the package with GPU 0 and fallback, segments one image.</summary>
    public static int SegmentAskingForGpu(string package)
    {
        using var model = LanguageSegmentationModel.Load(package, new LanguageSegmentationModelOptions { GpuDeviceId = 0, FallbackToCpu = true });
        using var image = TestImages.RedLeftBlueRight(64, 64);
        var result = model.Segment(image, ["red", "blue"]);
        Console.WriteLine($"gpu={model.UsesGpu} red={result.PixelCounts[0]}");
        return 0;
    }

    [SkippableFact]
    public void Falling_back_to_the_cpu_prints_nothing_on_stderr()
    {
        Skip.If(Runtime.ExecutionDevice.Select(0, fallbackToCpu: true).UsesGpu, "this machine has a usable CUDA device");
        using var temp = new TemporaryDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in new[] { typeof(QuietFallbackTests).Assembly.Location, Command, package })
            start.ArgumentList.Add(argument);

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();

        Assert.Equal(0, process.ExitCode);
        Assert.StartsWith("gpu=False", stdout);
        Assert.Equal("", stderr.Result);
    }

    [SkippableFact]
    public void The_fallback_reason_says_what_the_application_must_add()
    {
        var device = Runtime.ExecutionDevice.Select(0, fallbackToCpu: true);
        Skip.If(device.UsesGpu, "this machine has a usable CUDA device");

        // Either the CPU build is referenced (no CUDA provider: LSeg.MLNet.Gpu brings it) or the CUDA libraries are
        // missing (they are named); a bare "Failed to load shared library" said neither.
        Assert.True(device.FallbackReason!.Contains("LSeg.MLNet.Gpu", StringComparison.Ordinal) || device.FallbackReason.Contains("libcudnn.so.9", StringComparison.Ordinal), device.FallbackReason);
    }
}
