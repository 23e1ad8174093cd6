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
}
