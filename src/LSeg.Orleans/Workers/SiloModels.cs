using System.Collections.Concurrent;
using System.Security.Cryptography;
using LSeg.MLNet;
using LSeg.MLNet.Package;
using Microsoft.Extensions.Options;

namespace LSeg.Orleans.Workers;

/// <summary>
/// The models a silo has loaded, each once (a model owns ONNX Runtime sessions and hundreds of MB), with the label sets
/// encoded for them. Lives as long as the silo; disposed with it.
/// </summary>
/// <remarks>
/// Thread-safety, read from <c>LanguageSegmentationModel</c>: <c>EncodeImage</c> and <c>Segment</c> only read the model
/// (ONNX Runtime's <c>InferenceSession.Run</c> may be called concurrently) and allocate per call, so several images run
/// on one model at once. <c>EncodeLabels</c> fills a concurrent cache, but the text encoders' tokenizers are not
/// documented as thread-safe, so label sets are encoded here one at a time. Disposing a model while an image runs on it
/// is not safe: models are disposed only when the silo stops.
/// </remarks>
internal sealed class SiloModels(IOptions<SegmentationWorkerOptions> options) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<LoadedModel>> _models = new(StringComparer.Ordinal);
    // Models replaced by a newer package at the same path: a job may still be running on one, so they are disposed
    // with the silo.
    private readonly ConcurrentBag<LoadedModel> _replaced = [];
    private readonly Lock _labelLock = new();
    private readonly SegmentationWorkerOptions _options = options.Value;

    /// <summary>A loaded model and what identifies it across silos (<see cref="ManifestHash"/>: of the package as loaded).</summary>
    public sealed record LoadedModel(LanguageSegmentationModel Model, string Identity, string ManifestHash)
    {
        internal readonly ConcurrentDictionary<string, LabelEmbeddings> LabelSets = new(StringComparer.Ordinal);
    }

    /// <summary>
    /// The model at <paramref name="modelPath"/> (null: the default model), loaded on first use. With
    /// <paramref name="reloadIfChanged"/> (a job being prepared), a package rewritten at the same path since it was
    /// loaded (retrained, upgraded or quantized in place) is loaded again: a long-lived silo kept serving the old
    /// weights, and recorded their identity in new jobs, while silos started later loaded the new ones. With
    /// <paramref name="identity"/> (a running job's chunk), only the model of that identity is returned, the one loaded
    /// now or one it replaced, so that a job prepared before a rewrite goes on with the weights it started with.
    /// </summary>
    /// <exception cref="InvalidOperationException">No model of <paramref name="identity"/> is loaded: the package was rewritten before this silo loaded it for the job.</exception>
    /// <exception cref="Exception">The package cannot be loaded; the next call tries again.</exception>
    public LoadedModel Get(string? modelPath, bool reloadIfChanged = false, string? identity = null)
    {
        string key = modelPath ?? "";
        Lazy<LoadedModel> NewEntry() => new(() => Load(modelPath), LazyThreadSafetyMode.ExecutionAndPublication);
        var entry = _models.GetOrAdd(key, _ => NewEntry());
        if (reloadIfChanged && modelPath is not null && entry.IsValueCreated
            && ManifestHashOrNull(entry.Value.Model.PackagePath) is { } current && current != entry.Value.ManifestHash)
        {
            if (_models.TryUpdate(key, NewEntry(), entry))
                _replaced.Add(entry.Value);
            // Another preparation may have replaced it first, or its load failed and was removed since.
            entry = _models.GetOrAdd(key, _ => NewEntry());
        }
        LoadedModel model;
        try
        {
            model = entry.Value;
        }
        catch
        {
            _models.TryRemove(new KeyValuePair<string, Lazy<LoadedModel>>(key, entry));
            throw;
        }
        if (identity is null || model.Identity == identity)
            return model;
        return _replaced.FirstOrDefault(old => old.Identity == identity)
            ?? throw new InvalidOperationException(
                $"the model package '{modelPath ?? "(default)"}' holds {model.Identity} on this silo, but the job's masks are made with {identity}: it was rewritten in place while the job ran. Restore it, or segment the rest in a new job.");
    }

    /// <summary>The label embeddings of <paramref name="labels"/> for <paramref name="model"/>, encoded once.</summary>
    public LabelEmbeddings Labels(LoadedModel model, string[] labels)
    {
        string key = string.Join('\u001f', labels);
        if (model.LabelSets.TryGetValue(key, out var known))
            return known;
        lock (_labelLock)
            return model.LabelSets.GetOrAdd(key, _ => model.Model.EncodeLabels(labels));
    }

    private LoadedModel Load(string? modelPath)
    {
        var loadOptions = new LanguageSegmentationModelOptions { GpuDeviceId = _options.GpuDeviceId, FallbackToCpu = _options.FallbackToCpu };
        var model = modelPath is null ? LanguageSegmentationModel.LoadDefault(loadOptions) : LanguageSegmentationModel.Load(modelPath, loadOptions);
        try
        {
            string hash = ManifestHash(model.PackagePath);
            string identity = $"{model.Manifest.Name} (manifest sha256 {hash[..16]})";
            return new LoadedModel(model, identity, hash);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static string ManifestHash(string packagePath) =>
        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(packagePath, ModelManifest.FileName))));

    /// <summary>The manifest's hash now, or null when it cannot be read (the load that follows names the problem).</summary>
    private static string? ManifestHashOrNull(string packagePath)
    {
        try
        {
            return ManifestHash(packagePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        foreach (var entry in _models.Values)
        {
            if (entry.IsValueCreated)
                entry.Value.Model.Dispose();
        }
        foreach (var replaced in _replaced)
            replaced.Model.Dispose();
    }
}
