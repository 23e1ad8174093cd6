using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LSeg.MLNet.IO;
using LSeg.MLNet.Text;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Evaluation;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// Trains an <see cref="LSegNet"/> as the paper does: frozen text encoder, per-pixel cross-entropy over each batch's
/// own dataset labels on the temperature-scaled logits, polynomial learning-rate decay with 10× rate for the decoder,
/// gradient accumulation; a checkpoint every epoch (atomic), validation every epoch with the best checkpoint kept,
/// resumable after a kill, and a training-curve PNG at the end.
/// </summary>
public static class Trainer
{
    /// <summary>File of the network weights inside a checkpoint folder.</summary>
    public const string ModelFileName = "model.bin";

    /// <summary>File of the optimizer state inside a checkpoint folder.</summary>
    public const string OptimizerFileName = "optimizer.bin";

    /// <summary>File of the learned label table (fixed-label baseline only).</summary>
    public const string LabelTableFileName = "labels.bin";

    /// <summary>File of the network configuration inside a checkpoint folder.</summary>
    public const string NetConfigFileName = "net-config.json";

    /// <summary>File of the run's training configuration, in the run folder and inside each checkpoint folder.</summary>
    public const string RunConfigFileName = "config.json";

    /// <summary>Runs (or, with <paramref name="resume"/>, continues) the training described by <paramref name="config"/>.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="resume"/> was asked but the output folder has no checkpoint, or a fresh run would overwrite one.</exception>
    public static TrainingResult Run(TrainingConfig config, bool resume, Action<string> log, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(log);
        config.Validate();
        var network = TrainingNetwork.Resolve(config);
        // An episode runs the network on every training label and keeps two channels ("other", c). Two or more bottleneck
        // blocks add the maximum over all offered labels before a non-linearity, so those two channels would depend on
        // labels the test's ["other", c] does not offer; one block adds it after the last activation, where it cancels.
        if (config.LabelSampling.EpisodeProbability > 0 && network.Config.SpatialBlock == SpatialBlock.Bottleneck && network.Config.SpatialDepth >= 2)
            throw new InvalidDataException(
                $"labelSampling.episodeProbability {config.LabelSampling.EpisodeProbability} with {network.Config.SpatialDepth} bottleneck spatial blocks: an episode would train its two labels against the maximum over all labels, which a test offering [\"other\", c] does not see. Use one bottleneck block, depthwise blocks, or no episodes.");
        torch.set_num_threads(config.Threads);
        torch.manual_seed(config.Seed);
        string output = Path.GetFullPath(config.OutputDirectory);
        var store = OpenCheckpoints(output, resume, out string? last);
        var validationChanges = last is null ? [] : RequireSameRun(last, config);
        // The data first: a dataset that cannot be read (a missing split file, a label map of another size) fails the run
        // before its folder is made, so that it leaves nothing behind.
        var data = TrainingData.Load(config, log);
        Directory.CreateDirectory(output);
        AtomicFile.WriteAllText(Path.Combine(output, RunConfigFileName), config.ToJson());

        var device = ResolveDevice(config.Device);
        var netConfig = network.Config;
        using var net = BuildNetwork(config, network, resumeFrom: last, log);
        net.to(device);
        string train = TrainableParts.Resolve(config.Train, network.InitialModel is not null, netConfig.Backbone);
        IReadOnlyList<string> frozenPrefixes = [.. config.Freeze ?? [], .. TrainableParts.FrozenPrefixes(net, train, config.TrainBlocks)];
        var frozen = FreezeParameters(net, frozenPrefixes);
        if (config.FreezeBatchNormStatistics)
            frozen = [.. frozen, .. net.modules().Where(m => m is TorchSharp.Modules.BatchNorm2d)];
        if (network.IsFixedLabels)
            RequireFixedLabelsEvaluable(config, data);
        using var labelTable = CreateLabelTable(config, network, output, data.AllLabels, device, resuming: last is not null);
        RequireEncodable(labelTable, data);
        var decoderParameters = Trainable(net.DecoderParameters()).ToList();
        if (labelTable.Learned is not null)
            decoderParameters.Add(labelTable.Learned);
        using var optimizer = CreateOptimizer(config, Trainable(net.BackboneParameters()), decoderParameters);
        var state = last is null ? new TrainingState() : RestoreCheckpoint(last, net, optimizer, labelTable, log);
        if (validationChanges.Count > 0 && !double.IsNaN(state.BestScore))
        {
            // The best score so far was measured on other validation images: no score of this run can be compared with it.
            log($"the validation changed since the checkpoint ({string.Join(", ", validationChanges)}): the best epoch so far ({state.BestEpoch + 1}, " +
                $"mIoU {Percent(state.BestScore)} on the old validation) is replaced by the next validated epoch, which then competes with the later ones");
            state.BestScore = double.NaN;
        }

        var builder = new TrainingBatchBuilder(data.Datasets, data.LabelSets, new Augmenter(config.Augmentation), config.Seed, config.LabelSampling, data.Distractors);
        int batchesPerEpoch = data.PlanEpoch(config, 0).Count;
        int stepsPerEpoch = (batchesPerEpoch + config.GradientAccumulation - 1) / config.GradientAccumulation;
        var schedule = new PolynomialLearningRate(config.LearningRate, stepsPerEpoch * config.Epochs, config.PolyPower, config.WarmupSteps);
        log($"training {config.Name}: {config.Epochs} epochs × {batchesPerEpoch} batches of {config.BatchSize} crops {config.Augmentation.CropHeight}×{config.Augmentation.CropWidth}, " +
            $"{config.Optimizer} lr {config.LearningRate:G3} (decoder ×{config.DecoderLearningRateMultiplier}), {stepsPerEpoch * config.Epochs} steps, {config.Threads} threads" +
            $"; train: {train}{(train == TrainableParts.LastBlocks ? $" {config.TrainBlocks}" : "")}" +
            (frozenPrefixes.Count > 0 ? $"; frozen: {string.Join(", ", frozenPrefixes)}" : "") +
            (config.FreezeBatchNormStatistics ? "; BatchNorm statistics kept" : ""));

        var sessionClock = Stopwatch.StartNew();
        double secondsBefore = state.Seconds;
        var context = new EpochContext(config, net, labelTable, optimizer, builder, schedule, frozen, batchesPerEpoch, log, cancellation);
        for (int epoch = state.EpochsCompleted; epoch < config.Epochs; epoch++)
        {
            var record = TrainEpoch(context, data, state, epoch);
            ValidateEpoch(config, net, labelTable, data, record, log);
            state.History.Add(record);
            state.EpochsCompleted = epoch + 1;
            state.Seconds = secondsBefore + sessionClock.Elapsed.TotalSeconds;
            bool best = SaveEpoch(store, state, record, net, netConfig, optimizer, labelTable, config, data.Validation.Count > 0);
            log(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch + 1}/{config.Epochs} done in {record.Seconds:F0} s: loss {record.TrainLoss:F4}{(best ? ", new best" : "")}; checkpoint saved"));
        }

        state.Seconds = secondsBefore + sessionClock.Elapsed.TotalSeconds;
        // A stop asked for during the last epoch is honoured before the test (minutes): every epoch is kept, and a
        // resumed run goes straight to the test.
        cancellation.ThrowIfCancellationRequested();
        WriteHistory(output, state, config, log);
        string bestDirectory = store.Find("best") ?? store.Find("last")!;
        return FinalEvaluation(config, network, output, bestDirectory, net, labelTable, state, data.Excluded, log, cancellation);
    }

    /// <summary>
    /// Fields a resumed run may change: they decide where it logs, how fast it runs and what it is checked on, not what
    /// it learns, and <c>epochs</c>, to train a finished run further (the learning-rate schedule then stretches to the
    /// new length, so the rate rises again). Any other change (prompts, data, network, optimizer, seed…) would continue
    /// the checkpoint as a different run, with label embeddings cached for other prompts. <c>outputDirectory</c> may be
    /// spelled differently or moved: the checkpoint was found through it, so it is this run's folder.
    /// </summary>
    private static readonly string[] FieldsAResumeMayChange = ["name", "threads", "device", "validation", "validationMaxImages", "validationLongSide", "test", "epochs", "outputDirectory"];

    /// <summary>The fields that decide which score picks the best checkpoint.</summary>
    private static readonly string[] ValidationFields = ["validation", "validationMaxImages", "validationLongSide"];

    /// <summary>Refuses to resume <paramref name="checkpoint"/> with a configuration that differs in a field that shapes the run.</summary>
    /// <returns>The validation fields that changed (a best score measured before cannot be compared with the next ones).</returns>
    /// <exception cref="InvalidDataException">Names the fields that changed.</exception>
    private static IReadOnlyList<string> RequireSameRun(string checkpoint, TrainingConfig config)
    {
        string path = Path.Combine(checkpoint, RunConfigFileName);
        if (!File.Exists(path))
            return []; // checkpoints written before the configuration was saved with them
        var saved = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))?.AsObject();
        var now = System.Text.Json.Nodes.JsonNode.Parse(config.ToJson())!.AsObject();
        if (saved is null)
            return [];
        var changed = saved.Select(p => p.Key).Union(now.Select(p => p.Key))
            .Where(key => !System.Text.Json.Nodes.JsonNode.DeepEquals(saved[key], now[key]))
            .Order(StringComparer.Ordinal).ToList();
        var shaping = changed.Where(key => !FieldsAResumeMayChange.Contains(key, StringComparer.OrdinalIgnoreCase)).ToList();
        if (shaping.Count > 0)
            throw new InvalidDataException(
                $"Cannot resume '{checkpoint}': the configuration changed since it was written ({string.Join(", ", shaping)}). Restore those fields, or start a new run in another outputDirectory.");
        return changed.Where(key => ValidationFields.Contains(key, StringComparer.OrdinalIgnoreCase)).ToList();
    }

    /// <summary>The run's checkpoint store; refuses to resume without a checkpoint or to start over an existing run.</summary>
    private static CheckpointStore OpenCheckpoints(string output, bool resume, out string? last)
    {
        var store = new CheckpointStore(Path.Combine(output, "checkpoints"));
        // "best" is saved before "last": a kill between the two leaves "best" one epoch ahead (or, in the first epoch, the
        // only checkpoint). The run goes on from whichever holds more epochs, "last" on a tie.
        last = store.Find("last");
        if (store.Find("best") is { } best && (last is null || CheckpointStore.ReadState(best).EpochsCompleted > CheckpointStore.ReadState(last).EpochsCompleted))
            last = best;
        if (resume && last is null)
            throw new InvalidOperationException($"Cannot resume: '{store.Directory}' holds no complete checkpoint. Start without resume.");
        if (!resume && last is not null)
            throw new InvalidOperationException($"'{output}' already holds a training run (checkpoint '{last}'). Resume it, or choose another outputDirectory.");
        // The folder is made by the caller once the data is read: a refused resume or a bad dataset leaves no empty run folder.
        return store;
    }

    /// <summary>The network: ImageNet backbone and random decoder, or a package's weights when fine-tuning (a resumed run loads its checkpoint later).</summary>
    private static LSegNet BuildNetwork(TrainingConfig config, TrainingNetwork network, string? resumeFrom, Action<string> log)
    {
        var net = LSegNet.Create(network.Config, config.PretrainedBackbone && network.InitialModel is null);
        if (resumeFrom is not null)
            network.ReleaseInitialWeights();
        if (network.InitialModel is null || resumeFrom is not null)
            return net;
        try
        {
            network.LoadInitialWeights(net);
        }
        catch
        {
            net.Dispose();
            throw;
        }
        log($"fine-tuning: weights of model package '{network.InitialModel}' ({network.Config.Backbone}, embedding {network.Config.EmbeddingSize}, {network.Text.Kind} text encoder)");
        return net;
    }

    private static TrainingState RestoreCheckpoint(string last, LSegNet net, TorchSharp.Modules.OptimizerHelper optimizer, LabelEmbeddingTable labelTable, Action<string> log)
    {
        var state = CheckpointStore.ReadState(last);
        net.load(Path.Combine(last, ModelFileName));
        optimizer.load_state_dict(Path.Combine(last, OptimizerFileName));
        labelTable.LoadLearned(Path.Combine(last, LabelTableFileName));
        log($"resumed from '{last}': {state.EpochsCompleted} epochs done, {state.Steps} steps, best mIoU {Percent(state.BestScore)} at epoch {state.BestEpoch + 1}");
        return state;
    }

    /// <summary>
    /// Freezes the modules whose state-dict names start with one of <paramref name="prefixes"/>: their parameters get
    /// no gradient (so autograd records nothing before the first trainable layer, which is what saves time) and are
    /// left out of the optimizer; the returned modules are put back in evaluation mode each epoch so BatchNorm keeps
    /// its running statistics.
    /// </summary>
    /// <exception cref="InvalidDataException">A prefix matches no parameter of the network.</exception>
    internal static IReadOnlyList<nn.Module> FreezeParameters(LSegNet net, IReadOnlyList<string>? prefixes)
    {
        if (prefixes is null || prefixes.Count == 0)
            return [];
        bool Matches(string name) => prefixes.Any(p => name == p || name.StartsWith(p + ".", StringComparison.Ordinal));
        foreach (string prefix in prefixes)
        {
            if (!net.named_parameters().Any(p => p.name == prefix || p.name.StartsWith(prefix + ".", StringComparison.Ordinal)))
                throw new InvalidDataException($"freeze: '{prefix}' names no part of the network (parameters start with e.g. {string.Join(", ", net.named_children().Select(c => c.name))}; ResNet18 stages are pretrained.conv1, pretrained.bn1, pretrained.layer1 … layer4).");
        }
        foreach (var (name, parameter) in net.named_parameters())
        {
            if (Matches(name))
                parameter.requires_grad = false;
        }
        return net.named_modules().Where(m => m.name.Length > 0 && Matches(m.name)).Select(m => m.module).ToList();
    }

    private static IEnumerable<TorchSharp.Modules.Parameter> Trainable(IEnumerable<TorchSharp.Modules.Parameter> parameters) =>
        parameters.Where(p => p.requires_grad);

    private sealed record EpochContext(TrainingConfig Config, LSegNet Net, LabelEmbeddingTable Labels, TorchSharp.Modules.OptimizerHelper Optimizer,
        TrainingBatchBuilder Builder, PolynomialLearningRate Schedule, IReadOnlyList<nn.Module> Frozen, int BatchesPerEpoch, Action<string> Log, CancellationToken Cancellation);

    /// <summary>One pass over the training data: forward/backward per batch, an optimizer step per accumulation, progress every 10 batches.</summary>
    private static EpochRecord TrainEpoch(EpochContext context, TrainingData data, TrainingState state, int epoch)
    {
        var (config, net, labelTable, optimizer, builder, schedule, frozen, batchesPerEpoch, log, cancellation) = context;
        cancellation.ThrowIfCancellationRequested();
        var epochClock = Stopwatch.StartNew();
        var plan = data.PlanEpoch(config, epoch);
        net.train();
        foreach (var module in frozen)
            module.eval();
        double lossSum = 0;
        int lossCount = 0;
        var windowClock = Stopwatch.StartNew();
        int windowImages = 0;
        double secondsPerBatch = double.NaN;
        // The rate of the last optimizer step taken, for the log (before the epoch's first step, the rate that step will
        // take): the schedule's value after a step is the next step's, 0 after the last step of a run.
        double stepRate = schedule.At(state.Steps);
        for (int b = 0; b < plan.Count; b++)
        {
            cancellation.ThrowIfCancellationRequested();
            var batch = builder.Build(plan[b], epoch, b);
            // Each batch's share of its optimizer step: 1 / the batches in its accumulation window, which the epoch's last
            // window may have fewer of (a full window's divisor there would shrink that step's gradient).
            int windowStart = b / config.GradientAccumulation * config.GradientAccumulation;
            double loss = TrainBatch(net, labelTable, batch, data.LossWeightsOf(batch), Math.Min(config.GradientAccumulation, plan.Count - windowStart));
            if (!double.IsNaN(loss))
            {
                lossSum += loss;
                lossCount++;
            }
            windowImages += batch.Count;
            if ((b + 1) % config.GradientAccumulation == 0 || b + 1 == plan.Count)
            {
                stepRate = schedule.At(state.Steps);
                SetLearningRates(optimizer, stepRate, config.DecoderLearningRateMultiplier);
                if (GradientsAreFinite(optimizer))
                    optimizer.step();
                else
                    log($"warning: epoch {epoch + 1} batch {b + 1}: a gradient is not finite (inf or NaN); the optimizer step is skipped so that no weight becomes NaN");
                optimizer.zero_grad();
                state.Steps++;
            }
            if ((b + 1) % 10 == 0 || b + 1 == plan.Count)
            {
                double windowSeconds = windowClock.Elapsed.TotalSeconds;
                double perBatch = windowSeconds / Math.Max(1, (b % 10) + 1);
                secondsPerBatch = double.IsNaN(secondsPerBatch) ? perBatch : 0.7 * secondsPerBatch + 0.3 * perBatch;
                int remaining = (plan.Count - b - 1) + (config.Epochs - epoch - 1) * batchesPerEpoch;
                log(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch + 1}/{config.Epochs} batch {b + 1}/{plan.Count} loss {lossSum / Math.Max(1, lossCount):F4} lr {stepRate:E2} " +
                    $"{windowImages / windowSeconds:F2} img/s ETA {TimeSpan.FromSeconds(remaining * secondsPerBatch):hh\\:mm\\:ss}"));
                windowClock.Restart();
                windowImages = 0;
            }
        }
        return new EpochRecord { Epoch = epoch, TrainLoss = lossSum / Math.Max(1, lossCount), LearningRate = stepRate, Seconds = epochClock.Elapsed.TotalSeconds };
    }

    /// <summary>One inf or NaN gradient would make every weight it reaches NaN, whatever the learning rate (0 × NaN is NaN).</summary>
    private static bool GradientsAreFinite(TorchSharp.Modules.OptimizerHelper optimizer)
    {
        using var scope = NewDisposeScope();
        return optimizer.parameters().All(p => p.grad is not { } grad || grad.isfinite().all().item<bool>());
    }

    private static void ValidateEpoch(TrainingConfig config, LSegNet net, LabelEmbeddingTable labelTable, TrainingData data, EpochRecord record, Action<string> log)
    {
        if (data.Validation.Count == 0)
            return;
        var clock = Stopwatch.StartNew();
        var segmenter = new TorchSegmenter(net, labelTable, config.ValidationLongSide);
        foreach (var (v, i) in data.Validation.Select((v, i) => (v, i)))
        {
            var classes = TrainingData.EvaluatedClasses(v.Classes, v.TextLabels, config.Validation[i], data.Excluded);
            var metrics = SegmentationEvaluator.EvaluateFixedLabels(v, segmenter.Predictor, classes);
            record.Validation[v.Name] = metrics.MeanIoU;
            log($"epoch {record.Epoch + 1} validation {v.Name}: mIoU {Percent(metrics.MeanIoU)}, pixel accuracy {Percent(metrics.PixelAccuracy)}");
        }
        record.ValidationMeanIoU = record.Validation.Values.Average();
        record.Seconds += clock.Elapsed.TotalSeconds;
    }

    /// <summary>Saves the <c>last</c> checkpoint, and <c>best</c> when the validation score improved; true when it did.</summary>
    private static bool SaveEpoch(CheckpointStore store, TrainingState state, EpochRecord record, LSegNet net, LSegNetConfig netConfig,
        TorchSharp.Modules.OptimizerHelper optimizer, LabelEmbeddingTable labelTable, TrainingConfig config, bool validated)
    {
        bool best = !validated || double.IsNaN(state.BestScore) || record.ValidationMeanIoU > state.BestScore;
        if (best)
        {
            state.BestScore = record.ValidationMeanIoU;
            state.BestEpoch = record.Epoch;
        }
        void WriteFiles(string dir) => SaveCheckpointFiles(dir, net, netConfig, optimizer, labelTable, config);
        // "best" first: "last" records this epoch as the best, and a kill between the two saves must not leave a
        // "last" that names a best epoch whose weights "best" does not hold (a resumed run would export older weights).
        if (best)
            store.Save("best", WriteFiles, state);
        store.Save("last", WriteFiles, state);
        return best;
    }

    private static TrainingResult FinalEvaluation(TrainingConfig config, TrainingNetwork network, string output, string bestDirectory, LSegNet net,
        LabelEmbeddingTable labelTable, TrainingState state, IReadOnlyList<string> excluded, Action<string> log, CancellationToken cancellation)
    {
        var test = new List<SegmentationMetrics>();
        ZeroShotFoldResult? zeroShot = null;
        if (config.Test.Count > 0)
        {
            net.load(Path.Combine(bestDirectory, ModelFileName));
            labelTable.LoadLearned(Path.Combine(bestDirectory, LabelTableFileName));
            var segmenter = new TorchSegmenter(net, labelTable, config.ValidationLongSide);
            // A stop asked for during the test (minutes on a CPU) is honoured at the next image: every epoch is kept.
            SegmentationPredictor predict = (image, labels) =>
            {
                cancellation.ThrowIfCancellationRequested();
                return segmenter.Predictor(image, labels);
            };
            foreach (var d in config.Test)
            {
                var dataset = FolderDataset.Load(d.ToEvaluationOptions(), log);
                if (config.ZeroShotFold is int fold)
                {
                    zeroShot = ZeroShotEvaluator.EvaluateFold(dataset, predict, excluded, fold, log: log);
                    log($"zero-shot fold {fold} on {dataset.Name}: mIoU {Percent(zeroShot.MeanIoU)}, FB-IoU {Percent(zeroShot.FBIoU)} over {zeroShot.Episodes} episodes");
                    AtomicFile.WriteAllText(Path.Combine(output, $"zero-shot-fold{fold}-{dataset.Name}.json"), JsonSerializer.Serialize(zeroShot, ReportJson));
                }
                else
                {
                    var classes = TrainingData.EvaluatedClasses(dataset.Classes, dataset.TextLabels, d, excluded);
                    var metrics = SegmentationEvaluator.EvaluateFixedLabels(dataset, predict, classes, title: $"{dataset.Name} test, best checkpoint (epoch {state.BestEpoch + 1})");
                    log(metrics.ToTable());
                    AtomicFile.WriteAllText(Path.Combine(output, $"test-{dataset.Name}.json"), metrics.ToJson());
                    test.Add(metrics);
                }
            }
        }
        log($"training done: {state.EpochsCompleted} epochs, {state.Seconds / 60:F1} min; best checkpoint '{bestDirectory}'");
        return new TrainingResult { OutputDirectory = output, BestCheckpoint = bestDirectory, State = state, Test = test, ZeroShot = zeroShot, Network = network };
    }

    private static readonly JsonSerializerOptions ReportJson = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>File of the frozen label embeddings inside a run folder: each label is encoded once per run.</summary>
    public const string LabelEmbeddingsFileName = "label-embeddings.json";

    private static LabelEmbeddingTable CreateLabelTable(TrainingConfig config, TrainingNetwork network, string output, IReadOnlyList<string> labels, Device device, bool resuming)
    {
        if (network.IsFixedLabels)
            return LabelEmbeddingTable.Learnable(labels, network.Config.EmbeddingSize, config.Seed, device);
        string cachePath = Path.Combine(output, LabelEmbeddingsFileName);
        // Only a resumed run reads the cache: its configuration was checked against the checkpoint's (same text encoder
        // and prompts). A fresh run in a folder left by an attempt stopped before its first checkpoint may have other
        // prompts or another text encoder, and the cache is keyed by label text alone.
        var cache = resuming && File.Exists(cachePath)
            ? JsonSerializer.Deserialize<Dictionary<string, float[]>>(File.ReadAllText(cachePath)) ?? []
            : [];
        var table = LabelEmbeddingTable.Frozen(network.Text.Create, network.Config.EmbeddingSize, cache, labels, device);
        AtomicFile.WriteAllText(cachePath, JsonSerializer.Serialize(table.FrozenEmbeddings));
        return table;
    }

    /// <summary>
    /// Encodes the validation and test labels now (they are kept out of the label cache, which lists what was trained)
    /// and checks that every label set can be told apart: a label the encoder refuses, or two with one embedding, would
    /// otherwise fail after an epoch's work, or after the last when the package is written.
    /// </summary>
    private static void RequireEncodable(LabelEmbeddingTable labelTable, TrainingData data)
    {
        if (labelTable.Learned is not null)
            return;
        for (int d = 0; d < data.Datasets.Count; d++)
            labelTable.RequireDistinguishable($"Training dataset '{data.Datasets[d].Name}'", data.LabelSets[d].Texts);
        foreach (var (dataset, labels) in data.EvaluationLabels)
            labelTable.RequireDistinguishable($"Dataset '{dataset}'", labels);
    }

    /// <summary>
    /// A fixed-label classifier scores only the labels it learns a row for: a validation or test label outside them
    /// would fail after the first (or last) epoch's work, and a zero-shot fold's unseen classes are such labels by design.
    /// </summary>
    /// <exception cref="InvalidDataException">Names the run's fold, or the dataset and its labels the classifier will not know.</exception>
    private static void RequireFixedLabelsEvaluable(TrainingConfig config, TrainingData data)
    {
        if (config.ZeroShotFold is int fold)
            throw new InvalidDataException(
                $"A fixed-label classifier cannot be tested on zero-shot fold {fold}: its unseen classes get no learned row. Train the fold with a text encoder (minilm), or drop zeroShotFold.");
        var known = data.AllLabels.ToHashSet(StringComparer.Ordinal);
        foreach (var (dataset, labels) in data.EvaluationLabels)
        {
            if (labels.Where(l => !known.Contains(l)).ToList() is { Count: > 0 } unknown)
                throw new InvalidDataException(
                    $"Dataset '{dataset}' is scored with {string.Join(", ", unknown.Select(l => $"'{l}'"))}, which no training dataset gives the fixed-label classifier to learn. " +
                    "Exclude those classes from it (excludedClasses), name them as a training label (labelNames), or train with a text encoder.");
        }
    }

    private static Device ResolveDevice(string name)
    {
        if (name == "cuda" && !torch.cuda.is_available())
            throw new InvalidOperationException("The configuration asks for device 'cuda', but libtorch reports no CUDA device; use \"device\": \"cpu\".");
        return name == "cuda" ? CUDA : CPU;
    }

    /// <summary>One forward/backward pass; returns the batch loss (NaN when every target was ignored).</summary>
    private static double TrainBatch(LSegNet net, LabelEmbeddingTable labelTable, TrainingBatch batch, float[]? labelWeights, int accumulation)
    {
        using var scope = NewDisposeScope();
        if (batch.Targets.All(t => t == Augmenter.IgnoreTarget))
            return double.NaN;
        var pixels = tensor(batch.Pixels, [batch.Count, 3, batch.Height, batch.Width]).to(labelTable.Device);
        var targets = tensor(batch.Targets, [batch.Count, batch.Height, batch.Width]).to(ScalarType.Int64).to(labelTable.Device);
        var logits = net.forward(pixels, labelTable.Lookup(batch.Labels));
        var loss = batch.EpisodeLabels is null
            ? SegmentationLoss.CrossEntropy(logits, targets, labelWeights is null ? null : tensor(labelWeights).to(labelTable.Device))
            : SegmentationLoss.EpisodeCrossEntropy(logits, targets, batch.EpisodeLabels);
        (loss / accumulation).backward();
        return loss.item<float>();
    }

    private static TorchSharp.Modules.OptimizerHelper CreateOptimizer(TrainingConfig config, IEnumerable<TorchSharp.Modules.Parameter> backbone, IEnumerable<TorchSharp.Modules.Parameter> decoder)
    {
        double lr = config.LearningRate, decoderLr = lr * config.DecoderLearningRateMultiplier;
        if (config.Optimizer == "sgd")
        {
            return optim.SGD(
            [
                new TorchSharp.Modules.SGD.ParamGroup(backbone, lr: lr, momentum: config.Momentum, weight_decay: config.WeightDecay),
                new TorchSharp.Modules.SGD.ParamGroup(decoder, lr: decoderLr, momentum: config.Momentum, weight_decay: config.WeightDecay),
            ], lr, config.Momentum, weight_decay: config.WeightDecay);
        }
        return optim.AdamW(
        [
            new TorchSharp.Modules.AdamW.ParamGroup(backbone, lr: lr, weight_decay: config.WeightDecay),
            new TorchSharp.Modules.AdamW.ParamGroup(decoder, lr: decoderLr, weight_decay: config.WeightDecay),
        ], lr, weight_decay: config.WeightDecay);
    }

    // Group 0 is the backbone, group 1 the decoder and head (10× in the paper).
    private static void SetLearningRates(TorchSharp.Modules.OptimizerHelper optimizer, double rate, double decoderMultiplier)
    {
        int group = 0;
        foreach (var paramGroup in optimizer.ParamGroups)
            paramGroup.LearningRate = group++ == 0 ? rate : rate * decoderMultiplier;
    }

    private static void SaveCheckpointFiles(string directory, LSegNet net, LSegNetConfig netConfig, TorchSharp.Modules.OptimizerHelper optimizer, LabelEmbeddingTable labels, TrainingConfig config)
    {
        net.save(Path.Combine(directory, ModelFileName));
        optimizer.save_state_dict(Path.Combine(directory, OptimizerFileName));
        labels.SaveLearned(Path.Combine(directory, LabelTableFileName));
        File.WriteAllText(Path.Combine(directory, NetConfigFileName), JsonSerializer.Serialize(netConfig, ReportJson));
        File.WriteAllText(Path.Combine(directory, RunConfigFileName), config.ToJson());
    }

    private static void WriteHistory(string output, TrainingState state, TrainingConfig config, Action<string> log)
    {
        AtomicFile.WriteAllText(Path.Combine(output, "history.json"), state.ToJson());
        try
        {
            TrainingCurvePlot.Save(state.History, Path.Combine(output, "training-curve.png"), $"{config.Name}: training curve");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The curve is a convenience: a machine without fonts or Skia natives must not lose a finished run.
            log($"warning: the training curve could not be drawn ({e.GetType().Name}: {e.Message}); history.json holds the same data");
        }
    }

    private static string Percent(double value) => double.IsNaN(value) ? "n/a" : (100 * value).ToString("F1", CultureInfo.InvariantCulture);
}
