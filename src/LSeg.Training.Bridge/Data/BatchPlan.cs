namespace LSeg.Training.Bridge.Data;

/// <summary>One training batch: which dataset, and which of its samples.</summary>
/// <param name="Dataset">Index of the dataset in the training mix.</param>
/// <param name="Samples">Indices of the samples in that dataset.</param>
public sealed record PlannedBatch(int Dataset, int[] Samples);

/// <summary>
/// The order of an epoch's batches over a mix of datasets: each dataset's samples are shuffled and cut into batches
/// (so a batch never mixes label sets), then all batches are shuffled together. The same seed and epoch always give
/// the same plan, which is what lets a resumed run continue exactly.
/// </summary>
public static class BatchPlan
{
    /// <summary>Plans an epoch. A trailing partial batch is kept when it has at least two samples (BatchNorm needs two).</summary>
    /// <param name="datasetSizes">Number of samples in each dataset of the mix.</param>
    /// <param name="batchSize">Crops per batch.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="epoch">Zero-based epoch.</param>
    /// <param name="samplesPerEpoch">
    /// Per dataset, how many samples an epoch draws (null or a null entry: each sample once). Fewer than the dataset
    /// holds: a different seeded subset each epoch. More: whole shuffled passes, then a shuffled remainder. This is
    /// how a mix weights a small dataset up or a large one down.
    /// </param>
    /// <param name="repeatFactors">
    /// Per dataset, each sample's repeat factor (<see cref="RepeatFactors"/>; null or a null entry: each sample once).
    /// A sample with factor r is drawn ⌊r⌋ or ⌈r⌉ times, r on average over epochs; not combined with
    /// <paramref name="samplesPerEpoch"/> for the same dataset.
    /// </param>
    public static IReadOnlyList<PlannedBatch> ForEpoch(IReadOnlyList<int> datasetSizes, int batchSize, int seed, int epoch,
        IReadOnlyList<int?>? samplesPerEpoch = null, IReadOnlyList<IReadOnlyList<double>?>? repeatFactors = null)
    {
        ArgumentNullException.ThrowIfNull(datasetSizes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (samplesPerEpoch is not null && samplesPerEpoch.Count != datasetSizes.Count)
            throw new ArgumentException($"samplesPerEpoch has {samplesPerEpoch.Count} entries for {datasetSizes.Count} datasets.", nameof(samplesPerEpoch));
        if (repeatFactors is not null && repeatFactors.Count != datasetSizes.Count)
            throw new ArgumentException($"repeatFactors has {repeatFactors.Count} entries for {datasetSizes.Count} datasets.", nameof(repeatFactors));
        // Not HashCode.Combine: it is randomised per process, and the plan must be the same after a restart.
        var random = new Random(unchecked(seed * 1_000_003 + epoch));
        var batches = new List<PlannedBatch>();
        for (int d = 0; d < datasetSizes.Count; d++)
        {
            int[] order = repeatFactors?[d] is { } factors
                ? (samplesPerEpoch?[d] is null ? DrawRepeated(datasetSizes[d], factors, random)
                    : throw new ArgumentException($"Dataset {d} has both samplesPerEpoch and repeat factors; use one.", nameof(repeatFactors)))
                : Draw(datasetSizes[d], samplesPerEpoch?[d], random);
            for (int start = 0; start < order.Length; start += batchSize)
            {
                int count = Math.Min(batchSize, order.Length - start);
                if (count >= 2 || (count == 1 && batchSize == 1))
                    batches.Add(new PlannedBatch(d, order[start..(start + count)]));
            }
        }
        var shuffled = batches.ToArray();
        random.Shuffle(shuffled);
        return shuffled;
    }

    private static int[] Draw(int size, int? samples, Random random)
    {
        int[] order = Enumerable.Range(0, size).ToArray();
        random.Shuffle(order);
        if (samples is not int wanted || wanted == size)
            return order;
        ArgumentOutOfRangeException.ThrowIfNegative(wanted);
        if (size == 0 && wanted > 0)
            throw new ArgumentException($"{wanted} samples cannot be drawn from a dataset of no image.", nameof(size));
        var drawn = new List<int>(wanted);
        while (drawn.Count < wanted)
        {
            if (drawn.Count > 0)
                random.Shuffle(order);
            drawn.AddRange(order.Take(wanted - drawn.Count));
        }
        return [.. drawn];
    }

    // Systematic sampling over a shuffled order: with cumulative factors C and one uniform offset u, sample i is drawn
    // ⌊C_i + u⌋ − ⌊C_(i−1) + u⌋ times, which is ⌊r_i⌋ or ⌈r_i⌉ with mean r_i, and the epoch holds ⌊Σr⌋ or ⌈Σr⌉
    // samples, so its length (and with it the learning-rate schedule) hardly moves between epochs.
    private static int[] DrawRepeated(int size, IReadOnlyList<double> factors, Random random)
    {
        if (factors.Count != size)
            throw new ArgumentException($"{factors.Count} repeat factors for a dataset of {size} samples.", nameof(factors));
        if (factors.Any(r => !(r >= 1) || double.IsInfinity(r)))
            throw new ArgumentException("Every repeat factor must be a finite number of at least 1.", nameof(factors));
        int[] order = Enumerable.Range(0, size).ToArray();
        random.Shuffle(order);
        double offset = random.NextDouble(), cumulative = 0;
        var drawn = new List<int>();
        foreach (int i in order)
        {
            long before = (long)Math.Floor(cumulative + offset);
            cumulative += factors[i];
            long copies = (long)Math.Floor(cumulative + offset) - before;
            for (long k = 0; k < copies; k++)
                drawn.Add(i);
        }
        int[] result = [.. drawn];
        random.Shuffle(result);
        return result;
    }
}
