using System.Text.Json.Nodes;
using LSeg.MLNet.Package;

namespace LSeg.Serving.Api;

/// <summary><c>GET /v1/model</c>: the served package's manifest as JSON, without the files' sha256 (sizes stay).</summary>
internal static class ModelDescription
{
    public static JsonObject Of(ModelManifest manifest)
    {
        var json = JsonNode.Parse(manifest.ToJson())!.AsObject();
        if (json["files"] is JsonObject files)
        {
            foreach (var (_, file) in files)
                (file as JsonObject)?.Remove("sha256");
        }
        return json;
    }
}
