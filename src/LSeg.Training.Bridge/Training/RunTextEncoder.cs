using LSeg.MLNet.Package;
using LSeg.MLNet.Text;
using LSeg.Training.Bridge.Export;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// The text encoder of a training run, with the run's prompt templates: all-MiniLM-L6-v2 from NuGet, or the initial
/// model package's own (MiniLM, a CLIP text tower, a label table). It is frozen: training encodes labels with it, and
/// the trained package gets it unchanged, its files copied from the initial package (never retrained).
/// </summary>
internal sealed class RunTextEncoder
{
    private readonly string? _packagePath;
    private readonly ModelManifest? _package;

    private RunTextEncoder(string? packagePath, ModelManifest? package, IReadOnlyList<string> prompts)
    {
        _packagePath = packagePath;
        _package = package;
        Prompts = prompts;
    }

    /// <summary><c>minilm</c>, <c>clip</c> or <c>table</c>.</summary>
    public string Kind => _package?.TextEncoder.Kind ?? "minilm";

    /// <summary>Prompt templates each label is put in before encoding (none: labels as given).</summary>
    public IReadOnlyList<string> Prompts { get; }

    /// <summary>MiniLM from NuGet (training from scratch).</summary>
    public static RunTextEncoder MiniLm(IReadOnlyList<string> prompts) => new(null, null, prompts);

    /// <summary>
    /// The text encoder of the package in <paramref name="packagePath"/>, with <paramref name="prompts"/>, or the
    /// package's own templates when null.
    /// </summary>
    public static RunTextEncoder FromPackage(string packagePath, ModelManifest package, IReadOnlyList<string>? prompts) =>
        new(packagePath, package, prompts ?? [.. package.TextEncoder.PromptTemplates()]);

    /// <summary>
    /// The text encoder of a run described by its configuration's <c>initialModel</c> and <c>textPrompts</c> (e.g. read
    /// back from a checkpoint folder's <c>config.json</c>).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The initial model package is gone.</exception>
    /// <exception cref="InvalidDataException">The initial model package is damaged.</exception>
    public static RunTextEncoder OfRun(string? initialModel, IReadOnlyList<string>? prompts)
    {
        if (initialModel is null)
            return MiniLm(prompts ?? []);
        if (!Directory.Exists(initialModel))
            throw new DirectoryNotFoundException($"The run was fine-tuned from model package '{initialModel}', whose text encoder its package needs; that folder does not exist (relative paths resolve against '{Environment.CurrentDirectory}').");
        return FromPackage(initialModel, ModelManifest.ReadVerified(initialModel), prompts);
    }

    /// <summary>Creates the encoder (the caller owns it).</summary>
    public ILabelTextEncoder Create()
    {
        if (_package is null)
        {
            var miniLm = MiniLmTextEncoder.Create();
            return Prompts.Count == 0 ? miniLm : new PromptedTextEncoder(miniLm, Prompts);
        }
        using var sessionOptions = new SessionOptions();
        return PackageTextEncoder.Create(_packagePath!, Info(), _package.EmbeddingSize, truncateLongLabels: false, sessionOptions);
    }

    /// <summary>
    /// Gives an export this text encoder: the manifest's <c>textEncoder</c> (with the run's prompts), the encoder's files
    /// (graph and its external data, tokenizer or table: every file of the initial package outside the image encoder
    /// and head) and the initial package's inference size.
    /// </summary>
    public void ApplyTo(ModelPackageExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.TextEncoder = Info();
        if (_package is null)
            return;
        options.DefaultInputSize = _package.DefaultInputSize;
        foreach (string name in ModelPackageExporter.FilesNotRewritten(_package))
            options.AdditionalFiles[name] = Path.Combine(_packagePath!, name);
    }

    private TextEncoderInfo Info()
    {
        string[]? prompts = Prompts.Count > 0 ? [.. Prompts] : null;
        if (_package?.TextEncoder is not { } info)
            return new TextEncoderInfo { Kind = "minilm", ContextLength = ModelPackageExportOptions.Defaults.MiniLmContextLength, Prompts = prompts };
        return new TextEncoderInfo
        {
            Kind = info.Kind, Graph = info.Graph, Tokenizer = info.Tokenizer, ContextLength = info.ContextLength, Table = info.Table, Prompts = prompts,
        };
    }
}
