using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace LSeg.MLNet.Pipeline;

/// <summary>Input of <see cref="MaskTextMapping"/>: the 0-based mask and the row's label names.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class MaskTextInput
{
    /// <summary>Row-major label index (0-based) per pixel of the original image.</summary>
    [ColumnName(PipelineColumns.MaskIndices)]
    public uint[] Mask { get; set; } = [];

    /// <summary>The label names, in label order.</summary>
    [ColumnName(PipelineColumns.LabelNames)]
    public string[] Names { get; set; } = [];
}

/// <summary>Output of <see cref="MaskTextMapping"/>.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class MaskTextOutput
{
    /// <summary>Row-major label name per pixel (references to the row's name strings, none copied).</summary>
    [ColumnName(PipelineColumns.MaskText)]
    public string[] Text { get; set; } = [];
}

/// <summary>
/// Names each pixel of the mask with its label, for the key step after it (<c>MapValueToKey</c>, whose key values are
/// the labels). This replaced a per-pixel <c>MapValue</c> (index → name): ML.NET's value mapping looks each element up
/// through a reflection call, which allocated about 90 bytes per pixel (1.1 GB for a 12-megapixel photo).
/// Stateless (the names come from a column), saved by contract name.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class MaskTextMapping : CustomMappingFactory<MaskTextInput, MaskTextOutput>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "LSeg.MaskText";

    /// <summary>Fills <paramref name="output"/> from <paramref name="input"/>.</summary>
    /// <exception cref="InvalidOperationException">A mask value names no label (the pipeline's own steps never write one).</exception>
    public static void Map(MaskTextInput input, MaskTextOutput output)
    {
        var mask = input.Mask;
        var names = input.Names;
        // ML.NET hands each cursor one output object: a row of the same size as the last reuses its array.
        var text = output.Text.Length == mask.Length ? output.Text : new string[mask.Length];
        for (int p = 0; p < mask.Length; p++)
        {
            uint label = mask[p];
            if (label >= (uint)names.Length)
                throw new InvalidOperationException($"Pixel {p} of the mask holds label {label}; the row has {names.Length} labels.");
            text[p] = names[label];
        }
        output.Text = text;
    }

    /// <inheritdoc/>
    public override Action<MaskTextInput, MaskTextOutput> GetMapping() => Map;
}
