using System.IO.Compression;
using System.Text.Json;
using LSeg.MLNet.Text;
using LSeg.Tests.Shared;

namespace LSeg.MLNet.Tests.Text;

/// <summary>CLIP BPE tokenization against ids produced by OpenAI's own tokenizer (../shared/data/clip).</summary>
public sealed class ClipTokenizerTests
{
    private static readonly Lazy<ClipTokenizer> Tokenizer = new(() => ClipTokenizer.FromBpeFile(SharedData.PathOf("clip", "bpe_simple_vocab_16e6.txt.gz")));

    private static ClipTokenizer RequireTokenizer()
    {
        SharedData.RequireDirectory("clip", "bpe_simple_vocab_16e6.txt.gz");
        return Tokenizer.Value;
    }

    [SkippableFact]
    public void Every_reference_line_is_reproduced_exactly()
    {
        var tokenizer = RequireTokenizer();
        string reference = SharedData.RequireDirectory("clip", "tokenizer-reference.jsonl");
        var mismatches = new List<string>();
        int lines = 0;

        foreach (string line in File.ReadLines(reference))
        {
            if (string.IsNullOrWhiteSpace(line))
                continue;
            using var json = JsonDocument.Parse(line);
            string text = json.RootElement.GetProperty("text").GetString()!;
            int[] expected = json.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var actual = tokenizer.EncodeToIds(text);
            lines++;
            if (!expected.SequenceEqual(actual))
                mismatches.Add($"{JsonSerializer.Serialize(text)}: expected [{string.Join(',', expected)}], got [{string.Join(',', actual)}]");
        }

        Assert.True(lines > 1000, $"only {lines} reference lines read");
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {lines} lines differ:\n" + string.Join('\n', mismatches.Take(20)));
    }

    [SkippableFact]
    public void The_context_is_padded_with_zeros_after_the_end_token()
    {
        var tokenizer = RequireTokenizer();

        int[] context = tokenizer.EncodeToContext("gorilla");

        // OpenAI: "gorilla" → [49406, 21994, 49407].
        Assert.Equal(77, context.Length);
        Assert.Equal([49406, 21994, 49407], context[..3]);
        Assert.All(context[3..], id => Assert.Equal(0, id));
    }

    [SkippableFact]
    public void A_label_longer_than_the_context_is_an_error_naming_it()
    {
        var tokenizer = RequireTokenizer();
        string label = string.Join(' ', Enumerable.Repeat("gorilla", 80));

        var error = Assert.Throws<ArgumentException>(() => tokenizer.EncodeToContext(label));

        Assert.Contains("gorilla gorilla", error.Message);
        Assert.Contains("77", error.Message);
    }

    [SkippableFact]
    public void Truncation_keeps_the_first_tokens_and_ends_with_the_end_token()
    {
        var tokenizer = RequireTokenizer();
        string label = string.Join(' ', Enumerable.Repeat("gorilla", 80));

        int[] context = tokenizer.EncodeToContext(label, truncate: true);

        Assert.Equal(49406, context[0]);
        Assert.All(context[1..76], id => Assert.Equal(21994, id));
        Assert.Equal(49407, context[76]);
    }

    [SkippableFact]
    public void A_plain_text_bpe_file_gives_the_same_ids_as_the_gzipped_one()
    {
        string gz = SharedData.RequireDirectory("clip", "bpe_simple_vocab_16e6.txt.gz");
        string plain = Path.Combine(Path.GetTempPath(), $"clip-bpe-{Guid.NewGuid():N}.txt");
        try
        {
            using (var input = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress))
            using (var output = File.Create(plain))
                input.CopyTo(output);

            var fromPlain = ClipTokenizer.FromBpeFile(plain);

            Assert.Equal(RequireTokenizer().EncodeToIds("Router/modem"), fromPlain.EncodeToIds("Router/modem"));
        }
        finally
        {
            File.Delete(plain);
        }
    }

    [SkippableFact]
    public void A_file_of_the_right_length_whose_lines_are_not_merges_in_learned_order_is_refused_naming_the_first_such_line()
    {
        string gz = SharedData.RequireDirectory("clip", "bpe_simple_vocab_16e6.txt.gz");
        var lines = new List<string>();
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(gz), CompressionMode.Decompress)))
        {
            while (reader.ReadLine() is { } line)
                lines.Add(line);
        }
        // Line 0 is the version header, so merge 5000 is line 5000: two symbols no earlier line built.
        lines[5000] = "zqxj vwkp";
        string broken = Path.Combine(Path.GetTempPath(), $"clip-bpe-{Guid.NewGuid():N}.txt");
        try
        {
            File.WriteAllLines(broken, lines);

            var error = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromBpeFile(broken));

            Assert.Contains("not a BPE merges file: merge 5000, 'zqxj vwkp'", error.Message);
        }
        finally
        {
            File.Delete(broken);
        }
    }

    [Fact]
    public void A_missing_bpe_file_is_reported_by_path()
    {
        var error = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromBpeFile("no-such-dir/bpe.txt.gz"));

        Assert.Contains("no-such-dir/bpe.txt.gz", error.Message);
    }
}
