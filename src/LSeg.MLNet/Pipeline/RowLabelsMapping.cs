using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace LSeg.MLNet.Pipeline;

/// <summary>Input of the per-row label encoding: the row's labels.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class RowLabelsInput
{
    /// <summary>The row's labels.</summary>
    [ColumnName(PipelineColumns.RowLabels)]
    public string[] Labels { get; set; } = [];
}

/// <summary>Output of the per-row label encoding.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class RowLabelEmbeddingsOutput
{
    /// <summary>N, C, then the row-major [N, C] label embeddings of the row (what <see cref="LabelPackingMapping"/> reads).</summary>
    [ColumnName(PipelineColumns.LabelEmbeddingsRaw)]
    public float[] Raw { get; set; } = [];
}

/// <summary>
/// Encodes each row's labels with the model's text encoder. The text encoder is not inside a saved model (only the
/// segmentation graph is), so a fitted pipeline binds this step to its <see cref="LanguageSegmentationModel"/>; what
/// <c>Model.Load</c> restores is this unbound form, which says how to bind it:
/// <see cref="LanguageSegmentationTransformer.FromTransformerChain"/> with the model.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class RowLabelsMapping : CustomMappingFactory<RowLabelsInput, RowLabelEmbeddingsOutput>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.RowLabels";

    /// <summary>The mapping bound to <paramref name="model"/>.</summary>
    internal static Action<RowLabelsInput, RowLabelEmbeddingsOutput> BoundTo(LanguageSegmentationModel model) =>
        (input, output) => output.Raw = LabelPackingMapping.Raw(model.EncodeLabels(input.Labels));

    /// <inheritdoc/>
    public override Action<RowLabelsInput, RowLabelEmbeddingsOutput> GetMapping() => static (_, _) =>
        throw new InvalidOperationException(
            $"This loaded LanguageSegment model takes its labels from a column per row, and encoding labels needs the model's text encoder, which a saved model does not hold: " +
            $"pass the loaded chain and the model to {nameof(LanguageSegmentationTransformer)}.{nameof(LanguageSegmentationTransformer.FromTransformerChain)}(loaded, schema, model) and use what it returns.");
}
