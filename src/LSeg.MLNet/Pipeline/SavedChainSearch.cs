using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;

namespace LSeg.MLNet.Pipeline;

/// <summary>
/// Finds a LanguageSegment chain inside what <c>mlContext.Model.Load</c> returns: saving a pipeline such as
/// LoadImages → LanguageSegment → MapKeyToValue writes LanguageSegment's own chain as one element of the outer chain,
/// so it comes back nested, with transforms before and after it.
/// </summary>
internal static class SavedChainSearch
{
    /// <summary>
    /// The first LanguageSegment chain in <paramref name="loaded"/> (depth first) that <paramref name="accept"/> takes
    /// (any, without it), and the schema that feeds it; null if there is none.
    /// </summary>
    public static (TransformerChain<ITransformer> Chain, DataViewSchema InputSchema)? Find(ITransformer loaded, DataViewSchema inputSchema,
        Func<TransformerChain<ITransformer>, DataViewSchema, bool>? accept = null)
    {
        if (loaded is not IEnumerable<ITransformer> chain)
            return null;
        if (IsLanguageSegmentChain(chain))
        {
            var found = chain as TransformerChain<ITransformer> ?? new TransformerChain<ITransformer>(chain.ToArray());
            return accept is null || accept(found, inputSchema) ? (found, inputSchema) : null;
        }
        var schema = inputSchema;
        foreach (var step in chain)
        {
            if (Find(step, schema, accept) is { } found)
                return found;
            schema = step.GetOutputSchema(schema);
        }
        return null;
    }

    /// <summary>What <paramref name="loaded"/> is made of, for an error message: type names, nested chains in brackets.</summary>
    public static string Describe(ITransformer loaded) => loaded is IEnumerable<ITransformer> chain
        ? $"a chain of [{string.Join(", ", chain.Select(Describe))}]"
        : loaded.GetType().Name;

    private static bool IsLanguageSegmentChain(IEnumerable<ITransformer> chain) =>
        chain.Any(step => step is OnnxTransformer)
        && chain.Any(step => step is CustomMappingTransformer<OriginalSizeInput, OriginalSizeOutput> or CustomMappingTransformer<OriginalSizeInput, OriginalSizeMaskOutput>);
}
