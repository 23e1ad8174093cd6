using System.Text;

namespace LSeg.Tests.Shared;

/// <summary>Writes NumPy version 1 <c>.npy</c> files (2-D, C order, little-endian float16 or float32) for tests.</summary>
internal static class NpyFile
{
    /// <summary>Writes <paramref name="rows"/> to <paramref name="path"/> as <paramref name="descr"/> (<c>&lt;f2</c> or <c>&lt;f4</c>).</summary>
    public static string Write(string path, string descr, float[][] rows)
    {
        using var stream = File.Create(path);
        stream.Write(Header($"'descr': '{descr}', 'fortran_order': False, 'shape': ({rows.Length}, {rows[0].Length}), "));
        foreach (float v in rows.SelectMany(r => r))
            stream.Write(descr == "<f2" ? BitConverter.GetBytes((Half)v) : BitConverter.GetBytes(v));
        return path;
    }

    /// <summary>Magic, version 1.0, header length and the header dictionary, padded so the data starts at a multiple of 64 bytes.</summary>
    public static byte[] Header(string dictionary)
    {
        string header = "{" + dictionary + "}";
        int unpadded = 10 + header.Length + 1;
        header += new string(' ', (64 - unpadded % 64) % 64) + "\n";
        return [0x93, .. "NUMPY"u8.ToArray(), 1, 0, .. BitConverter.GetBytes((ushort)header.Length), .. Encoding.Latin1.GetBytes(header)];
    }
}
