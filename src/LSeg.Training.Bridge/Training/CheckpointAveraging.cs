using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.MLNet.IO;
using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Network;
using TorchSharp;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// Uniform weight averaging of fine-tunes ("model soups", Wortsman et al., ICML 2022): runs that start from the same
/// initial model and differ in seed or data often sit in one basin of the loss, where the mean of their weights scores
/// at least as well as the best of them, at the cost of one network.
/// </summary>
/// <remarks>
/// Only runs that are the same model apart from their weights can be averaged: the same network configuration, the
/// same text encoder (initial model and prompt templates, which the exported package takes from the run), and no
/// learned label table that differs. BatchNorm running statistics are floating-point buffers and are averaged like the
/// weights (identical in runs trained with <c>freezeBatchNormStatistics</c>); integer buffers (BatchNorm's batch
/// counters, unused in evaluation) are taken from the first checkpoint.
/// </remarks>
public static class CheckpointAveraging
{
    /// <summary>The run settings that must agree: they decide the text side of the exported package.</summary>
    private static readonly string[] TextEncoderSettings = ["initialModel", "textPrompts", "textEncoder", "textProjection"];

    /// <summary>
    /// Writes to <paramref name="output"/> a checkpoint folder (as <c>lseg train</c> writes them, without optimizer
    /// state) whose weights are the mean of the inputs' weights; <c>lseg export --checkpoint</c> reads it. The run
    /// configuration and label table are the first input's, which must be a checkpoint folder. Later inputs may also be
    /// model packages of the same network (for example the runs' initial model: averaging a fine-tune with its start is
    /// WiSE-FT, Wortsman et al., CVPR 2022); a package brings its weights only.
    /// </summary>
    /// <param name="inputs">Two or more checkpoint folders of <c>lseg train</c>, or model package folders after the first.</param>
    /// <param name="output">The folder to write; it must not exist or must be empty.</param>
    /// <exception cref="ArgumentException">Fewer than two inputs, the same one twice, or a non-empty output folder.</exception>
    /// <exception cref="FileNotFoundException">An input is neither a checkpoint folder nor a model package.</exception>
    /// <exception cref="InvalidDataException">The inputs are not the same model apart from their weights (the message names what differs).</exception>
    public static void AverageFolders(IReadOnlyList<string> inputs, string output)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentException.ThrowIfNullOrEmpty(output);
        if (inputs.Count < 2)
            throw new ArgumentException($"Averaging needs at least two checkpoints; got {inputs.Count}.", nameof(inputs));
        var full = inputs.Select(c => Path.GetFullPath(c).TrimEnd(Path.DirectorySeparatorChar)).ToList();
        if (full.Distinct().Count() != full.Count)
            throw new ArgumentException("The same checkpoint is named twice; a weighted mean is not what this computes.", nameof(inputs));
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new ArgumentException($"Output folder '{output}' is not empty.", nameof(output));

        var first = Checkpoint.Open(full[0]);
        var run = first.Run ?? throw new ArgumentException($"The first input '{full[0]}' must be a checkpoint folder of 'lseg train' (its run configuration is the average's); a model package can only follow.", nameof(inputs));
        var ingredients = new List<Checkpoint> { first };
        foreach (string path in full.Skip(1))
        {
            var other = Checkpoint.Open(path);
            ingredients.Add(other);
            if (other.Config != first.Config)
                throw new InvalidDataException($"'{path}' has a different network configuration ({Trainer.NetConfigFileName}) from '{full[0]}': {Differences(other.Config, first.Config)}; only the same network can be averaged.");
            if (other.Run is null)
                continue;
            foreach (string setting in TextEncoderSettings)
            {
                if (!JsonNode.DeepEquals(run[setting], other.Run[setting]))
                    throw new InvalidDataException($"'{path}' has a different '{setting}' from '{full[0]}'; the averaged model's text side would be one run's only.");
            }
            // Without an initial model the decoder starts from random weights drawn with the run's seed: runs of
            // different seeds are unrelated networks, whose mean is no soup of either.
            if (run["initialModel"] is null && SeedOf(run) != SeedOf(other.Run))
                throw new InvalidDataException(
                    $"'{path}' (seed {SeedOf(other.Run)}) and '{full[0]}' (seed {SeedOf(run)}) were trained without an initial model, from different random starts; only fine-tunes of one initial model (or runs of one seed) can be averaged.");
            if (!SameBytes(first.LabelTable, other.LabelTable))
                throw new InvalidDataException($"'{path}' has a different learned label table ({Trainer.LabelTableFileName}) from '{full[0]}'; averaging learned labels is not supported.");
        }

        var networks = new List<LSegNet>();
        try
        {
            foreach (var ingredient in ingredients)
                networks.Add(ingredient.LoadNetwork());
            AverageInto(networks[0], networks.Skip(1).ToList());

            // The folder appears whole or not at all: one missing its run configuration would still load, and export
            // would then build a package without the run's prompts and text encoder. The output was checked empty above,
            // so replacing an empty folder loses nothing.
            AtomicDirectory.Write(output, folder =>
            {
                networks[0].save(Path.Combine(folder, Trainer.ModelFileName));
                File.Copy(Path.Combine(full[0], Trainer.NetConfigFileName), Path.Combine(folder, Trainer.NetConfigFileName));
                var averagedRun = run.DeepClone();
                averagedRun["averagedFrom"] = new JsonArray(full.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray());
                File.WriteAllText(Path.Combine(folder, Trainer.RunConfigFileName), averagedRun.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                if (first.LabelTable is not null)
                    File.WriteAllBytes(Path.Combine(folder, Trainer.LabelTableFileName), first.LabelTable);
                return 0;
            }, overwrite: true);
        }
        finally
        {
            foreach (var net in networks)
                net.Dispose();
        }
    }

    /// <summary>
    /// Replaces every floating-point weight and buffer of <paramref name="target"/> by its mean with the same entry of
    /// <paramref name="others"/> (computed in float64); integer buffers keep <paramref name="target"/>'s values.
    /// </summary>
    /// <exception cref="InvalidDataException">An entry is missing from, or has another shape in, one of <paramref name="others"/>.</exception>
    public static void AverageInto(LSegNet target, IReadOnlyList<LSegNet> others)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(others);
        var states = others.Select(o => o.state_dict()).ToList();
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in target.state_dict())
        {
            if (!tensor.is_floating_point())
                continue;
            using var scope = torch.NewDisposeScope();
            var sum = tensor.to_type(torch.ScalarType.Float64);
            foreach (var state in states)
            {
                if (!state.TryGetValue(name, out var other) || !other.shape.SequenceEqual(tensor.shape))
                    throw new InvalidDataException($"Weight '{name}' is missing or has another shape in a network to average.");
                sum = sum + other.to_type(torch.ScalarType.Float64);
            }
            tensor.copy_((sum / (states.Count + 1)).to_type(tensor.dtype));
        }
    }

    /// <summary>One input: a checkpoint folder (run configuration, maybe a label table) or a model package (weights only).</summary>
    private sealed record Checkpoint(string Path, LSegNetConfig Config, JsonNode? Run, byte[]? LabelTable, ModelPackageWeights? Package)
    {
        public static Checkpoint Open(string path)
        {
            if (File.Exists(System.IO.Path.Combine(path, ModelManifest.FileName)) && !File.Exists(System.IO.Path.Combine(path, Trainer.ModelFileName)))
            {
                var package = ModelPackageWeights.Read(path);
                return new Checkpoint(path, package.Config, null, null, package);
            }
            RequiredFile(path, Trainer.ModelFileName);
            return new Checkpoint(path, CheckpointFolder.ReadNetworkConfig(path),
                CheckpointFolder.ReadRunConfig(path) ?? throw new FileNotFoundException($"Checkpoint folder '{path}' has no {Trainer.RunConfigFileName} (as 'lseg train' writes it).", System.IO.Path.Combine(path, Trainer.RunConfigFileName)),
                ReadLabelTable(path), null);
        }

        public LSegNet LoadNetwork()
        {
            if (Package is null)
                return CheckpointFolder.LoadNetwork(Path, Config);
            var net = LSegNet.Create(Config, pretrainedBackbone: false);
            try
            {
                Package.LoadInto(net);
                return net;
            }
            catch
            {
                net.Dispose();
                throw;
            }
        }
    }

    private static byte[]? ReadLabelTable(string checkpoint)
    {
        string path = Path.Combine(checkpoint, Trainer.LabelTableFileName);
        return File.Exists(path) ? File.ReadAllBytes(path) : null;
    }

    /// <summary>The run's seed (<see cref="TrainingConfig.Seed"/>, 1 when the configuration leaves it out).</summary>
    private static int SeedOf(JsonNode runConfig) => runConfig["seed"]?.GetValue<int>() ?? new TrainingConfig().Seed;

    private static bool SameBytes(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private static string RequiredFile(string checkpoint, string name)
    {
        string path = Path.Combine(checkpoint, name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{checkpoint}' is neither a checkpoint folder nor a model package: it has no {name} (as 'lseg train' writes it) and no {ModelManifest.FileName}.", path);
        return path;
    }

    /// <summary>The settings in which two network configurations differ, by their JSON names, e.g. "decoderFeatures 8 vs 16".</summary>
    private static string Differences(LSegNetConfig a, LSegNetConfig b)
    {
        static string Show(object? value) => value is System.Collections.IEnumerable items and not string
            ? "[" + string.Join(", ", items.Cast<object?>()) + "]"
            : value?.ToString() ?? "none";
        var differing = typeof(LSegNetConfig).GetProperties()
            .Where(p => p.GetIndexParameters().Length == 0 && Show(p.GetValue(a)) != Show(p.GetValue(b)))
            .Select(p => $"{System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(p.Name)} {Show(p.GetValue(a))} vs {Show(p.GetValue(b))}")
            .ToList();
        return differing.Count > 0 ? string.Join(", ", differing) : $"{a} vs {b}";
    }
}
