namespace LSeg.Training.Bridge.Data;

/// <summary>
/// The MSRC-v2 zero-shot folds (the PASCAL-5i protocol transposed; see docs/cli.md, evaluate): classes 1–23 split by index
/// into four folds. A fold's classes are unseen in training and tested with the label set <c>["other", c]</c>.
/// </summary>
public static class ZeroShotFolds
{
    /// <summary>The catch-all label of the 2-way episodes.</summary>
    public const string OtherLabel = "other";

    private static readonly string[][] Msrc =
    [
        ["building", "grass", "tree", "cow", "horse", "sheep"],
        ["sky", "mountain", "aeroplane", "water", "face", "car"],
        ["bicycle", "flower", "sign", "bird", "book", "chair"],
        ["road", "cat", "dog", "body", "boat"],
    ];

    /// <summary>Number of folds.</summary>
    public static int FoldCount => Msrc.Length;

    /// <summary>The class names of MSRC-v2 fold <paramref name="fold"/> (0–3).</summary>
    public static IReadOnlyList<string> MsrcFold(int fold)
    {
        if (fold < 0 || fold >= Msrc.Length)
            throw new ArgumentOutOfRangeException(nameof(fold), fold, $"MSRC-v2 has folds 0 to {Msrc.Length - 1}.");
        return Msrc[fold];
    }
}
