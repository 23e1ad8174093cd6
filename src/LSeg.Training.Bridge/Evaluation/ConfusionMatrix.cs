namespace LSeg.Training.Bridge.Evaluation;

/// <summary>
/// A confusion matrix over K evaluation classes, accumulated over a whole split: <c>Counts[truth, prediction]</c>.
/// Ground-truth pixels outside 0..K−1 (void, excluded classes) are not counted. IoU, accuracy and FB-IoU are
/// computed from the accumulated counts, never averaged per image (docs/cli.md, evaluate).
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[,] _counts;

    /// <summary>Creates an empty matrix over <paramref name="classCount"/> classes.</summary>
    public ConfusionMatrix(int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        ClassCount = classCount;
        _counts = new long[classCount, classCount];
        Unassigned = new long[classCount];
    }

    /// <summary>Number of evaluation classes K.</summary>
    public int ClassCount { get; }

    /// <summary>Pixels whose truth is class <paramref name="truth"/> and prediction is <paramref name="prediction"/>.</summary>
    public long this[int truth, int prediction] => _counts[truth, prediction];

    /// <summary>
    /// Adds one image: <paramref name="truth"/> and <paramref name="prediction"/> hold a class 0..K−1 per pixel; a truth
    /// outside that range is ignored. A prediction outside it counts as wrong (against the true class only).
    /// </summary>
    /// <exception cref="ArgumentException">The two maps differ in length.</exception>
    public void Add(ReadOnlySpan<int> truth, ReadOnlySpan<int> prediction)
    {
        if (truth.Length != prediction.Length)
            throw new ArgumentException($"Truth has {truth.Length} pixels, prediction {prediction.Length}; they must match.", nameof(prediction));
        for (int i = 0; i < truth.Length; i++)
        {
            int t = truth[i];
            if ((uint)t >= (uint)ClassCount)
                continue;
            int p = prediction[i];
            if ((uint)p >= (uint)ClassCount)
            {
                Unassigned[t]++;
                continue;
            }
            _counts[t, p]++;
        }
    }

    /// <summary>Pixels of each true class whose prediction was outside the evaluation classes (wrong, and no class's false positive).</summary>
    public long[] Unassigned { get; }

    /// <summary>Adds another matrix of the same size to this one.</summary>
    public void Add(ConfusionMatrix other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.ClassCount != ClassCount)
            throw new ArgumentException($"Cannot add a {other.ClassCount}-class matrix to a {ClassCount}-class one.", nameof(other));
        for (int t = 0; t < ClassCount; t++)
        {
            Unassigned[t] += other.Unassigned[t];
            for (int p = 0; p < ClassCount; p++)
                _counts[t, p] += other._counts[t, p];
        }
    }

    /// <summary>Pixels whose truth is class <paramref name="c"/>.</summary>
    public long TruthCount(int c)
    {
        long sum = Unassigned[c];
        for (int p = 0; p < ClassCount; p++) sum += _counts[c, p];
        return sum;
    }

    /// <summary>Pixels predicted as class <paramref name="c"/> (among counted pixels).</summary>
    public long PredictedCount(int c)
    {
        long sum = 0;
        for (int t = 0; t < ClassCount; t++) sum += _counts[t, c];
        return sum;
    }

    /// <summary>Every counted pixel.</summary>
    public long Total
    {
        get
        {
            long sum = 0;
            for (int t = 0; t < ClassCount; t++) sum += TruthCount(t);
            return sum;
        }
    }

    /// <summary>IoU of class <paramref name="c"/> = TP / (TP + FP + FN); NaN when the class is neither true nor predicted.</summary>
    public double IoU(int c)
    {
        long tp = _counts[c, c];
        long union = TruthCount(c) + PredictedCount(c) - tp;
        return union == 0 ? double.NaN : (double)tp / union;
    }

    /// <summary>Mean IoU over the classes that occur in the ground truth (NaN when none does).</summary>
    public double MeanIoU()
    {
        var present = Enumerable.Range(0, ClassCount).Where(c => TruthCount(c) > 0).ToList();
        return present.Count == 0 ? double.NaN : present.Average(IoU);
    }

    /// <summary>Correct pixels / counted pixels (NaN when nothing was counted).</summary>
    public double PixelAccuracy()
    {
        long total = Total, correct = 0;
        for (int c = 0; c < ClassCount; c++) correct += _counts[c, c];
        return total == 0 ? double.NaN : (double)correct / total;
    }

    /// <summary>A copy of the counts, <c>[truth][prediction]</c>.</summary>
    public long[][] ToArray() =>
        Enumerable.Range(0, ClassCount).Select(t => Enumerable.Range(0, ClassCount).Select(p => _counts[t, p]).ToArray()).ToArray();
}
