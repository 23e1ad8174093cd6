using LSeg.MLNet.Text;

namespace LSeg.MLNet.Tests.Text;

/// <summary>all-MiniLM-L6-v2 label embeddings: shape, unit norm, semantic neighbourhood, padding independence.</summary>
public sealed class MiniLmTextEncoderTests : IClassFixture<MiniLmTextEncoderTests.EncoderFixture>
{
    /// <summary>One encoder for the class: loading the 90 MB graph takes a second.</summary>
    public sealed class EncoderFixture : IDisposable
    {
        internal MiniLmTextEncoder Encoder { get; } = MiniLmTextEncoder.Create();
        public void Dispose() => Encoder.Dispose();
    }

    private readonly MiniLmTextEncoder _encoder;

    public MiniLmTextEncoderTests(EncoderFixture fixture) => _encoder = fixture.Encoder;

    private static double Dot(float[] a, float[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
            sum += a[i] * b[i];
        return sum;
    }

    [Fact]
    public void Each_label_becomes_one_384_element_vector()
    {
        var embeddings = _encoder.Encode(["a cat", "car", "a very long description of a wooden kitchen table"]);

        Assert.Equal(384, _encoder.EmbeddingSize);
        Assert.Equal(3, embeddings.Length);
        Assert.All(embeddings, e => Assert.Equal(384, e.Length));
    }

    [Fact]
    public void Embeddings_have_unit_length()
    {
        var embeddings = _encoder.Encode(["sky", "a person riding a bicycle"]);

        Assert.All(embeddings, e => Assert.Equal(1.0, Math.Sqrt(Dot(e, e)), 4));
    }

    [Fact]
    public void A_cat_is_nearer_kitten_than_car()
    {
        var e = _encoder.Encode(["a cat", "kitten", "car"]);

        Assert.True(Dot(e[0], e[1]) > Dot(e[0], e[2]) + 0.1,
            $"cos(a cat, kitten) = {Dot(e[0], e[1]):F3} should clearly exceed cos(a cat, car) = {Dot(e[0], e[2]):F3}");
    }

    [Fact]
    public void A_label_gets_the_same_embedding_alone_and_padded_in_a_batch()
    {
        // Mean pooling must ignore the padding added for the longer label of the batch.
        var alone = _encoder.Encode(["dog"])[0];
        var batched = _encoder.Encode(["a dog sleeping on a red sofa next to the window", "dog"])[1];

        Assert.True(Dot(alone, batched) > 0.9999, $"cosine {Dot(alone, batched):F6}");
    }

    [Fact]
    public void Tokenization_is_uncased_wordpiece_with_cls_and_sep()
    {
        // bert-base-uncased vocabulary: [CLS] = 101, [SEP] = 102, "cat" = 4937.
        Assert.Equal([101, 4937, 102], _encoder.Tokenize("Cat"));
    }

    [Fact]
    public void A_label_longer_than_the_context_is_rejected_by_name()
    {
        string label = string.Join(' ', Enumerable.Repeat("zebra", 300));

        var error = Assert.Throws<ArgumentException>(() => _encoder.Encode(["cat", label]));

        Assert.Contains("zebra zebra", error.Message);
    }
}
