using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Network.ImageEncoders;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// What a training run trains (<see cref="TrainingConfig.Train"/>), as the state-dict prefixes that
/// <see cref="Trainer.FreezeParameters"/> then freezes: nothing for <c>all</c>, the whole backbone for <c>decoder</c>,
/// and for <c>lastBlocks</c> everything of the backbone outside its last N blocks (the stem, the earlier blocks and, in a
/// ViT, the reassemble stages). The text encoder is never trained: its embeddings are fixed inputs.
/// </summary>
internal static class TrainableParts
{
    /// <summary>Backbone and decoder train.</summary>
    public const string All = "all";

    /// <summary>Decoder and head train; the backbone stays as loaded.</summary>
    public const string Decoder = "decoder";

    /// <summary>Decoder, head and the backbone's last N blocks train.</summary>
    public const string LastBlocks = "lastBlocks";

    private const string BackbonePrefix = "pretrained";

    /// <summary>The setting a run uses: the configured one, else <c>decoder</c> when fine-tuning a large backbone, else <c>all</c>.</summary>
    public static string Resolve(string? configured, bool fineTuning, string backbone) =>
        configured ?? (fineTuning && backbone != "resnet18" ? Decoder : All);

    /// <summary>The backbone's residual or transformer blocks, as state-dict prefixes in forward order.</summary>
    public static IReadOnlyList<string> BackboneBlocks(LSegNet net) =>
        net.named_modules().Where(m => m.module is IBackboneBlock && m.name.StartsWith(BackbonePrefix + ".", StringComparison.Ordinal)).Select(m => m.name).ToList();

    /// <summary>The state-dict prefixes to freeze for <paramref name="train"/> (the fewest that cover exactly the frozen parameters).</summary>
    /// <exception cref="InvalidDataException"><paramref name="blocks"/> is more than the backbone has.</exception>
    public static IReadOnlyList<string> FrozenPrefixes(LSegNet net, string train, int blocks)
    {
        switch (train)
        {
            case All:
                return [];
            case Decoder:
                return [BackbonePrefix];
            case LastBlocks:
                var all = BackboneBlocks(net);
                if (blocks > all.Count)
                    throw new InvalidDataException($"trainBlocks is {blocks}, but the {net.Config.Backbone} backbone has {all.Count} blocks; use train 'all' to train all of it.");
                var trained = all.Skip(all.Count - blocks).ToList();
                bool IsTrained(string name) => trained.Any(b => Under(name, b)) || !Under(name, BackbonePrefix);
                var trainedNames = net.named_parameters().Select(p => p.name).Where(IsTrained).ToList();
                var prefixes = new List<string>();
                foreach (var (name, _) in net.named_parameters().Where(p => !IsTrained(p.name)))
                {
                    string prefix = ShortestPrefixWithout(name, trainedNames);
                    if (!prefixes.Contains(prefix))
                        prefixes.Add(prefix);
                }
                return prefixes;
            default:
                throw new ArgumentException($"Unknown train setting '{train}'; expected {All}, {Decoder} or {LastBlocks}.", nameof(train));
        }
    }

    /// <summary>The shortest dotted prefix of <paramref name="name"/> under which no trained parameter lies.</summary>
    private static string ShortestPrefixWithout(string name, IReadOnlyList<string> trainedNames)
    {
        string[] parts = name.Split('.');
        for (int length = 1; length < parts.Length; length++)
        {
            string prefix = string.Join('.', parts.Take(length));
            if (!trainedNames.Any(t => Under(t, prefix)))
                return prefix;
        }
        return name;
    }

    private static bool Under(string name, string prefix) => name == prefix || name.StartsWith(prefix + ".", StringComparison.Ordinal);
}
