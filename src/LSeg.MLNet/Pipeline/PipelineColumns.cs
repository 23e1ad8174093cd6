namespace LSeg.MLNet.Pipeline;

/// <summary>Names of the helper columns inside the pipeline; all start with <c>__LSeg_</c> and are dropped at the end.</summary>
internal static class PipelineColumns
{
    public const string Prefix = "__LSeg_";
    public const string Image = Prefix + "Image";
    public const string ImageCopy = Prefix + "ImageCopy";
    public const string ResizedImage = Prefix + "Resized";
    public const string OriginalWidth = Prefix + "OriginalWidth";
    public const string OriginalHeight = Prefix + "OriginalHeight";
    public const string Constant = Prefix + "Constant";
    public const string RowLabels = Prefix + "RowLabels";
    public const string LabelEmbeddingsRaw = Prefix + "LabelEmbeddingsRaw";
    public const string MaskIndices = Prefix + "MaskIndices";
    public const string MaskText = Prefix + "MaskText";
    public const string FullScores = Prefix + "FullScores";
    public const string PixelCounts = Prefix + "PixelCounts";
}
