using LSeg.MLNet.Head;
using LSeg.MLNet.Package;
using LSeg.MLNet.Runtime;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.MLNet;

/// <summary>The image encoder: batches of images of one input size, and the grid the C# head reads.</summary>
public sealed partial class LanguageSegmentationModel
{
    /// <summary>
    /// Encodes several images, running the image encoder on batches of up to
    /// <see cref="LanguageSegmentationModelOptions.ImageBatchSize"/> images that share a model input size (images of
    /// different aspect ratios go in different batches). Each result is what <see cref="EncodeImage"/> gives for that image.
    /// </summary>
    /// <returns>The encoded images, in the order of <paramref name="images"/>.</returns>
    /// <exception cref="ArgumentException">The list is empty or holds a null image, or an image is too small or too large (see <see cref="EncodeImage"/>).</exception>
    /// <exception cref="ObjectDisposedException">The model, or one of the images, was disposed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not in 32 … 2048.</exception>
    public IReadOnlyList<EncodedImage> EncodeImages(IReadOnlyList<MLImage> images, int? inputSize = null) =>
        EncodeAll(images, inputSize, forLabelChanges: true, nameof(images));

    /// <summary>
    /// Segments several images with the same labels, running the image encoder on batches of images that share a
    /// model input size (see <see cref="EncodeImages"/>); each result equals <see cref="Segment(MLImage, IReadOnlyList{string}, int?)"/> for that image.
    /// </summary>
    /// <param name="images">The images.</param>
    /// <param name="labels">The labels, as for <see cref="EncodeLabels"/>.</param>
    /// <param name="inputSize">The model input size of the longer side (see <see cref="EncodeImage"/>); default: the manifest's <c>defaultInputSize</c>.</param>
    /// <returns>One result per image, in the order of <paramref name="images"/>.</returns>
    /// <exception cref="ArgumentException">See <see cref="EncodeLabels"/> and <see cref="EncodeImages"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not in 32 … 2048.</exception>
    public IReadOnlyList<SegmentationResult> Segment(IReadOnlyList<MLImage> images, IReadOnlyList<string> labels, int? inputSize = null) =>
        SegmentAll(images, labels, inputSize, nameof(images));

    /// <summary>The body of both <c>Segment</c> overloads; <paramref name="parameterName"/> names the caller's image argument in errors.</summary>
    private SegmentationResult[] SegmentAll(IReadOnlyList<MLImage> images, IReadOnlyList<string> labels, int? inputSize, string parameterName)
    {
        using var call = BeginCall();
        var encodedLabels = EncodeLabels(labels);
        var results = new SegmentationResult[CheckImages(images, parameterName)];
        // Batch by batch, so that only one batch of encoder outputs is held at a time. Without a pixel projection (version 1
        // packages, spatial blocks) the encoder's output goes to the head graph as it is (no copy into managed memory, no grid).
        foreach (var batch in Batches(images, inputSize, readIntoManagedMemory: _projection is not null))
        {
            if (_projection is not null)
            {
                // The C# head on the pre-projection grid, as for a label change: one way to compute a mask, and at 480×480
                // about 150 MB less at peak than handing the 384-channel embeddings to the head graph, which normalises
                // a copy of them (lseg bench memory).
                var encoded = RunEncoder(images, batch, forLabelChanges: true);
                for (int i = 0; i < batch.Indices.Length; i++)
                    results[batch.Indices[i]] = Segment(encoded[i], encodedLabels);
                continue;
            }
            using var pixels = EncoderInput(images, batch);
            using var runOptions = new RunOptions();
            using var outputs = Sessions.ImageEncoder.Run(runOptions, [PixelsInput], [pixels], [PixelEmbeddingsName]);
            var (maps, mapWidth, mapHeight) = RunHead(outputs[0], encodedLabels);
            for (int i = 0; i < batch.Indices.Length; i++)
            {
                var image = images[batch.Indices[i]];
                results[batch.Indices[i]] = ToResult(maps[i].LabelMap, maps[i].Scores, mapWidth, mapHeight, image.Width, image.Height, encodedLabels, null);
            }
        }
        return results;
    }

    /// <summary>Validates and encodes <paramref name="images"/> in batches; results in input order.</summary>
    private EncodedImage[] EncodeAll(IReadOnlyList<MLImage> images, int? inputSize, bool forLabelChanges, string parameterName)
    {
        using var call = BeginCall();
        var results = new EncodedImage[CheckImages(images, parameterName)];
        foreach (var batch in Batches(images, inputSize, readIntoManagedMemory: true))
        {
            var encoded = RunEncoder(images, batch, forLabelChanges);
            for (int i = 0; i < batch.Indices.Length; i++)
                results[batch.Indices[i]] = encoded[i];
        }
        return results;
    }

    private int CheckImages(IReadOnlyList<MLImage> images, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(images, parameterName);
        if (images.Count == 0)
            throw new ArgumentException("The image list is empty; give at least one image.", parameterName);
        for (int i = 0; i < images.Count; i++)
        {
            if (images[i] is null)
                throw new ArgumentException($"Image {i} is null.", parameterName);
            int width;
            try
            {
                width = images[i].Width;
            }
            catch (InvalidOperationException e)
            {
                // ML.NET's MLImage says only "Object is disposed." from its Width getter, naming neither the image nor the call.
                throw new ObjectDisposedException($"{parameterName}[{i}]", $"Image {i} ({parameterName}) was disposed before it was segmented: {e.Message}");
            }
            try
            {
                SizeLimits.Check(width, images[i].Height, parameterName);
            }
            catch (ArgumentException e) when (images.Count > 1)
            {
                // Among several images, say which one (ArgumentException.Message ends with the parameter, said again below).
                throw new ArgumentException($"Image {i}: {ArgumentMessage.WithoutParameter(e)}", parameterName, e);
            }
            ImageDecoder.RequireCompleteSource(images[i]);
        }
        return images.Count;
    }

    /// <summary>One run of the image encoder: images (by index) that share the model input width × height.</summary>
    private readonly record struct EncoderBatch(int[] Indices, int Width, int Height);

    /// <summary>Refuses a model input size outside <see cref="LanguageSegmentationModelOptions.Defaults.InputSizeRule"/>.</summary>
    private static void RequireInputSize(int size, string parameterName, string? why = null)
    {
        if (size < LanguageSegmentationModelOptions.Defaults.MinInputSize || size > LanguageSegmentationModelOptions.Defaults.MaxInputSize)
            throw new ArgumentOutOfRangeException(parameterName, size,
                $"The model input size must be {LanguageSegmentationModelOptions.Defaults.InputSizeRule}; got {size}{why}.");
    }

    /// <summary>
    /// Groups the images by model input size (first appearance order) and cuts each group into batches. With
    /// <paramref name="readIntoManagedMemory"/> (<see cref="RunEncoder"/> reads the outputs through spans), a batch holds
    /// no more images than one output can hold; without it the outputs go to the head graph as they are.
    /// </summary>
    private IEnumerable<EncoderBatch> Batches(IReadOnlyList<MLImage> images, int? inputSize, bool readIntoManagedMemory)
    {
        int size = inputSize ?? Manifest.DefaultInputSize;
        RequireInputSize(size, nameof(inputSize));
        var groups = Enumerable.Range(0, images.Count)
            .GroupBy(i => ModelInputSize.For(images[i].Width, images[i].Height, size, Manifest.InputSizeMultiple));
        foreach (var group in groups)
        {
            // A batch whose embeddings (or pre-projection features, when wider) would exceed one output's 2 GB is split
            // (an 8-image batch at input 1024 is 3.2 GB).
            int perRun = readIntoManagedMemory
                ? OnnxOutputLimit.ImagesPerRun(Math.Max(Manifest.EmbeddingSize, _projection?.FeatureSize ?? 0), Manifest.EmbeddingStride, group.Key.Width, group.Key.Height, _options.ImageBatchSize, nameof(inputSize))
                : _options.ImageBatchSize;
            foreach (int[] chunk in group.Chunk(perRun))
                yield return new EncoderBatch(chunk, group.Key.Width, group.Key.Height);
        }
    }

    /// <summary>
    /// Runs the image encoder on one batch. For label changes each image keeps the grid the C# head reads (of the
    /// pre-projection features when the package has a pixel projection); otherwise its planar embeddings for the head graph.
    /// </summary>
    private EncodedImage[] RunEncoder(IReadOnlyList<MLImage> images, EncoderBatch batch, bool forLabelChanges)
    {
        int count = batch.Indices.Length, width = batch.Width, height = batch.Height;
        bool grid = HeadIsCorrelationOnly && forLabelChanges;
        bool features = grid && _projection is not null;
        string[] outputNames = features ? [PixelEmbeddingsName, PixelFeaturesName] : [PixelEmbeddingsName];
        using var input = EncoderInput(images, batch);
        using var runOptions = new RunOptions();
        using var outputs = Sessions.ImageEncoder.Run(runOptions, [PixelsInput], [input], outputNames);
        var shape = outputs[0].GetTensorTypeAndShape().Shape;
        int channels = (int)shape[1], gridHeight = (int)shape[2], gridWidth = (int)shape[3];
        int embeddingValues = channels * gridHeight * gridWidth;
        var embeddings = outputs[0].GetTensorDataAsSpan<float>();
        int featureSize = features ? (int)outputs[1].GetTensorTypeAndShape().Shape[1] : 0;

        var encoded = new EncodedImage[count];
        for (int i = 0; i < count; i++)
        {
            var image = images[batch.Indices[i]];
            var own = embeddings.Slice(i * embeddingValues, embeddingValues);
            PixelGrid? pixelGrid = null;
            if (features)
            {
                int featureValues = featureSize * gridHeight * gridWidth;
                pixelGrid = PixelGrid.FromFeatures(outputs[1].GetTensorDataAsSpan<float>().Slice(i * featureValues, featureValues), featureSize, own, channels, gridHeight, gridWidth);
            }
            else if (grid)
            {
                pixelGrid = PixelGrid.FromEmbeddings(own, channels, gridHeight, gridWidth);
            }
            encoded[i] = new EncodedImage(this, image.Width, image.Height, width, height, pixelGrid, pixelGrid is null ? own.ToArray() : null, gridWidth, gridHeight, channels);
        }
        return encoded;
    }

    /// <summary>The image encoder's input for a batch: planar RGB 0–255 [B, 3, H, W].</summary>
    private static OrtValue EncoderInput(IReadOnlyList<MLImage> images, EncoderBatch batch)
    {
        int count = batch.Indices.Length, width = batch.Width, height = batch.Height;
        float[] pixels;
        if (count == 1)
        {
            pixels = ImagePixels.ToPlanarRgb(images[batch.Indices[0]], width, height);
        }
        else
        {
            int imageValues = 3 * width * height;
            pixels = new float[count * imageValues];
            for (int i = 0; i < count; i++)
                ImagePixels.ToPlanarRgb(images[batch.Indices[i]], width, height).CopyTo(pixels, i * imageValues);
        }
        return OrtValue.CreateTensorValueFromMemory(pixels, [count, 3, height, width]);
    }

    /// <summary>The planar [C, h, w] embeddings of an image encoded with a grid: the grid transposed back, or its features projected again.</summary>
    internal float[] PlanarEmbeddings(EncodedImage image)
    {
        var grid = image.Grid ?? throw new InvalidOperationException("The image keeps its planar embeddings already.");
        if (_projection is null)
            return grid.ToPlanar();
        SessionCall call;
        try
        {
            call = BeginCall();
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(GetType().FullName,
                "This encoded image's pixel embeddings are rebuilt on first read by its model's pixel projection, and the LanguageSegmentationModel was disposed: read PixelEmbeddings before disposing the model.");
        }
        using var _ = call;
        using var features = OrtValue.CreateTensorValueFromMemory(grid.ToPlanar(), [1, grid.Channels, grid.Height, grid.Width]);
        using var runOptions = new RunOptions();
        using var outputs = Sessions.Projection!.Run(runOptions, [PixelFeaturesName], [features], [PixelEmbeddingsName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>
    /// The package's pixel projection, when the C# head will use it: a head without spatial blocks and a projection
    /// graph whose input the image encoder also outputs (<c>pixel_features</c>, checked with the sessions). Null
    /// otherwise (version 1 packages).
    /// </summary>
    private static PixelProjection? ReadPixelProjection(string directory, ModelManifest manifest) =>
        manifest.Graphs.PixelProjection is { } file && IsCorrelationOnly(manifest)
            ? PixelProjection.Read(Path.Combine(directory, file), manifest.EmbeddingSize)
            : null;

    /// <summary>Session options for <paramref name="device"/> with the runtime settings of <paramref name="options"/>.</summary>
    private static SessionOptions CreateSessionOptions(ExecutionDevice device, LanguageSegmentationModelOptions options)
    {
        var sessionOptions = device.CreateSessionOptions();
        options.ApplyTo(sessionOptions);
        return sessionOptions;
    }
}
