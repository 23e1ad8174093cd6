namespace LSeg.MLNet.Pipeline;

/// <summary>Names of the helper columns inside the pipeline; all start with <c>__LSeg_</c> and are dropped at the end.</summary>
internal static class PipelineColumns
{
    public const string Prefix = "__LSeg_";
    public const string Image = Prefix + "Image";
    public const string OriginalWidth = Prefix + "OriginalWidth";
    public const string OriginalHeight = Prefix + "OriginalHeight";
    public const string Constant = Prefix + "Constant";
    public const string Settings = Prefix + "Settings";
    public const string Pixels = Prefix + "Pixels";
    public const string PixelShape = Prefix + "PixelShape";
    public const string RowLabels = Prefix + "RowLabels";
    public const string LabelEmbeddingsRaw = Prefix + "LabelEmbeddingsRaw";
    public const string MaskIndices = Prefix + "MaskIndices";
    public const string LabelNames = Prefix + "LabelNames";
    public const string MaskText = Prefix + "MaskText";
    public const string FullScores = Prefix + "FullScores";
    public const string PixelCounts = Prefix + "PixelCounts";
    public const string EmbeddingsShape = Prefix + "EmbeddingsShape";
}
