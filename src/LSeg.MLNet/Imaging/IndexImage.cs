namespace LSeg.MLNet.Imaging;

/// <summary>An image of 8-bit indices as read from an index PNG (row-major, <c>Pixels[y * Width + x]</c>).</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Pixels">Row-major indices, <paramref name="Width"/> × <paramref name="Height"/> values.</param>
public sealed record IndexImage(int Width, int Height, byte[] Pixels);
