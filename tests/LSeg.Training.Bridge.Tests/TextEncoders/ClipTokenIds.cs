using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.TextEncoders;

/// <summary>Random CLIP-shaped token rows: start token, BPE ids, end token at a chosen position, zero padding.</summary>
internal static class ClipTokenIds
{
    internal const long StartOfText = 49406;
    internal const long EndOfText = 49407;

    /// <summary>[N, contextLength] int64 rows whose end-of-text positions are drawn in 1..contextLength-1.</summary>
    internal static long[,] Random(int rows, int contextLength, int seed)
    {
        var random = new Random(seed);
        var ids = new long[rows, contextLength];
        for (int r = 0; r < rows; r++)
        {
            int end = random.Next(1, contextLength);
            ids[r, 0] = StartOfText;
            for (int i = 1; i < end; i++)
                ids[r, i] = random.Next(1, (int)StartOfText);
            ids[r, end] = EndOfText;
        }
        return ids;
    }

    internal static int EndPosition(long[,] ids, int row)
    {
        for (int i = 0; i < ids.GetLength(1); i++)
            if (ids[row, i] == EndOfText)
                return i;
        throw new InvalidOperationException($"Row {row} has no end-of-text token.");
    }

    internal static Tensor ToTensor(long[,] ids) => torch.tensor(ids, ScalarType.Int64);
}
