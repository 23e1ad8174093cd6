using LSeg.Training.Bridge.Network.TextEncoders;

namespace LSeg.Training.Bridge.Import;

/// <summary>
/// Reads the sizes of a CLIP text tower from its tensors' shapes (CLIP's state dict carries no configuration):
/// width and vocabulary from <c>token_embedding.weight</c>, context from <c>positional_embedding</c>, layers from
/// the <c>transformer.resblocks.{i}</c> indices, C from <c>text_projection</c>, and heads = width / 64 as in CLIP.
/// </summary>
internal static class ClipCheckpointLayout
{
    /// <summary>CLIP's attention head size: every CLIP text tower has width / 64 heads.</summary>
    internal const int HeadSize = 64;

    public static ClipTextConfig InferConfig(IReadOnlyDictionary<string, CheckpointTensor> text, string prefix)
    {
        var tokens = Require(text, "token_embedding.weight", 2, prefix);
        var positions = Require(text, "positional_embedding", 2, prefix);
        var projection = Require(text, "text_projection", 2, prefix);
        int width = (int)tokens.Shape[1];
        int layers = text.Keys
            .Where(k => k.StartsWith("transformer.resblocks.", StringComparison.Ordinal))
            .Select(k => k.Split('.')[2])
            .Distinct()
            .Count();
        if (width % HeadSize != 0)
            throw new InvalidDataException($"'{prefix}token_embedding.weight' has width {width}, not a multiple of CLIP's head size {HeadSize}: not a CLIP text tower.");
        if (positions.Shape[1] != width || projection.Shape[0] != width)
            throw new InvalidDataException($"The CLIP text tower's widths disagree: '{prefix}token_embedding.weight' {tokens.ShapeText}, '{prefix}positional_embedding' {positions.ShapeText}, '{prefix}text_projection' {projection.ShapeText}.");
        return new ClipTextConfig(width, layers, width / HeadSize, (int)tokens.Shape[0], (int)positions.Shape[0], (int)projection.Shape[1]);
    }

    private static CheckpointTensor Require(IReadOnlyDictionary<string, CheckpointTensor> text, string key, int rank, string prefix)
    {
        if (!text.TryGetValue(key, out var tensor))
            throw new InvalidDataException($"The checkpoint has no '{prefix}{key}': it does not contain a CLIP text tower.");
        if (tensor.Shape.Length != rank)
            throw new InvalidDataException($"'{prefix}{key}' has shape {tensor.ShapeText}; a CLIP text tower has a rank-{rank} tensor there.");
        return tensor;
    }
}
