using LSeg.MLNet.Text;

namespace LSeg.MLNet.Tests.Text;

public class PromptedTextEncoderTests
{
    // Records what it was asked to encode; each text becomes a vector that depends only on its length and first letter.
    private sealed class RecordingEncoder : ILabelTextEncoder
    {
        public List<string> Seen { get; } = [];

        public int EmbeddingSize => 3;

        public float[][] Encode(IReadOnlyList<string> labels)
        {
            Seen.AddRange(labels);
            return labels.Select(l => new float[] { l.Length, l[0], 2 }).ToArray();
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public void OneTemplateEncodesTheFilledInPromptAsItIs()
    {
        var inner = new RecordingEncoder();
        using var encoder = new PromptedTextEncoder(inner, ["a photo of a {0}."]);

        var vectors = encoder.Encode(["cat", "dog"]);

        Assert.Equal(["a photo of a cat.", "a photo of a dog."], inner.Seen);
        Assert.Equal(new float[] { 17, 'a', 2 }, vectors[0]);
    }

    [Fact]
    public void SeveralTemplatesGiveTheMeanOfTheNormalisedPromptEmbeddings()
    {
        var inner = new RecordingEncoder();
        using var encoder = new PromptedTextEncoder(inner, ["{0}", "a {0}"]);

        var vectors = encoder.Encode(["cat"]);

        // By hand: "cat" → (3, 99, 2), "a cat" → (5, 97, 2); normalise each, then average.
        double n1 = Math.Sqrt(3 * 3 + 99 * 99 + 2 * 2), n2 = Math.Sqrt(5 * 5 + 97 * 97 + 2 * 2);
        float[] expected = [(float)((3 / n1 + 5 / n2) / 2), (float)((99 / n1 + 97 / n2) / 2), (float)((2 / n1 + 2 / n2) / 2)];
        Assert.Equal(["cat", "a cat"], inner.Seen);
        for (int i = 0; i < 3; i++)
            Assert.Equal(expected[i], vectors[0][i], 6);
    }

    // Refuses texts over 20 characters, naming the text it was given, as the real encoders name a too-long text.
    private sealed class ShortTextEncoder : ILabelTextEncoder
    {
        public int EmbeddingSize => 3;

        public float[][] Encode(IReadOnlyList<string> labels) => labels.Select(l => l.Length <= 20
            ? new float[] { 1, 2, 3 }
            : throw new ArgumentException($"Label '{l}' has {l.Length} tokens; the text encoder accepts at most 20.", nameof(labels))).ToArray();

        public void Dispose()
        {
        }
    }

    [Fact]
    public void ALabelTooLongOnceInAPromptIsNamedWithThePrompt()
    {
        using var encoder = new PromptedTextEncoder(new ShortTextEncoder(), ["{0}", "a photo of a {0}."]);

        // 12 characters pass alone and fail in the second prompt (29).
        var error = Assert.Throws<ArgumentException>(() => encoder.Encode(["cat", "spotted bird"]));

        Assert.StartsWith("Label 'spotted bird' cannot be encoded in this model's prompt 'a photo of a {0}.', which adds tokens: in that prompt it has 26 tokens; the text encoder accepts at most 20. Shorten it, or set LanguageSegmentationModelOptions.TruncateLongLabels", error.Message);
        Assert.Equal("labels", error.ParamName);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(error.Message, @"\(Parameter 'labels'\)"));
    }

    [Fact]
    public void ALabelTooLongInTheBarePromptIsNamedOnceWithWhatToDo()
    {
        using var encoder = new PromptedTextEncoder(new ShortTextEncoder(), ["{0}", "a photo of a {0}."]);

        var error = Assert.Throws<ArgumentException>(() => encoder.Encode(["a label of twenty-five chars"]));

        Assert.StartsWith("Label 'a label of twenty-five chars' has 28 tokens; the text encoder accepts at most 20. Shorten it, or set LanguageSegmentationModelOptions.TruncateLongLabels", error.Message);
        Assert.DoesNotContain("prompt", error.Message);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(error.Message, @"\(Parameter 'labels'\)"));
    }

    [Theory]
    [InlineData("a photo")]
    [InlineData("{0} and {0}")]
    [InlineData("a {1} {0}")]
    [InlineData("a photo of {{0}}")] // a literal "{0}": every label would be the same text
    [InlineData("{{0}} {0} {0}")]
    public void ATemplateWithoutExactlyOneLabelPlaceholderIsRefused(string template)
    {
        var error = Assert.Throws<ArgumentException>(() => new PromptedTextEncoder(new RecordingEncoder(), [template]));
        Assert.Contains(template, error.Message);
    }

    [Theory]
    [InlineData("{{0}} means {0}", "{0} means cat")]
    [InlineData("a {0,-5}!", "a cat  !")]
    public void ATemplateWhoseOnlyPlaceholderIsFormattedDifferentlyIsAccepted(string template, string prompt)
    {
        var inner = new RecordingEncoder();
        using var encoder = new PromptedTextEncoder(inner, [template]);

        encoder.Encode(["cat"]);

        Assert.Equal([prompt], inner.Seen);
    }
}
