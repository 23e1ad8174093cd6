using System.ComponentModel;
using Microsoft.ML.Data;

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
