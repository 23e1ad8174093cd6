using Microsoft.ML.OnnxRuntime;

namespace LSeg.MLNet.Text;

/// <summary>
/// CLIP label embeddings: <see cref="ClipTokenizer"/> ids in a fixed context, then the package's CLIP text
/// transformer graph (<c>input_ids</c> int64 [N, context] → <c>label_embeddings</c> [N, C]).
/// </summary>
internal sealed class ClipTextEncoder : ILabelTextEncoder
{
    private readonly InferenceSession _session;
    private readonly ClipTokenizer _tokenizer;
    private readonly int _contextLength;
    private readonly bool _truncate;
    private readonly string _inputName;
    private readonly string _outputName;

    /// <summary>Loads the graph at <paramref name="graphPath"/> with <paramref name="sessionOptions"/>.</summary>
    public ClipTextEncoder(string graphPath, ClipTokenizer tokenizer, int contextLength, bool truncate, SessionOptions sessionOptions)
    {
        _tokenizer = tokenizer;
        _contextLength = contextLength > 0 ? contextLength : ClipTokenizer.DefaultContextLength;
        _truncate = truncate;
        _session = Runtime.PackageGraph.Open(graphPath, sessionOptions);
        _inputName = _session.InputMetadata.ContainsKey("input_ids") ? "input_ids" : _session.InputNames[0];
        _outputName = _session.OutputMetadata.ContainsKey("label_embeddings") ? "label_embeddings" : _session.OutputNames[0];
        EmbeddingSize = _session.OutputMetadata[_outputName].Dimensions[^1];
    }

    /// <inheritdoc/>
    public int EmbeddingSize { get; }

    /// <inheritdoc/>
    public float[][] Encode(IReadOnlyList<string> labels)
    {
        int n = labels.Count;
        if (n == 0)
            return [];
        var ids = new long[n * _contextLength];
        for (int i = 0; i < n; i++)
        {
            int[] context;
            try
            {
                context = _tokenizer.EncodeToContext(labels[i], _contextLength, _truncate);
            }
            catch (ArgumentException e) when (e.ParamName == "text")
            {
                // The tokenizer's parameter is the text; to a caller of Encode it is one of the labels (the CLI and the
                // batch cluster tell a refused label by that name).
                throw new ArgumentException(e.Message.Replace(" (Parameter 'text')", "", StringComparison.Ordinal), nameof(labels), e);
            }
            for (int t = 0; t < _contextLength; t++)
                ids[i * _contextLength + t] = context[t];
        }
        using var input = OrtValue.CreateTensorValueFromMemory(ids, [n, _contextLength]);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, [_inputName], [input], [_outputName]);
        var data = outputs[0].GetTensorDataAsSpan<float>();
        int size = data.Length / n;
        var embeddings = new float[n][];
        for (int i = 0; i < n; i++)
            embeddings[i] = data.Slice(i * size, size).ToArray();
        return embeddings;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// CLIP's byte-level tokenizer reads any text, but its clean-up may leave none ("&amp;nbsp;" is a space once
    /// unescaped): only the start and end tokens, the embedding of an empty prompt.
    /// </remarks>
    public bool KnowsNoWordOf(string label) => _tokenizer.EncodeToIds(label).Count <= 2;

    /// <inheritdoc/>
    public void Dispose() => _session.Dispose();
}
