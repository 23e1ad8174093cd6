using LSeg.Training.Bridge.Quantization;

namespace LSeg.Training.Bridge.Tests.Quantization;

/// <summary>The int8 arithmetic, against values worked out by hand.</summary>
public class QuantizedValuesTests
{
    private static readonly float[] Weights = [1f, -2f, 0.5f, 0.1f, 0.2f, -0.4f];

    [Fact]
    public void Conv_weights_get_one_symmetric_scale_per_output_channel()
    {
        // Rows [1, -2, 0.5] and [0.1, 0.2, -0.4]: scales 2/127 and 0.4/127; 1 / (2/127) = 63.5 rounds to even, 64.
        var (values, scales) = QuantizedValues.SymmetricInt8(Weights, channels: 2, channelsFirst: true);

        Assert.Equal([2f / 127, 0.4f / 127], scales);
        Assert.Equal(new sbyte[] { 64, -127, 32, 32, 64, -127 }, values);
    }

    [Fact]
    public void MatMul_weights_get_one_symmetric_scale_per_column()
    {
        // [2, 3] read as K = 2 rows of N = 3 columns: columns [1, 0.1], [-2, 0.2], [0.5, -0.4].
        var (values, scales) = QuantizedValues.SymmetricInt8(Weights, channels: 3, channelsFirst: false);

        Assert.Equal([1f / 127, 2f / 127, 0.5f / 127], scales);
        Assert.Equal(new sbyte[] { 127, -127, 127, 13, 13, -102 }, values);
    }

    [Fact]
    public void An_all_zero_channel_gets_scale_one_instead_of_dividing_by_zero()
    {
        var (values, scales) = QuantizedValues.SymmetricInt8([0f, 0f, 3f, -3f], channels: 2, channelsFirst: true);

        Assert.Equal([1f, 3f / 127], scales);
        Assert.Equal(new sbyte[] { 0, 0, 127, -127 }, values);
    }

    [Theory]
    [InlineData(2f, 10f, 10f / 255, 0)]     // widened down to 0: a ReLU output
    [InlineData(-1f, 3f, 4f / 255, 64)]     // 1 / (4/255) = 63.75 → 64
    [InlineData(-5f, -1f, 5f / 255, 255)]   // widened up to 0
    public void Activations_get_a_uint8_range_that_contains_zero(float min, float max, float scale, int zeroPoint)
    {
        var (s, z) = QuantizedValues.Uint8(min, max);

        Assert.Equal(scale, s, 7);
        Assert.Equal(zeroPoint, z);
    }

    [Fact]
    public void A_bias_is_int32_at_the_input_scale_times_each_weight_scale()
    {
        var bias = QuantizedValues.BiasInt32([0.5f, -1f], inputScale: 0.1f, weightScales: [0.01f, 0.02f]);

        Assert.Equal([500, -500], bias);
    }
}
