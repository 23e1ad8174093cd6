using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace LSeg.Tests.Shared;

/// <summary>
/// PNG files written byte by byte for tests: any bit depth and colour type, rows already filtered by the caller, so a
/// test of a decoder does not depend on an encoder under test.
/// </summary>
internal static class RawPng
{
    /// <summary>A PNG of <paramref name="rows"/> (each row's filter byte, then its filtered bytes) in one IDAT chunk.</summary>
    public static byte[] Encode(int width, int height, byte bitDepth, byte colourType, IEnumerable<(byte Filter, byte[] Bytes)> rows, byte[]? palette = null)
    {
        var raw = new MemoryStream();
        using (var zlib = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            foreach (var (filter, bytes) in rows)
            {
                zlib.WriteByte(filter);
                zlib.Write(bytes);
            }
        }
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = bitDepth;
        header[9] = colourType;
        var png = new MemoryStream();
        png.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        Chunk(png, "IHDR", header);
        if (palette is not null)
            Chunk(png, "PLTE", palette);
        Chunk(png, "IDAT", raw.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>A PNG of unfiltered rows of <paramref name="samples"/> (height rows of equal length).</summary>
    public static byte[] Encode(int width, int height, byte bitDepth, byte colourType, byte[] samples)
    {
        int rowBytes = samples.Length / height;
        return Encode(width, height, bitDepth, colourType, Enumerable.Range(0, height).Select(y => ((byte)0, samples[(y * rowBytes)..((y + 1) * rowBytes)])));
    }

    /// <summary>The PNG signature and <paramref name="chunks"/> as given, each with its length and a correct CRC (what a malformed header needs to reach the checks after the CRC's).</summary>
    public static byte[] Chunks(params (string Type, byte[] Data)[] chunks)
    {
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        foreach (var (type, data) in chunks)
            Chunk(png, type, data);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        var number = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        png.Write(number);
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(number, Crc32(typeAndData));
        png.Write(number);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
