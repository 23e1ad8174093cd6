using System.Text.Json.Nodes;

namespace LSeg.Orleans.Tests;

/// <summary>The lines of a job's <c>index.jsonl</c>, parsed.</summary>
internal sealed record IndexFile(IReadOnlyList<JsonObject> Lines)
{
    public static IndexFile Read(string outputDirectory)
    {
        string path = Path.Combine(outputDirectory, "index.jsonl");
        string text = File.ReadAllText(path);
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "index.jsonl must end with a complete line");
        return new IndexFile(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList());
    }

    /// <summary>Number of lines in the index file now (complete or not), for watching a running job.</summary>
    public static int CountLines(string outputDirectory) => TextSoFar(outputDirectory).Count(c => c == '\n');

    /// <summary>Number of complete lines written by <paramref name="silo"/> so far, for watching a running job.</summary>
    public static int CountLinesOf(string outputDirectory, string silo)
    {
        string text = TextSoFar(outputDirectory);
        // Only complete lines: the last one may still be being written.
        return text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Count(line => JsonNode.Parse(line)!["silo"]?.GetValue<string>() == silo);
    }

    // The index as a running job has written it so far ("" before it exists).
    private static string TextSoFar(string outputDirectory)
    {
        string path = Path.Combine(outputDirectory, "index.jsonl");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return "";
        }
    }

    public IEnumerable<string> Images => Lines.Select(l => l["image"]!.GetValue<string>());

    public JsonObject For(string image) => Lines.Single(l => l["image"]!.GetValue<string>() == image);

    /// <summary>Asserts one line per image of <paramref name="images"/> and no other line.</summary>
    public void RequireExactlyOnce(IEnumerable<string> images)
    {
        var expected = images.Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToArray();
        var actual = Images.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, actual);
    }
}
