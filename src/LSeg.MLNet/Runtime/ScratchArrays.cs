using System.Buffers;

namespace LSeg.MLNet.Runtime;

/// <summary>
/// Scratch arrays of a label change: rented from <see cref="ArrayPool{T}.Shared"/> up to a size that a segmentation at
/// ordinary input sizes needs, allocated afresh above it. The shared pool keeps what it is given per thread and per core
/// until memory pressure trims it, so one request with thousands of labels would otherwise leave gigabytes cached in it.
/// </summary>
internal static class ScratchArrays
{
    /// <summary>
    /// Elements up to which arrays are pooled: 64 MB of floats, the logits of about 290 labels at input 480 or 64 at
    /// input 1024. Above it each label change allocates its logits afresh (a large-object-heap array per call).
    /// </summary>
    public const int PooledLength = 1 << 24;

    /// <summary>An array of at least <paramref name="length"/> elements; give it back with <see cref="Return{T}"/>.</summary>
    public static T[] Rent<T>(int length) =>
        length <= PooledLength ? ArrayPool<T>.Shared.Rent(length) : GC.AllocateUninitializedArray<T>(length);

    /// <summary>Gives a rented array back to the pool, or to the garbage collector when it was allocated afresh.</summary>
    public static void Return<T>(T[] array)
    {
        if (array.Length <= PooledLength)
            ArrayPool<T>.Shared.Return(array);
    }
}
