using LSeg.MLNet.Package;
using LSeg.MLNet.Text;
using LSeg.Training.Bridge.Export;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// The text encoder of a training run, with the run's prompt templates: all-MiniLM-L6-v2 from NuGet (optionally followed
/// by a text projection graph, see <see cref="TextProjectionFitting"/>), or the initial model package's own (MiniLM, a
/// CLIP text tower, a label table, with its projection if it has one). It is frozen: training encodes labels with it, and
/// the trained package gets it unchanged, its files copied from the initial package or the projection file (never retrained).
/// </summary>
internal sealed class RunTextEncoder
{
    /// <summary>The text projection's file name inside a package written from a run that had one.</summary>
    internal const string ProjectionFileName = "text_projection.onnx";

    private readonly string? _packagePath;
    private readonly ModelManifest? _package;
    private readonly string? _projectionPath;

    private RunTextEncoder(string? packagePath, ModelManifest? package, IReadOnlyList<string> prompts, string? projectionPath = null)
    {
        _packagePath = packagePath;
        _package = package;
        Prompts = prompts;
        _projectionPath = projectionPath;
    }

    /// <summary><c>minilm</c>, <c>clip</c> or <c>table</c>.</summary>
    public string Kind => _package?.TextEncoder.Kind ?? "minilm";

    /// <summary>Prompt templates each label is put in before encoding (none: labels as given).</summary>
    public IReadOnlyList<string> Prompts { get; }

    /// <summary>MiniLM from NuGet (training from scratch), followed by the projection graph at <paramref name="projectionPath"/> when given.</summary>
    public static RunTextEncoder MiniLm(IReadOnlyList<string> prompts, string? projectionPath = null) => new(null, null, prompts, projectionPath);

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
    /// <exception cref="FileNotFoundException">The run's text projection file is gone.</exception>
    public static RunTextEncoder OfRun(string? initialModel, IReadOnlyList<string>? prompts, string? projectionPath = null)
    {
        if (initialModel is null)
        {
            if (projectionPath is not null && !File.Exists(projectionPath))
                throw new FileNotFoundException($"The run's text projection '{projectionPath}' (textProjection), which its package needs, does not exist (relative paths resolve against '{Environment.CurrentDirectory}').", projectionPath);
            return MiniLm(prompts ?? [], projectionPath);
        }
        if (!Directory.Exists(initialModel))
            throw new DirectoryNotFoundException($"The run was fine-tuned from model package '{initialModel}', whose text encoder its package needs; that folder does not exist (relative paths resolve against '{Environment.CurrentDirectory}').");
        return FromPackage(initialModel, ModelManifest.ReadVerified(initialModel), prompts);
    }

    /// <summary>Creates the encoder (the caller owns it).</summary>
    public ILabelTextEncoder Create()
    {
        using var sessionOptions = new SessionOptions();
        if (_package is null)
        {
            ILabelTextEncoder miniLm = MiniLmTextEncoder.Create();
            if (Prompts.Count > 0)
                miniLm = new PromptedTextEncoder(miniLm, Prompts);
            if (_projectionPath is null)
                return miniLm;
            try
            {
                return ProjectedTextEncoder.Create(miniLm, _projectionPath, sessionOptions);
            }
            catch
            {
                miniLm.Dispose();
                throw;
            }
        }
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
        {
            if (_projectionPath is not null)
                options.AdditionalFiles[ProjectionFileName] = _projectionPath;
            return;
        }
        options.DefaultInputSize = _package.DefaultInputSize;
        foreach (string name in ModelPackageExporter.FilesNotRewritten(_package))
            options.AdditionalFiles[name] = Path.Combine(_packagePath!, name);
    }

    private TextEncoderInfo Info()
    {
        string[]? prompts = Prompts.Count > 0 ? [.. Prompts] : null;
        if (_package?.TextEncoder is not { } info)
            return new TextEncoderInfo { Kind = "minilm", ContextLength = ModelPackageExportOptions.Defaults.MiniLmContextLength, Prompts = prompts, Projection = _projectionPath is null ? null : ProjectionFileName };
        return new TextEncoderInfo
        {
            Kind = info.Kind, Graph = info.Graph, Tokenizer = info.Tokenizer, ContextLength = info.ContextLength, Table = info.Table, Prompts = prompts,
            Projection = info.Projection,
        };
    }
}
