using System.Buffers.Binary;
using System.IO.Compression;

namespace LSeg.Cli.Rendering;

/// <summary>
/// Writes a label mask as an 8-bit greyscale PNG whose pixel values are label indices (0 = first label). Written by
/// hand (IHDR, zlib IDAT, IEND) so the file is exactly 8-bit grey with no colour management or palette.
/// </summary>
internal static class MaskPng
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Writes <paramref name="mask"/> (row-major, <paramref name="width"/> × <paramref name="height"/>) to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The mask size does not match, or a value is outside 0–255.</exception>
    public static void Write(string path, int width, int height, ReadOnlySpan<int> mask)
    {
        using var stream = File.Create(path);
        Write(stream, width, height, mask);
    }

    /// <summary>Writes the PNG to a stream.</summary>
    public static void Write(Stream stream, int width, int height, ReadOnlySpan<int> mask)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"Mask size must be positive; got {width}×{height}.", nameof(width));
        if (mask.Length != (long)width * height)
            throw new ArgumentException($"Mask has {mask.Length} values; a {width}×{height} mask needs {(long)width * height}.", nameof(mask));

        var raw = new byte[(width + 1) * height];
        for (int y = 0; y < height; y++)
        {
            int row = y * (width + 1);
            raw[row] = 0; // filter type "none"
            for (int x = 0; x < width; x++)
            {
                int value = mask[y * width + x];
                if ((uint)value > 255)
                    throw new ArgumentException($"Mask value {value} at ({x}, {y}) does not fit an 8-bit label index (0–255).", nameof(mask));
                raw[row + 1 + x] = (byte)value;
            }
        }

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            zlib.Write(raw);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;  // bit depth
        header[9] = 0;  // colour type: greyscale
        header[10] = 0; // deflate
        header[11] = 0; // adaptive filtering
        header[12] = 0; // no interlace

        stream.Write(Signature);
        WriteChunk(stream, "IHDR", header);
        WriteChunk(stream, "IDAT", compressed.ToArray());
        WriteChunk(stream, "IEND", []);
    }

    private static void WriteChunk(Stream stream, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        stream.Write(four);
        byte[] typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        stream.Write(typeBytes);
        stream.Write(data);
        uint crc = Crc(Crc(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(four, crc);
        stream.Write(four);
    }

    private static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
