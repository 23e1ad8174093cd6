using LSeg.MLNet.Runtime;

namespace LSeg.MLNet.Tests;

/// <summary>
/// ONNX Runtime's managed API reads an output through an int-sized byte span: the image encoder's batches are cut so
/// that their embeddings fit one output, and what cannot fit is refused before a pass runs, naming the size.
/// </summary>
public sealed class OnnxOutputLimitTests
{
    [Theory]
    // The default model (384 values per pixel at 1/2): at input 1024 one image is 384 × 512 × 512 × 4 = 402,653,184
    // bytes, so 5 fit in 2,147,483,647 (5 × 402,653,184 = 2,013,265,920; 6 would be 2,415,919,104).
    [InlineData(384, 1024, 1024, 8, 5)]
    // At 480 × 480 (the README's size) one image is 384 × 240 × 240 × 4 = 88,473,600 bytes: a batch of 8 fits whole.
    [InlineData(384, 480, 480, 8, 8)]
    // At 2048 × 2048 one image is 384 × 1024 × 1024 × 4 = 1,610,612,736 bytes: one per run.
    [InlineData(384, 2048, 2048, 4, 1)]
    public void An_encoder_batch_holds_as_many_images_as_one_output_can_hold(int channels, int width, int height, int batchSize, int expected) =>
        Assert.Equal(expected, OnnxOutputLimit.ImagesPerRun(channels, 2, width, height, batchSize, "inputSize"));

    [Fact]
    public void An_image_whose_embeddings_alone_exceed_one_output_is_refused_naming_the_input_size()
    {
        // The official LSeg's 512 values per pixel at 2048 × 2048: 512 × 1024 × 1024 × 4 = 2^31 bytes, one more than fits.
        var error = Assert.Throws<ArgumentException>(() => OnnxOutputLimit.ImagesPerRun(512, 2, 2048, 2048, 1, "inputSize"));

        Assert.Equal("inputSize", error.ParamName);
        Assert.Contains("At a model input of 2048×2048 one image's pixel embeddings take 2.15 GB", error.Message);
        Assert.Equal(1, OnnxOutputLimit.ImagesPerRun(512, 2, 2048, 2016, 1, "inputSize"));
    }

    [Fact]
    public void Logits_of_many_labels_at_a_large_input_are_refused_naming_the_label_count()
    {
        // 128 labels × 2048 × 2048 × 4 bytes = 2^31: refused; 127 labels fit.
        var error = Assert.Throws<ArgumentException>(() => OnnxOutputLimit.RequireLogitsFit(128, 2048, 2048, "labels"));

        Assert.Contains("128 labels at a model input of 2048×2048 need 2.15 GB of logits", error.Message);
        OnnxOutputLimit.RequireLogitsFit(127, 2048, 2048, "labels");
    }
}
