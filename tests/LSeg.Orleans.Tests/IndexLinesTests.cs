using System.Text.Json.Nodes;
using LSeg.Orleans.Jobs;
using LSeg.Orleans.Workers;

namespace LSeg.Orleans.Tests;

/// <summary>The lines of index.jsonl, a data file people search with grep.</summary>
public sealed class IndexLinesTests
{
    [Fact]
    public void Paths_and_labels_are_written_as_they_are_not_as_unicode_escapes_and_read_back_the_same()
    {
        var item = new ImageWorkItem(0, "/photos/ñandú café.jpg", "ñandú café.mask.png");

        string line = IndexLines.Lost(item, ["café", "señal de tráfico", "猫"], attempts: 2);

        // The default encoder wrote "caf\u00E9", which grep 'café' does not find.
        Assert.Contains("\"/photos/ñandú café.jpg\"", line);
        Assert.Contains("\"señal de tráfico\"", line);
        Assert.Contains("\"猫\"", line);
        Assert.DoesNotContain("\\u00", line);
        var parsed = JsonNode.Parse(line)!;
        Assert.Equal("/photos/ñandú café.jpg", parsed["image"]!.GetValue<string>());
        Assert.Equal("café", parsed["labels"]![0]!.GetValue<string>());
    }

    [Fact]
    public void A_quote_a_backslash_and_a_control_character_in_a_path_stay_escaped()
    {
        var item = new ImageWorkItem(0, "/photos/a \"b\" \\ c\n.jpg", "x.mask.png");

        string line = IndexLines.Lost(item, ["dog"], attempts: 1);

        Assert.DoesNotContain('\n', line); // one line per image
        Assert.Equal("/photos/a \"b\" \\ c\n.jpg", JsonNode.Parse(line)!["image"]!.GetValue<string>());
    }
}
