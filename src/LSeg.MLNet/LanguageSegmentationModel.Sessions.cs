using LSeg.MLNet.Head;
using LSeg.MLNet.Package;
using LSeg.MLNet.Runtime;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.MLNet;

public sealed partial class LanguageSegmentationModel
{
    /// <summary>
    /// The image side's ONNX Runtime sessions: the image encoder, the head graph and, with a pixel projection, its graph.
    /// Created at load and checked against the manifest there, except for a model an ML.NET pipeline loads for itself
    /// (<see cref="LoadDefaultForPipeline"/>): the pipeline runs its own composed graph and needs only the text encoder, so
    /// these sessions (about 150 MB for the default model) are created only if something calls the image side.
    /// </summary>
    private sealed class ImageSessions : IDisposable
    {
        private ImageSessions(InferenceSession imageEncoder, InferenceSession head, InferenceSession? projection)
        {
            ImageEncoder = imageEncoder;
            Head = head;
            Projection = projection;
            HeadTakesLogitOffsets = head.InputMetadata.ContainsKey(LabelLogitOffsetsInput);
        }

        public InferenceSession ImageEncoder { get; }

        public InferenceSession Head { get; }

        /// <summary>The pixel projection's graph (<c>head1</c>), when the package has one the C# head uses.</summary>
        public InferenceSession? Projection { get; }

        /// <summary>Whether the head graph takes label logit offsets (format 3): fed on every head run.</summary>
        public bool HeadTakesLogitOffsets { get; }

        /// <summary>Creates the sessions and checks their inputs and outputs against the manifest and the pixel projection.</summary>
        /// <exception cref="InvalidDataException">A graph lacks an input or output the model reads, or gives vectors of another width.</exception>
        public static ImageSessions Create(string directory, ModelManifest manifest, SessionOptions sessionOptions, PixelProjection? projection)
        {
            InferenceSession? imageEncoder = null, head = null, projectionSession = null;
            try
            {
                imageEncoder = PackageGraph.Open(Path.Combine(directory, manifest.Graphs.ImageEncoder), sessionOptions);
                head = PackageGraph.Open(Path.Combine(directory, manifest.Graphs.Head), sessionOptions);
                RequireNames(imageEncoder, [PixelsInput], [PixelEmbeddingsName], manifest.Graphs.ImageEncoder);
                // logits: what multi-scale and the evaluator read (checked here rather than at the first SegmentMultiScale).
                RequireNames(head, [PixelEmbeddingsName, LabelEmbeddingsInput], [LabelMapOutput, ScoresOutput, LogitsOutput], manifest.Graphs.Head);
                if (manifest.LabelLogitOffsets is { Count: > 0 })
                    RequireNames(head, [LabelLogitOffsetsInput], [], manifest.Graphs.Head);
                // Checked here, not at the first Segment: pixel vectors of another width would be compared with the labels
                // as the C# head reads them (silently wrong masks with a pixel projection, an unclear error without one).
                long pixelChannels = imageEncoder.OutputMetadata[PixelEmbeddingsName].Dimensions is { Length: 4 } dims ? dims[1] : -1;
                if (pixelChannels > 0 && pixelChannels != manifest.EmbeddingSize)
                    throw new InvalidDataException($"Graph '{manifest.Graphs.ImageEncoder}' gives {pixelChannels}-channel {PixelEmbeddingsName}; the manifest's embeddingSize is {manifest.EmbeddingSize}.");
                if (projection is not null)
                {
                    RequireNames(imageEncoder, [], [PixelFeaturesName], manifest.Graphs.ImageEncoder);
                    long declared = imageEncoder.OutputMetadata[PixelFeaturesName].Dimensions[1];
                    if (declared > 0 && declared != projection.FeatureSize)
                        throw new InvalidDataException($"The image encoder's {PixelFeaturesName} have {declared} channels; the pixel projection '{manifest.Graphs.PixelProjection}' takes {projection.FeatureSize}.");
                    // Opened now, with the rest: opened at the first PixelEmbeddings read it would read the graph again,
                    // days later, from a folder a cleaner may have emptied or a re-export replaced.
                    projectionSession = PackageGraph.Open(Path.Combine(directory, manifest.Graphs.PixelProjection!), sessionOptions);
                }
                return new ImageSessions(imageEncoder, head, projectionSession);
            }
            catch
            {
                imageEncoder?.Dispose();
                head?.Dispose();
                projectionSession?.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            ImageEncoder.Dispose();
            Head.Dispose();
            Projection?.Dispose();
        }
    }

    /// <summary>The image side's sessions, created on first use for a model loaded by <see cref="LoadDefaultForPipeline"/>.</summary>
    private ImageSessions Sessions => _sessions.Value;

    /// <summary>
    /// Holds the image-side sessions, created at load or at the first call that needs them. Unlike <see cref="Lazy{T}"/>
    /// it does not keep a failed creation's exception: a first call that failed (a temporary folder full while the
    /// package was restored) is tried again by the next.
    /// </summary>
    private sealed class ImageSessionsSlot
    {
        private readonly Lock _lock = new();
        private readonly Func<ImageSessions>? _create;
        private ImageSessions? _value;

        public ImageSessionsSlot(ImageSessions created) => _value = created;

        public ImageSessionsSlot(Func<ImageSessions> create) => _create = create;

        public bool IsCreated => Volatile.Read(ref _value) is not null;

        public ImageSessions Value
        {
            get
            {
                if (Volatile.Read(ref _value) is { } created)
                    return created;
                lock (_lock)
                {
                    if (_value is null)
                        Volatile.Write(ref _value, _create!());
                    return _value;
                }
            }
        }

        /// <summary>Disposes the sessions if they were created (the model's calls have ended: see ReleaseSessions).</summary>
        public void DisposeIfCreated() => Volatile.Read(ref _value)?.Dispose();
    }

    /// <summary>Whether the image side's sessions have been created (always, except after <see cref="LoadDefaultForPipeline"/>).</summary>
    internal bool ImageSessionsOpen => _sessions.IsCreated;

    /// <summary>
    /// The default model as <see cref="LoadDefault"/> loads it, for an ML.NET pipeline that loads it itself: on the CPU
    /// its image-side sessions wait for a first call that needs them (most pipelines never make one). On a GPU they are
    /// created at once, where a device that fails at session creation falls back to the CPU as <see cref="Load"/> does.
    /// </summary>
    internal static LanguageSegmentationModel LoadDefaultForPipeline(LanguageSegmentationModelOptions options)
    {
        var (directory, manifest) = DefaultModelPackage.ExtractVerified();
        return LoadVerified(directory, manifest, options, deferImageSessions: true);
    }

    /// <summary>
    /// The sessions that <see cref="Sessions"/> returns: created now, or (<paramref name="defer"/>, CPU only) on first use,
    /// once, with the package's files restored first if the temporary folder was cleaned since.
    /// </summary>
    private static ImageSessionsSlot ImageSessionsFor(string directory, ModelManifest manifest, ExecutionDevice device, LanguageSegmentationModelOptions options,
        SessionOptions sessionOptions, PixelProjection? projection, bool defer)
    {
        if (!defer || device.UsesGpu)
            return new ImageSessionsSlot(ImageSessions.Create(directory, manifest, sessionOptions, projection));
        return new ImageSessionsSlot(() =>
        {
            // A cleaner of the temporary folder may have removed any of the graphs since load (the composed graph's
            // reads keep the encoder and head fresh, not the pixel projection): extracting again restores them.
            string[] graphs = [manifest.Graphs.ImageEncoder, manifest.Graphs.Head, .. manifest.Graphs.PixelProjection is { } p ? [p] : Array.Empty<string>()];
            if (graphs.Any(graph => !File.Exists(Path.Combine(directory, graph))))
                DefaultModelPackage.ExtractVerified();
            using var deferredOptions = CreateSessionOptions(device, options);
            return ImageSessions.Create(directory, manifest, deferredOptions, projection);
        });
    }
}
