using LSeg.MLNet.Head;

namespace LSeg.MLNet;

/// <summary>
/// An image after the image encoder: its dense pixel embeddings, ready to be segmented with any label set by
/// <see cref="LanguageSegmentationModel.Segment(EncodedImage, LabelEmbeddings, bool)"/> without running the encoder again.
/// Immutable and shareable between threads.
/// </summary>
public sealed class EncodedImage
{
    private float[]? _planar;

    /// <summary>Keeps either the grid of the C# correlation (models whose head it computes) or the encoder's planar output.</summary>
    internal EncodedImage(LanguageSegmentationModel model, int originalWidth, int originalHeight, int inputWidth, int inputHeight,
        PixelGrid? grid, float[]? planar, int embeddingWidth, int embeddingHeight, int embeddingSize)
    {
        if (grid is null == planar is null)
            throw new ArgumentException("Exactly one of the grid and the planar embeddings is kept.");
        Model = model;
        OriginalWidth = originalWidth;
        OriginalHeight = originalHeight;
        InputWidth = inputWidth;
        InputHeight = inputHeight;
        Grid = grid;
        _planar = planar;
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

    /// <summary>
    /// Dense pixel embeddings, planar [C, EmbeddingHeight, EmbeddingWidth] (not normalised), as the image encoder gave
    /// them (for models segmented by the C# correlation they are rebuilt on first use from its grid: transposed back,
    /// or projected again from the pre-projection features, equal to the encoder output within float rounding; the
    /// projection runs in the model, so with such a package read them before disposing the model).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The embeddings had to be projected again and the model was disposed.</exception>
    public ReadOnlyMemory<float> PixelEmbeddings => Planar;

    /// <summary>
    /// Bytes of memory this encoded image holds: the grid a label change reads (and its per-pixel norms) or the
    /// encoder's planar output, plus <see cref="PixelEmbeddings"/> once they were rebuilt from the grid. What a cache of
    /// encoded images should count.
    /// </summary>
    public long MemoryBytes =>
        ((Grid is { } grid ? (long)grid.Vectors.Length + grid.InverseNorms.Length : 0) + (Volatile.Read(ref _planar)?.LongLength ?? 0)) * sizeof(float);

    /// <summary>The grid the C# correlation reads (blocks of pixels, channel by channel), or null when the model's head graph segments this image.</summary>
    internal PixelGrid? Grid { get; }

    /// <summary>The planar embeddings, rebuilt once from the grid when needed.</summary>
    internal float[] Planar => _planar ?? LazyInitializer.EnsureInitialized(ref _planar, () => Model.PlanarEmbeddings(this));
}
