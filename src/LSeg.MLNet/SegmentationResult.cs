namespace LSeg.MLNet;

/// <summary>A per-pixel label map at the original image size, with per-label pixel counts and winning scores.</summary>
public sealed class SegmentationResult
{
    internal SegmentationResult(int width, int height, IReadOnlyList<string> labels, int[] mask, float[] scores, long[] pixelCounts, EncodedImage? image)
    {
        Width = width;
        Height = height;
        Labels = labels;
        Mask = mask;
        Scores = scores;
        PixelCounts = pixelCounts;
        EncodedImage = image;
    }

    /// <summary>Width of the original image.</summary>
    public int Width { get; }

    /// <summary>Height of the original image.</summary>
    public int Height { get; }

    /// <summary>The labels; <see cref="Mask"/> holds indices into this list.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Row-major label indices, <see cref="Width"/> × <see cref="Height"/> elements (the result's own array, not a copy: read it, or copy it before changing it).</summary>
    public int[] Mask { get; }

    /// <summary>
    /// Row-major logit of the winning label at each pixel: cosine ÷ temperature plus the label's calibrated logit offset
    /// (the package's <c>labelLogitOffsets</c>, e.g. +2 on the default model's "other", lowered next to an untrained
    /// name). Where the catch-all takes a pixel an unoffered trained name won, the score is that name's logit.
    /// </summary>
    public float[] Scores { get; }

    /// <summary>Number of pixels of each label, in the order of <see cref="Labels"/>.</summary>
    public long[] PixelCounts { get; }

    /// <summary>
    /// The encoded image this result was computed from (its <see cref="MLNet.EncodedImage.PixelEmbeddings"/> are the dense
    /// pixel embeddings), when <c>includeEmbeddings</c> asked for it; otherwise null. Segment it again with other labels
    /// without running the image encoder.
    /// </summary>
    public EncodedImage? EncodedImage { get; }

    /// <summary>The same as <see cref="EncodedImage"/> (the earlier name, which did not say what it returns).</summary>
    [Obsolete("Use EncodedImage: this property returns the encoded image, whose PixelEmbeddings are the embeddings.")]
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public EncodedImage? Embeddings => EncodedImage;

    /// <summary>
    /// The mask as an 8-bit grayscale PNG whose pixel values are label indices (0 = the first label): what
    /// <c>lseg segment</c> writes as <c>NAME.mask.png</c>. Read it back with <see cref="Imaging.IndexPng.Decode"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">There are more than 256 labels, so an index does not fit 8 bits (<see cref="Mask"/> holds any number), or <see cref="Mask"/> was changed to hold a value that is no label's index.</exception>
    public byte[] ToMaskPng()
    {
        if (Labels.Count > 256)
            throw new InvalidOperationException($"This result has {Labels.Count} labels; a mask PNG holds 8-bit label indices (0 to 255), so at most 256 labels. Read the indices from Mask instead, or segment with at most 256 labels.");
        var indices = new byte[Mask.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            // The arrays are the caller's to read: a value written into Mask that is no label would wrap into a wrong byte.
            if ((uint)Mask[i] >= (uint)Labels.Count)
                throw new InvalidOperationException($"Mask holds {Mask[i]} at pixel ({i % Width}, {i / Width}), which is no label's index (0 to {Labels.Count - 1}); the result's arrays must not be changed.");
            indices[i] = (byte)Mask[i];
        }
        return Imaging.IndexPng.Encode(Width, Height, indices);
    }

    /// <summary>The label of the pixel at (<paramref name="x"/>, <paramref name="y"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The point is outside the image (a row index past the width would otherwise read another row's pixel).</exception>
    public string LabelAt(int x, int y)
    {
        if ((uint)x >= (uint)Width)
            throw new ArgumentOutOfRangeException(nameof(x), x, $"x must be 0 to {Width - 1} (the mask is {Width}×{Height}).");
        if ((uint)y >= (uint)Height)
            throw new ArgumentOutOfRangeException(nameof(y), y, $"y must be 0 to {Height - 1} (the mask is {Width}×{Height}).");
        return Labels[Mask[y * Width + x]];
    }
}
