using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace LSeg.MLNet.Pipeline;

/// <summary>Input of <see cref="LabelPackingMapping"/>: [N, C, then N·C embedding values] of the row's labels.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class LabelPackingInput
{
    /// <summary>The label count N, the embedding size C, then the row-major [N, C] embeddings.</summary>
    [ColumnName(PipelineColumns.LabelEmbeddingsRaw)]
    public float[] Raw { get; set; } = [];
}

/// <summary>Output of <see cref="LabelPackingMapping"/>: the embeddings in a fixed-size vector, and their shape.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class LabelPackingOutput
{
    /// <summary>The [N, C] embeddings, zero-padded to <see cref="LabelPackingMapping.Capacity"/> values.</summary>
    [ColumnName(SegmentationGraph.LabelEmbeddingsColumn)]
    [VectorType(LabelPackingMapping.Capacity)]
    public float[] Embeddings { get; set; } = [];

    /// <summary>[N, C].</summary>
    [ColumnName(SegmentationGraph.LabelShapeColumn)]
    [VectorType(2)]
    public long[] Shape { get; set; } = [];
}

/// <summary>
/// Puts a row's label embeddings into a fixed-size vector: ML.NET's ApplyOnnxModel accepts only known-size vector
/// inputs, while the number of labels varies. The composed graph slices the first N·C values back out.
/// Stateless, saved by its contract name.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class LabelPackingMapping : CustomMappingFactory<LabelPackingInput, LabelPackingOutput>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.PackLabels";

    /// <summary>Values the packed vector holds: N·C may not exceed it (e.g. 682 labels of 384 values).</summary>
    public const int Capacity = 1 << 18;

    /// <summary>Fills <paramref name="output"/> from <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">N·C exceeds <see cref="Capacity"/>.</exception>
    public static void Map(LabelPackingInput input, LabelPackingOutput output)
    {
        var raw = input.Raw;
        long count = (long)raw[0], size = (long)raw[1];
        if (count * size > Capacity)
            throw new ArgumentException($"A row has {count} labels of {size} values; the pipeline carries at most {Capacity} values ({Capacity / Math.Max(size, 1)} labels).", nameof(input));
        var packed = new float[Capacity];
        Array.Copy(raw, 2, packed, 0, count * size);
        output.Embeddings = packed;
        output.Shape = [count, size];
    }

    /// <summary>The raw form <see cref="Map"/> reads: [N, C, embeddings…].</summary>
    internal static float[] Raw(LabelEmbeddings embeddings)
    {
        var raw = new float[2 + embeddings.Buffer.Length];
        raw[0] = embeddings.Count;
        raw[1] = embeddings.EmbeddingSize;
        embeddings.Buffer.CopyTo(raw, 2);
        return raw;
    }

    /// <inheritdoc/>
    public override Action<LabelPackingInput, LabelPackingOutput> GetMapping() => Map;
}
