using System.Text;
using System.Text.RegularExpressions;

namespace LSeg.Training.Bridge.Data;

/// <summary>
/// Reads a 2-D little-endian float16 or float32 array from a NumPy <c>.npy</c> file (format versions 1 to 3, C order),
/// such as the CLIP text embeddings of a class vocabulary.
/// </summary>
internal static partial class NpyMatrix
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>The rows of the array in <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a 2-D C-order float16/float32 .npy array.</exception>
    public static float[][] Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not a NumPy .npy file (no \\x93NUMPY magic).");
        int major = bytes[6];
        int headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : (int)BitConverter.ToUInt32(bytes, 8);
        int headerStart = major == 1 ? 10 : 12;
        if (headerStart + headerLength > bytes.Length)
            throw new InvalidDataException($"'{path}' is truncated: its header runs past the end of the file.");
        string header = Encoding.Latin1.GetString(bytes, headerStart, headerLength);
        string descr = DescrPattern().Match(header) is { Success: true } d ? d.Groups[1].Value : "";
        int elementSize = descr switch
        {
            "<f2" => 2,
            "<f4" => 4,
            _ => throw new InvalidDataException($"'{path}' holds '{descr}' elements; expected little-endian float16 ('<f2') or float32 ('<f4')."),
        };
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal))
            throw new InvalidDataException($"'{path}' is in Fortran order; save it in C order.");
        var shape = ShapePattern().Match(header);
        int[] dims = shape.Success ? [.. shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse)] : [];
        if (dims.Length != 2)
            throw new InvalidDataException($"'{path}' has shape ({string.Join(", ", dims)}); expected a 2-D array (rows, columns).");
        int offset = headerStart + headerLength;
        if (bytes.Length - offset != (long)dims[0] * dims[1] * elementSize)
            throw new InvalidDataException($"'{path}' should hold {dims[0]}×{dims[1]} elements after its header; it holds {(bytes.Length - offset) / elementSize}.");
        var rows = new float[dims[0]][];
        for (int r = 0; r < dims[0]; r++)
        {
            rows[r] = new float[dims[1]];
            for (int c = 0; c < dims[1]; c++)
            {
                int at = offset + (r * dims[1] + c) * elementSize;
                rows[r][c] = elementSize == 2 ? (float)BitConverter.ToHalf(bytes, at) : BitConverter.ToSingle(bytes, at);
            }
        }
        return rows;
    }

    [GeneratedRegex(@"'descr':\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
