using LSeg.MLNet.Imaging;

namespace LSeg.MLNet.Tests;

/// <summary>
/// A mask PNG stores 8-bit label indices (0 to 255), so it holds 256 labels; the result's <see cref="SegmentationResult.Mask"/>
/// (int[]) holds any number, and the low-level API segments with more.
/// </summary>
public sealed class MaskPngLimitTests
{
    private static SegmentationResult Result(int labelCount)
    {
        string[] labels = [.. Enumerable.Range(0, labelCount).Select(i => $"label {i}")];
        int[] mask = [0, labelCount - 1]; // the first and the last label
        var counts = new long[labelCount];
        counts[0] = counts[^1] = 1;
        return new SegmentationResult(2, 1, labels, mask, [1f, 1f], counts, null);
    }

    [Fact]
    public void A_result_with_256_labels_writes_a_mask_png_whose_last_index_is_255()
    {
        var png = IndexPng.Decode(Result(256).ToMaskPng());

        Assert.Equal([0, 255], png.Pixels);
    }

    [Fact]
    public void A_result_with_more_than_256_labels_refuses_a_mask_png_and_points_to_Mask()
    {
        var result = Result(300);

        var error = Assert.Throws<InvalidOperationException>(() => result.ToMaskPng());

        Assert.Equal(299, result.Mask[1]);
        Assert.Contains("has 300 labels; a mask PNG holds 8-bit label indices (0 to 255), so at most 256 labels", error.Message);
        Assert.Contains("Mask", error.Message);
    }

    [Fact]
    public void A_png_header_whose_row_length_overflows_an_int_is_refused_as_invalid_data()
    {
        // width + 1 (the filter byte of each row) is past int.MaxValue: computed in int it wrapped negative and passed.
        var error = Assert.Throws<InvalidDataException>(() => IndexPng.Decode(Png(("IHDR", Header(int.MaxValue, 1)), ("IEND", []))));

        Assert.Contains("is more than a label map may have", error.Message);
    }

    [Fact]
    public void A_mask_value_that_is_no_label_is_refused_rather_than_wrapped_into_a_byte()
    {
        var result = Result(3);
        result.Mask[1] = 300; // a caller's edit: 300 would be written as 44

        var error = Assert.Throws<InvalidOperationException>(() => result.ToMaskPng());

        Assert.Contains("Mask holds 300 at pixel (1, 0), which is no label's index (0 to 2)", error.Message);
    }

    // A PNG of the given chunks, each with a correct CRC (the reader checks them before it reads a chunk).
    private static byte[] Png(params (string Type, byte[] Data)[] chunks) => LSeg.Tests.Shared.RawPng.Chunks(chunks);

    private static byte[] Header(int width, int height) =>
        [.. BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(width)),
         .. BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(height)), 8, 0, 0, 0, 0];

    [Fact]
    public void A_png_whose_header_chunk_is_cut_short_is_refused_as_invalid_data()
    {
        var error = Assert.Throws<InvalidDataException>(() => IndexPng.Decode(Png(("IHDR", [0, 0, 0, 2, 0]), ("IEND", []))));

        Assert.Contains("the IHDR chunk holds 5 bytes; a PNG header has 13", error.Message);
    }

    [Fact]
    public void A_png_header_claiming_more_pixels_than_an_array_holds_is_refused_before_anything_is_allocated()
    {
        var error = Assert.Throws<InvalidDataException>(() => IndexPng.Decode(Png(("IHDR", Header(100_000, 100_000)), ("IEND", []))));

        Assert.Contains("100000×100000 is more than a label map may have", error.Message);
    }
}
