using LSeg.MLNet;

namespace LSeg.Cli.Common;

/// <summary>Loads the model a command was pointed at: <c>--model PATH</c>, or the default model embedded in the build.</summary>
internal static class ModelLoading
{
    /// <summary>Checks the model argument without loading anything (fail fast, before outputs are touched).</summary>
    /// <exception cref="CommandFailure">The path is not a package, or no path was given and the build has no default model.</exception>
    public static string? Validate(string? modelPath)
    {
        if (modelPath is not null)
            return ModelPackagePath.Require(modelPath);
        if (!LanguageSegmentationModel.HasDefaultModel)
            throw new CommandFailure("This build of lseg has no default model (models/default/ was absent when it was built): pass --model PATH.");
        return null;
    }

    /// <summary>Loads the package at <paramref name="packageDirectory"/>, or the default model when it is null.</summary>
    public static LanguageSegmentationModel Load(string? packageDirectory, int? gpuDeviceId, CliConsole console, long? maxImagePixels = null)
    {
        var options = new LanguageSegmentationModelOptions { GpuDeviceId = gpuDeviceId, FallbackToCpu = true, MaxImagePixels = maxImagePixels ?? LanguageSegmentationModelOptions.Defaults.MaxImagePixels };
        var model = packageDirectory is null ? LanguageSegmentationModel.LoadDefault(options) : LanguageSegmentationModel.Load(packageDirectory, options);
        if (model.GpuFallbackReason is { } reason)
            console.Error.WriteLine($"note: running on the CPU: {(HasCudaProvider() ? reason : CpuOnlyBuild)}");
        return model;
    }

    /// <summary>What a CLI user can do when this lseg carries ONNX Runtime's CPU build (the library's note names a package reference).</summary>
    internal const string CpuOnlyBuild =
        "this lseg is built with ONNX Runtime's CPU runtime; for --gpu, build it with the CUDA runtime: dotnet build src/LSeg.Cli -c Release -p:LSegGpu=true (CUDA 13 and cuDNN 9 needed on the machine).";

    private static bool HasCudaProvider() =>
        Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider");
}
