using System.Text.Json;

namespace LSeg.Serving.Api;

/// <summary>
/// The JSON settings of the service's own bodies, read and written: web defaults (camelCase names, case-insensitive
/// reading). Owned here rather than taken from the host's <c>ConfigureHttpJsonOptions</c>, because the wire format is
/// documented and the page reads it: a host that sets PascalCase names for its own API must not rename <c>id</c>.
/// </summary>
/// <remarks>
/// Written with the relaxed encoder: the default one escapes '+', '\'' and '"' as \u002B and the like, which made every
/// base64 mask (about one '+' in 64 characters) some 9% larger. These bodies are application/json only, never embedded in
/// HTML, which is what that escaping guards against. Problem+json is written by ASP.NET Core's problem-details service
/// with the host's JSON settings, so that the host's customisations apply to it as to its own problems.
/// </remarks>
internal static class ServingJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerOptions.Web) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
