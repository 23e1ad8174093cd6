using LSeg.MLNet;
using LSeg.Shared;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.Cli.Benchmarks;

/// <summary>The ONNX Runtime settings of <see cref="LanguageSegmentationModelOptions"/> that the benchmarks vary.</summary>
internal sealed record RuntimeSettings(
    bool EnableMemoryArena = LanguageSegmentationModelOptions.Defaults.EnableMemoryArena,
    GraphOptimizationLevel GraphOptimization = LanguageSegmentationModelOptions.Defaults.GraphOptimization,
    int? IntraOpThreads = null,
    int ImageBatchSize = LanguageSegmentationModelOptions.Defaults.ImageBatchSize)
{
    /// <summary>The model options with these settings (the rest at their defaults).</summary>
    public LanguageSegmentationModelOptions ToOptions() => new()
    {
        EnableMemoryArena = EnableMemoryArena,
        GraphOptimization = GraphOptimization,
        IntraOpThreads = IntraOpThreads,
        ImageBatchSize = ImageBatchSize,
    };

    /// <summary>Loads the package (null: the default model) with these settings.</summary>
    public LanguageSegmentationModel Load(string? packagePath) =>
        packagePath is null ? LanguageSegmentationModel.LoadDefault(ToOptions()) : LanguageSegmentationModel.Load(packagePath, ToOptions());

    /// <summary>A short description, e.g. <c>arena off, optimisation all, threads default</c>.</summary>
    public override string ToString() =>
        $"arena {(EnableMemoryArena ? "on" : "off")}, optimisation {OptimizationName(GraphOptimization)}, threads {IntraOpThreads?.ToString() ?? "default"}";

    /// <summary>The level's short name: none, basic, extended or all.</summary>
    public static string OptimizationName(GraphOptimizationLevel level) => level switch
    {
        GraphOptimizationLevel.ORT_DISABLE_ALL => "none",
        GraphOptimizationLevel.ORT_ENABLE_BASIC => "basic",
        GraphOptimizationLevel.ORT_ENABLE_EXTENDED => "extended",
        GraphOptimizationLevel.ORT_ENABLE_ALL => "all",
        _ => level.ToString(),
    };

    /// <summary>The level named by <see cref="OptimizationName"/>.</summary>
    /// <exception cref="ArgumentException">The name is not one of them.</exception>
    public static GraphOptimizationLevel ParseOptimization(string name) => name switch
    {
        "none" => GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all" => GraphOptimizationLevel.ORT_ENABLE_ALL,
        _ => throw new ArgumentException($"Unknown graph optimisation '{name}'; expected none, basic, extended or all.", nameof(name)),
    };
}
