using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.MLNet;
using LSeg.MLNet.Package;

/// <summary>Writes a copy of a model package whose text encoder is a fixed label table.</summary>
internal static class TablePackage
{
    private const string TableFile = "label_table.json";

    public static void Write(string source, string destination, string[] labels)
    {
        using var model = LanguageSegmentationModel.Load(source);
        var embeddings = model.EncodeLabels(labels);
        var table = new Dictionary<string, float[]>();
        for (int i = 0; i < labels.Length; i++)
            table[labels[i]] = embeddings.Values.Slice(i * embeddings.EmbeddingSize, embeddings.EmbeddingSize).ToArray();

        Directory.CreateDirectory(destination);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(source, ModelManifest.FileName)))!.AsObject();
        foreach (var (name, _) in manifest["files"]!.AsObject())
            File.Copy(Path.Combine(source, name), Path.Combine(destination, name), overwrite: true);
        string tablePath = Path.Combine(destination, TableFile);
        File.WriteAllText(tablePath, JsonSerializer.Serialize(table));
        manifest["textEncoder"] = new JsonObject { ["kind"] = "table", ["table"] = TableFile, ["contextLength"] = 0 };
        manifest["files"]![TableFile] = new JsonObject
        {
            ["bytes"] = new FileInfo(tablePath).Length,
            ["sha256"] = ModelManifest.Sha256OfFile(tablePath),
        };
        File.WriteAllText(Path.Combine(destination, ModelManifest.FileName), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {destination}: {labels.Length} labels in {TableFile}");
    }
}
