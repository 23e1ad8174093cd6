using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace LSeg.MLNet.Text;

/// <summary>
/// A text encoder followed by the package's text projection (<c>textEncoder.projection</c>, format 5): a linear map
/// from the encoder's space to the space the network was trained against, such as all-MiniLM-L6-v2 → CLIP ViT-B/32
/// fitted on names whose CLIP embeddings are known. It runs after prompt ensembling, on each label's embedding.
/// </summary>
internal sealed class ProjectedTextEncoder : ILabelTextEncoder
{
    /// <summary>The projection graph's input: the encoder's embeddings [N, D].</summary>
    public const string InputName = "text_embeddings";

    /// <summary>The projection graph's output: the label embeddings [N, C] the head compares pixels with.</summary>
    public const string OutputName = "label_embeddings";

    private readonly ILabelTextEncoder _inner;
    private readonly InferenceSession _session;

    private ProjectedTextEncoder(ILabelTextEncoder inner, InferenceSession session, int embeddingSize)
    {
        _inner = inner;
        _session = session;
        EmbeddingSize = embeddingSize;
    }

    /// <inheritdoc/>
    public int EmbeddingSize { get; }

    /// <summary>
    /// Wraps <paramref name="inner"/> (which the result then owns) with the projection graph at <paramref name="path"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The graph lacks the input or output, or its input width is not the encoder's.</exception>
    public static ProjectedTextEncoder Create(ILabelTextEncoder inner, string path, SessionOptions sessionOptions)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var session = Runtime.PackageGraph.Open(path, sessionOptions);
        try
        {
            if (!session.InputMetadata.TryGetValue(InputName, out var input) || !session.OutputMetadata.TryGetValue(OutputName, out var output))
                throw new InvalidDataException($"Text projection '{Path.GetFileName(path)}' must have input '{InputName}' and output '{OutputName}'; it has inputs [{string.Join(", ", session.InputNames)}] and outputs [{string.Join(", ", session.OutputNames)}].");
            if (input.Dimensions.Length != 2 || input.Dimensions[1] != inner.EmbeddingSize)
                throw new InvalidDataException($"Text projection '{Path.GetFileName(path)}' takes [{string.Join(", ", input.Dimensions)}] embeddings; its text encoder gives [N, {inner.EmbeddingSize}].");
            return new ProjectedTextEncoder(inner, session, OutputWidth(session, path));
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The width C of the label embeddings the projection graph at <paramref name="path"/> gives.</summary>
    /// <exception cref="InvalidDataException">The graph has no <c>label_embeddings</c> [N, C] output with a fixed C.</exception>
    public static int OutputWidth(string path)
    {
        using var session = new InferenceSession(path);
        return OutputWidth(session, path);
    }

    private static int OutputWidth(InferenceSession session, string path)
    {
        if (!session.OutputMetadata.TryGetValue(OutputName, out var output) || output.Dimensions.Length != 2 || output.Dimensions[1] <= 0)
            throw new InvalidDataException($"Text projection '{Path.GetFileName(path)}' must give '{OutputName}' [N, C] with a fixed C.");
        return output.Dimensions[1];
    }

    /// <inheritdoc/>
    public float[][] Encode(IReadOnlyList<string> labels)
    {
        var embeddings = _inner.Encode(labels);
        if (embeddings.Length == 0)
            return [];
        int width = _inner.EmbeddingSize;
        var flat = new float[embeddings.Length * width];
        for (int i = 0; i < embeddings.Length; i++)
            embeddings[i].CopyTo(flat, i * width);
        using var input = OrtValue.CreateTensorValueFromMemory(flat, [embeddings.Length, width]);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, [InputName], [input], [OutputName]);
        var projected = outputs[0].GetTensorDataAsSpan<float>();
        var result = new float[embeddings.Length][];
        for (int i = 0; i < result.Length; i++)
            result[i] = projected.Slice(i * EmbeddingSize, EmbeddingSize).ToArray();
        return result;
    }

    /// <inheritdoc/>
    public bool KnowsNoWordOf(string label) => _inner.KnowsNoWordOf(label);

    /// <inheritdoc/>
    public void Dispose()
    {
        _session.Dispose();
        _inner.Dispose();
    }
}
