using LSeg.MLNet.Package;

namespace LSeg.MLNet.Head;

/// <summary>
/// The trained names a label set's catch-all absorbs (<see cref="UntrainedLabelCalibration.UnofferedLabelSimilarity"/>):
/// when a calibrated label such as "other" is offered beside trained names only, every trained name (of
/// <see cref="UntrainedLabelCalibration.UnofferedLabels"/> when given) that is not offered, is not calibrated itself, and
/// is less similar than the limit to each offered name is scored too, and its pixels go to the catch-all. Without
/// it "other" competes with the offered names only, so a region the network knows as something else (the grass under
/// "dog, other") goes to the nearest offered name. Beside an untrained name the same rule applies only to the names of
/// <see cref="UntrainedLabelCalibration.UnofferedLabelsBesideUntrained"/>, with its own limit. The trained names are
/// encoded once, on first use.
/// </summary>
internal sealed class UnofferedTrainedLabels
{
    private readonly ModelManifest _manifest;
    private readonly Rule? _amongTrained;
    private readonly Rule? _besideUntrained;

    /// <summary>
    /// One absorption rule: its similarity limit and its absorbable names with their embeddings, encoded on first use.
    /// A failed encoding (the text encoder out of memory under load) is not kept: the next call encodes again, where a
    /// <see cref="Lazy{T}"/> would rethrow the first failure for every later label set with the catch-all.
    /// </summary>
    private sealed class Rule(double limit, IEnumerable<string> names, ModelManifest manifest, Func<string[], float[][]> encode)
    {
        private readonly Lock _gate = new();
        private (string[] Names, float[][] Embeddings)? _trained;

        public double Limit { get; } = limit;

        public (string[] Names, float[][] Embeddings) Trained
        {
            get
            {
                lock (_gate)
                {
                    if (_trained is { } done)
                        return done;
                    // Calibrated names (the catch-all itself) are never absorbed.
                    string[] absorbable = [.. names.Select(LabelNameKey.Of).Where(n => !manifest.HasLogitOffset(n)).Distinct(LabelNameKey.Comparer)];
                    var encoded = (absorbable, encode(absorbable));
                    _trained = encoded;
                    return encoded;
                }
            }
        }
    }

    private UnofferedTrainedLabels(ModelManifest manifest, Func<string[], float[][]> encode)
    {
        _manifest = manifest;
        var calibration = manifest.UntrainedLabels!;
        if (calibration.UnofferedLabelSimilarity is double limit)
            _amongTrained = new Rule(limit, calibration.UnofferedLabels ?? calibration.TrainedLabels, manifest, encode);
        if (calibration.UnofferedLabelSimilarityBesideUntrained is double besideLimit)
            _besideUntrained = new Rule(besideLimit, calibration.UnofferedLabelsBesideUntrained!, manifest, encode);
    }

    /// <summary>
    /// Encodes the absorbed names of both rules now rather than on first use: for a fixed label table, whose lookups
    /// cost nothing and fail for a name it lacks, so that such a package is refused at load, not at its first "other".
    /// </summary>
    /// <exception cref="ArgumentException">The text encoder cannot encode an absorbed name.</exception>
    public void EncodeNow()
    {
        _ = _amongTrained?.Trained;
        _ = _besideUntrained?.Trained;
    }

    /// <summary>The absorption of <paramref name="manifest"/>'s package, or null when its manifest does not ask for it.</summary>
    /// <param name="manifest">The package's manifest.</param>
    /// <param name="encode">The package's text encoder (label embeddings in the order given).</param>
    public static UnofferedTrainedLabels? For(ModelManifest manifest, Func<string[], float[][]> encode) =>
        manifest.UntrainedLabels is { } calibration && (calibration.UnofferedLabelSimilarity is not null || calibration.UnofferedLabelSimilarityBesideUntrained is not null)
            ? new(manifest, encode) : null;

    /// <summary>
    /// The catch-all's index in <paramref name="labels"/> (the first calibrated label), the embeddings of the trained
    /// names it absorbs, and the offset added to their logits: 0 in a set of trained names; beside an untrained name
    /// minus the calibrated drop, the catch-all's own, so that they win only where the network is as sure of them as
    /// the catch-all must be of itself there. (-1, none, 0) when the set offers no calibrated label.
    /// </summary>
    /// <param name="labels">The offered labels, trimmed (as <see cref="LanguageSegmentationModel.EncodeLabels"/> reads them).</param>
    /// <param name="embeddings">Their embeddings, in the same order.</param>
    public (int CatchAll, IReadOnlyList<float[]> Absorbed, float Offset) Absorbed(IReadOnlyList<string> labels, IReadOnlyList<float[]> embeddings)
    {
        bool[] calibrated = [.. labels.Select(_manifest.HasLogitOffset)];
        int catchAll = Array.IndexOf(calibrated, true);
        // With a name the network never learned on offer, its pixels may look like a trained name the set does not
        // offer (a giraffe like a cow): absorbing those would hand the new name's pixels to the catch-all. Such sets
        // absorb only the names the package lists for them, if any, and otherwise keep the calibrated drop alone
        // (UntrainedLabelCalibration.CalibratedLabelDrop).
        var calibration = _manifest.UntrainedLabels!;
        bool untrainedOffered = labels.Where((label, i) => !calibrated[i] && !calibration.IsTrained(label)).Any();
        if (catchAll < 0 || (untrainedOffered ? _besideUntrained : _amongTrained) is not { } rule)
            return (-1, [], 0f);
        var (names, trained) = rule.Trained;
        var offered = new HashSet<string>(labels.Select(LabelNameKey.Of), LabelNameKey.Comparer);
        var absorbed = new List<float[]>();
        for (int t = 0; t < names.Length; t++)
        {
            if (offered.Contains(names[t]))
                continue;
            bool nearAnOfferedName = false;
            for (int i = 0; i < labels.Count && !nearAnOfferedName; i++)
                nearAnOfferedName = !calibrated[i] && Cosine(trained[t], embeddings[i]) >= rule.Limit;
            if (!nearAnOfferedName)
                absorbed.Add(trained[t]);
        }
        return (catchAll, absorbed, untrainedOffered ? -(float)calibration.CalibratedLabelDrop : 0f);
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }
        return aa > 0 && bb > 0 ? dot / Math.Sqrt(aa * bb) : 0;
    }
}
