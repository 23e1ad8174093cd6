namespace LSeg.MLNet;

/// <summary>
/// An image after the image encoder: its dense pixel embeddings, ready to be segmented with any label set by
/// <see cref="LanguageSegmentationModel.Segment(EncodedImage, LabelEmbeddings, bool)"/> without running the encoder again.
/// Immutable and shareable between threads.
/// </summary>
public sealed class EncodedImage
{
    private readonly float[] _pixelEmbeddings;

    internal EncodedImage(LanguageSegmentationModel model, int originalWidth, int originalHeight, int inputWidth, int inputHeight,
        float[] pixelEmbeddings, int embeddingWidth, int embeddingHeight, int embeddingSize)
    {
        Model = model;
        OriginalWidth = originalWidth;
        OriginalHeight = originalHeight;
        InputWidth = inputWidth;
        InputHeight = inputHeight;
        _pixelEmbeddings = pixelEmbeddings;
        EmbeddingWidth = embeddingWidth;
        EmbeddingHeight = embeddingHeight;
        EmbeddingSize = embeddingSize;
    }

    internal LanguageSegmentationModel Model { get; }

    /// <summary>Width of the original image, in pixels.</summary>
    public int OriginalWidth { get; }

    /// <summary>Height of the original image, in pixels.</summary>
    public int OriginalHeight { get; }

    /// <summary>Width the image was resized to for the encoder (a multiple of 32).</summary>
    public int InputWidth { get; }

    /// <summary>Height the image was resized to for the encoder (a multiple of 32).</summary>
    public int InputHeight { get; }

    /// <summary>Width of the pixel-embedding grid (InputWidth / embedding stride).</summary>
    public int EmbeddingWidth { get; }

    /// <summary>Height of the pixel-embedding grid (InputHeight / embedding stride).</summary>
    public int EmbeddingHeight { get; }

    /// <summary>Size C of each pixel embedding.</summary>
    public int EmbeddingSize { get; }

    /// <summary>Dense pixel embeddings, planar [C, EmbeddingHeight, EmbeddingWidth] (not normalised).</summary>
    public ReadOnlyMemory<float> PixelEmbeddings => _pixelEmbeddings;

    internal float[] Buffer => _pixelEmbeddings;
}
