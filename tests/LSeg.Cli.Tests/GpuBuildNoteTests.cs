using LSeg.Cli.Common;
using LSeg.MLNet.Tests.Packages;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.Cli.Tests;

/// <summary><c>--gpu</c> from a tool built with ONNX Runtime's CPU runtime: the note says what a CLI user can do.</summary>
public class GpuBuildNoteTests
{
    [SkippableFact]
    public void Asking_a_CPU_only_build_for_a_GPU_segments_on_the_CPU_and_says_how_to_build_lseg_for_it()
    {
        Skip.If(OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"), "this build carries ONNX Runtime's CUDA runtime");
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        string image = Images.RedLeftBlueRight(temp.Combine("a.png"));

        var result = CliRunner.RunInProcess("segment", image, "--labels", "red, blue", "--model", package, "--out", temp.Combine("out"), "--gpu", "0");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("note: running on the CPU: " + ModelLoading.CpuOnlyBuild, result.ErrorLines);
        Assert.Contains("-p:LSegGpu=true", ModelLoading.CpuOnlyBuild);
    }
}
