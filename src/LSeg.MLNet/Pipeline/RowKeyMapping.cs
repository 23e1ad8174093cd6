using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace LSeg.MLNet.Pipeline;

/// <summary>Input of <see cref="RowKeyMapping"/>: nothing (it reads no column, so no image is decoded for it).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class RowKeyInput
{
}

/// <summary>Output of <see cref="RowKeyMapping"/>.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class RowKeyOutput
{
    /// <summary>Always 1: the key that value mappings turn into the pipeline's constants (settings, label embeddings).</summary>
    [ColumnName(PipelineColumns.Constant)]
    public uint Constant { get; set; }
}

/// <summary>
/// Gives every row the key 1, which <c>MapValue</c> steps turn into constants saved inside the model (the pipeline's
/// settings and the label embeddings): ML.NET lets a saved CustomMapping hold no state of its own. Saved by contract name.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class RowKeyMapping : CustomMappingFactory<RowKeyInput, RowKeyOutput>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.RowKey";

    /// <summary>Sets the key.</summary>
    public static void Map(RowKeyInput input, RowKeyOutput output) => output.Constant = 1;

    /// <inheritdoc/>
    public override Action<RowKeyInput, RowKeyOutput> GetMapping() => Map;
}
