using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace LSeg.MLNet.Imaging;

/// <summary>
/// Reads and writes 8-bit single-channel PNGs (grayscale or palette) as raw index values: the format of segmentation
/// masks (pixel value = label index) and of dataset label maps. They must be read this way: a general image decoder
/// maps palette entries to colours or converts them, which loses the index.
/// </summary>
public static class IndexPng
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Reads an 8-bit grayscale (colour type 0) or palette (colour type 3) PNG as one byte per pixel.</summary>
    /// <exception cref="InvalidDataException">The file is not a PNG of that kind.</exception>
    public static IndexImage Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            return Decode(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Index image '{path}': {e.Message}", e);
        }
    }

    /// <summary>Decodes PNG bytes; see <see cref="Read"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an 8-bit grayscale or palette PNG, are cut short, or fail a CRC or zlib check.</exception>
    public static IndexImage Decode(ReadOnlySpan<byte> png)
    {
        if (png.Length < 8 || !png[..8].SequenceEqual(Signature))
            throw new InvalidDataException("not a PNG file (bad signature).");
        int width = 0, height = 0;
        using var compressed = new MemoryStream();
        int offset = 8;
        bool sawHeader = false, sawEnd = false;
        while (offset + 8 <= png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png[offset..]);
            if (length < 0 || (long)offset + 12 + length > png.Length)
                throw new InvalidDataException($"a chunk at byte {offset} runs past the end of the file (truncated PNG).");
            string type = Encoding.ASCII.GetString(png.Slice(offset + 4, 4));
            var data = png.Slice(offset + 8, length);
            // A flipped bit in the image data may still inflate, into wrong label indices: the chunk's CRC says so.
            if (Crc(png.Slice(offset + 4, 4 + length)) != BinaryPrimitives.ReadUInt32BigEndian(png[(offset + 8 + length)..]))
                throw new InvalidDataException($"the {type} chunk at byte {offset} fails its CRC check (corrupt PNG).");
            if (type == "IHDR")
            {
                if (length < 13)
                    throw new InvalidDataException($"the IHDR chunk holds {length} bytes; a PNG header has 13.");
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                byte bitDepth = data[8], colorType = data[9], interlace = data[12];
                if (bitDepth != 8 || (colorType != 0 && colorType != 3))
                    throw new InvalidDataException($"expected an 8-bit grayscale or palette PNG, found bit depth {bitDepth}, colour type {colorType}.");
                if (interlace != 0)
                    throw new InvalidDataException("interlaced PNGs are not supported for label maps.");
                sawHeader = true;
            }
            else if (type == "IDAT")
            {
                compressed.Write(data);
            }
            else if (type == "IEND")
            {
                sawEnd = true;
                break;
            }
            offset += 12 + length;
        }
        if (!sawHeader)
            throw new InvalidDataException("no IHDR chunk.");
        if (!sawEnd)
            throw new InvalidDataException("no IEND chunk: the file ends early (truncated PNG).");
        if (width <= 0 || height <= 0)
            throw new InvalidDataException($"the image size {width}×{height} is not positive.");
        // A header may claim any size; a mask is one byte per pixel in one array, so refuse what no array could hold.
        if (((long)width + 1) * height > LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels)
            throw new InvalidDataException($"the image size {width}×{height} is more than a label map may have ({LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels:N0} pixels).");
        compressed.Position = 0;
        using var inflater = new ZLibStream(compressed, CompressionMode.Decompress);
        var raw = new byte[(width + 1) * height];
        try
        {
            inflater.ReadExactly(raw);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("the image data ends before the last row (truncated PNG).", e);
        }
        // Read to the stream's end, where zlib checks its Adler-32 of the rows.
        if (inflater.ReadByte() >= 0)
            throw new InvalidDataException("the image data holds more than its rows (corrupt PNG).");
        var pixels = new byte[width * height];
        var previous = new byte[width];
        for (int y = 0; y < height; y++)
        {
            byte filter = raw[y * (width + 1)];
            var line = raw.AsSpan(y * (width + 1) + 1, width);
            Unfilter(filter, line, previous);
            line.CopyTo(pixels.AsSpan(y * width, width));
            line.CopyTo(previous);
        }
        return new IndexImage(width, height, pixels);
    }

    private static void Unfilter(byte filter, Span<byte> line, ReadOnlySpan<byte> previous)
    {
        // One byte per pixel, so the "left" neighbour is the previous byte.
        switch (filter)
        {
            case 0:
                break;
            case 1:
                for (int x = 1; x < line.Length; x++) line[x] += line[x - 1];
                break;
            case 2:
                for (int x = 0; x < line.Length; x++) line[x] += previous[x];
                break;
            case 3:
                for (int x = 0; x < line.Length; x++) line[x] += (byte)(((x > 0 ? line[x - 1] : 0) + previous[x]) / 2);
                break;
            case 4:
                for (int x = 0; x < line.Length; x++)
                {
                    int a = x > 0 ? line[x - 1] : 0, b = previous[x], c = x > 0 ? previous[x - 1] : 0;
                    int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                    line[x] += (byte)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                }
                break;
            default:
                throw new InvalidDataException($"unknown PNG row filter {filter}.");
        }
    }

    /// <summary>Writes row-major indices as an 8-bit grayscale PNG whose pixel values are the indices.</summary>
    /// <exception cref="ArgumentException">The size is not positive or does not match the number of indices.</exception>
    public static void Write(string path, int width, int height, ReadOnlySpan<byte> indices)
    {
        using var file = File.Create(path);
        Write(file, width, height, indices);
    }

    /// <summary>The PNG bytes of row-major indices (8-bit grayscale, pixel value = index).</summary>
    /// <exception cref="ArgumentException">The size is not positive or does not match the number of indices.</exception>
    public static byte[] Encode(int width, int height, ReadOnlySpan<byte> indices)
    {
        using var stream = new MemoryStream();
        Write(stream, width, height, indices);
        return stream.ToArray();
    }

    /// <summary>Writes row-major indices to a stream as an 8-bit grayscale PNG whose pixel values are the indices.</summary>
    /// <exception cref="ArgumentException">The size is not positive or does not match the number of indices.</exception>
    public static void Write(Stream file, int width, int height, ReadOnlySpan<byte> indices)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"An index image needs a positive size; got {width}×{height}.", nameof(width));
        if (indices.Length != (long)width * height)
            throw new ArgumentException($"A {width}×{height} index image needs {(long)width * height} values; got {indices.Length}.", nameof(indices));
        file.Write(Signature);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 0; // grayscale
        WriteChunk(file, "IHDR", header);
        using var compressed = new MemoryStream();
        using (var deflater = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                deflater.WriteByte(0);
                deflater.Write(indices.Slice(y * width, width));
            }
        }
        WriteChunk(file, "IDAT", compressed.ToArray());
        WriteChunk(file, "IEND", []);
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        stream.Write(four);
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        stream.Write(typeBytes);
        stream.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(four, Crc(typeBytes, data));
        stream.Write(four);
    }

    /// <summary>The PNG CRC-32 of a chunk's type and data (given as one span, or as two).</summary>
    private static uint Crc(ReadOnlySpan<byte> typeAndData, ReadOnlySpan<byte> more = default)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in typeAndData)
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        foreach (byte b in more)
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
