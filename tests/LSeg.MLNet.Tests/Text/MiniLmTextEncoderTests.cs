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
    public void A_label_far_over_the_token_limit_is_refused_with_its_start_and_length_not_quoted_whole()
    {
        string pasted = string.Concat(Enumerable.Repeat("dog ", 25_000)); // 100,000 characters

        var error = Assert.Throws<ArgumentException>(() => _encoder.Encode(["cat", pasted]));

        // 25,000 words and the two special tokens.
        Assert.StartsWith("Label 'dog dog dog dog dog dog dog dog dog dog …' (100,000 characters) has 25002 MiniLM tokens", error.Message);
        Assert.True(error.Message.Length < 300, $"a {error.Message.Length}-character message");
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

    /// <summary>Ids of whitespace-separated vocabulary entries, looked up in the package's own vocab.txt, with [CLS] and [SEP].</summary>
    private static int[] VocabularyIds(string tokens)
    {
        var (_, vocabulary) = MiniLmTextEncoder.ReadAssembly(MiniLmTextEncoder.DefaultAssemblyPath);
        var lines = System.Text.Encoding.UTF8.GetString(vocabulary).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        return [.. ("[CLS] " + tokens + " [SEP]").Split(' ').Select(t => lines.IndexOf(t) is int id and >= 0 ? id : throw new InvalidOperationException($"'{t}' is not in the vocabulary"))];
    }

    // Expected tokens written by hand from BERT's uncased BasicTokenizer (what all-MiniLM-L6-v2's tokenizer runs before
    // WordPiece): accents stripped after NFD, ASCII symbols and Unicode punctuation split off as words, tabs and newlines
    // as spaces, format characters (a soft hyphen) removed, CJK ideographs one word each.
    [Theory]
    [InlineData("café", "cafe")]
    [InlineData("Naïve résumé", "naive resume")]
    [InlineData("c++", "c + +")]
    [InlineData("$100 bill", "$ 100 bill")]
    [InlineData("a + b = c", "a + b = c")]
    [InlineData("hot_dog", "hot _ dog")]
    [InlineData("whipped_cream", "whipped _ cream")]
    [InlineData("traffic\tlight", "traffic light")]
    [InlineData("traffic\nlight", "traffic light")]
    [InlineData("co\u00ADat", "coat")]
    [InlineData("t-shirt", "t - shirt")]
    [InlineData("sign symbol", "sign symbol")]
    public void Tokenization_is_bert_uncased_basic_tokenization_then_wordpiece(string label, string tokens)
    {
        Assert.Equal(VocabularyIds(tokens), _encoder.Tokenize(label));
    }

    [Fact]
    public void An_accented_word_is_known_and_means_what_it_means_without_its_accents()
    {
        Assert.False(_encoder.KnowsNoWordOf("café"));
        var e = _encoder.Encode(["café", "cafe"]);
        Assert.True(Dot(e[0], e[1]) > 0.9999, $"cosine {Dot(e[0], e[1]):F6}");
    }

    [Fact]
    public void A_label_longer_than_the_context_is_rejected_by_name()
    {
        string label = string.Join(' ', Enumerable.Repeat("zebra", 300));

        var error = Assert.Throws<ArgumentException>(() => _encoder.Encode(["cat", label]));

        Assert.Contains("zebra zebra", error.Message);
    }
}
