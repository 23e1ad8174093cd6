using LSeg.MLNet.Text;

namespace LSeg.MLNet.Tests.Text;

/// <summary>
/// The default model's text encoder (all-MiniLM-L6-v2, an English WordPiece vocabulary) reads a label of only CJK
/// characters, an emoji or an over-long word as nothing but its unknown token: every such label gets one embedding and
/// a meaningless mask. <see cref="LanguageSegmentationModel.EncodeLabels"/> refuses them, naming the label.
/// </summary>
public sealed class UnreadableLabelTests : IClassFixture<UnreadableLabelTests.DefaultModelFixture>
{
    /// <summary>The default model, loaded once for the class (when this build embeds it).</summary>
    public sealed class DefaultModelFixture : IDisposable
    {
        public LanguageSegmentationModel? Model { get; } = LanguageSegmentationModel.HasDefaultModel ? LanguageSegmentationModel.LoadDefault() : null;
        public void Dispose() => Model?.Dispose();
    }

    private readonly LanguageSegmentationModel? _model;

    public UnreadableLabelTests(DefaultModelFixture fixture) => _model = fixture.Model;

    private LanguageSegmentationModel Model
    {
        get
        {
            Skip.If(_model is null, "this build embeds no default model (models/default/ was absent)");
            return _model!;
        }
    }

    [Fact]
    public void MiniLM_reads_CJK_an_emoji_and_a_1000_letter_word_as_only_the_unknown_token()
    {
        // Why the check exists, from the encoder itself: "猫", the emoji and the long word are [CLS] [UNK] [SEP] (as in
        // BERT's own tokenizer, which keeps the emoji as a word the vocabulary lacks), hence one embedding for all.
        using var miniLm = MiniLmTextEncoder.Create();
        string longWord = new('a', 1000);

        var cat = miniLm.Tokenize("猫");
        var embeddings = miniLm.Encode(["猫", longWord]);

        Assert.Equal(3, cat.Count);
        Assert.Equal(cat, miniLm.Tokenize(longWord));
        Assert.Equal(cat, miniLm.Tokenize("🐱"));
        Assert.Equal(embeddings[0], embeddings[1]);
        Assert.All(new[] { "猫", "🐱", longWord }, label => Assert.True(miniLm.KnowsNoWordOf(label), label));
        Assert.All(new[] { "cat", "cat 🐱", "猫と犬" }, label => Assert.False(miniLm.KnowsNoWordOf(label), label)); // と and 犬 are in the vocabulary
    }

    [SkippableTheory]
    [InlineData("猫")]
    [InlineData("猫猫")]
    [InlineData("🐱")]
    public void A_label_the_text_encoder_knows_no_word_of_is_refused_naming_it(string label)
    {
        var error = Assert.Throws<ArgumentException>(() => Model.EncodeLabels(["cat", label]));

        Assert.Equal("labels", error.ParamName);
        Assert.Contains($"Label '{label}'", error.Message);
        Assert.Contains("knows none of its words", error.Message);
    }

    [SkippableFact]
    public void A_label_cut_in_the_middle_of_a_character_is_refused_naming_it()
    {
        // "cat 🐱" cut after the emoji's first UTF-16 unit: Unicode normalisation inside the tokenizer would throw an
        // ArgumentException about "strInput".
        string cut = "cat 🐱"[..5];

        var error = Assert.Throws<ArgumentException>(() => Model.EncodeLabels(["dog", cut]));

        Assert.Equal("labels", error.ParamName);
        Assert.Contains("Label 1", error.Message);
        Assert.Contains("half of a UTF-16 surrogate pair", error.Message);
    }

    [SkippableFact]
    public void A_single_1000_letter_word_is_refused()
    {
        string longWord = new('a', 1000);

        var error = Assert.Throws<ArgumentException>(() => Model.EncodeLabels([longWord, "sky"]));

        Assert.Contains("knows none of its words", error.Message);
    }

    [SkippableFact]
    public void A_label_mixing_a_known_word_and_an_emoji_is_accepted()
    {
        var labels = Model.EncodeLabels(["cat 🐱", "dog"]);

        Assert.Equal(["cat 🐱", "dog"], labels.Labels);
    }

    [SkippableFact]
    public void Case_variants_are_refused_with_a_message_that_says_case_is_ignored()
    {
        var error = Assert.Throws<ArgumentException>(() => Model.EncodeLabels(["cat", "Cat"]));

        Assert.Contains("'cat' and 'Cat' get the same embedding", error.Message);
        Assert.Contains("differ only in case", error.Message);
    }

    [SkippableFact]
    public void Case_variants_are_refused_even_when_one_was_encoded_before_in_a_longer_batch()
    {
        // "ladybird" first reaches the cache from a batch padded to a long label's length; "Ladybird" is then encoded
        // alone. The text encoder reads both as the same tokens, so they must still count as one label.
        Model.EncodeLabels(["ladybird", "traffic light pole beside a long brick wall"]);

        var error = Assert.Throws<ArgumentException>(() => Model.EncodeLabels(["ladybird", "Ladybird"]));

        Assert.Contains("'ladybird' and 'Ladybird'", error.Message);
    }
}
