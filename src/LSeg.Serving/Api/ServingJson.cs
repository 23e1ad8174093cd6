using System.Text.Json;

namespace LSeg.Serving.Api;

/// <summary>
/// The JSON settings of the service's own bodies, read and written: web defaults (camelCase names, case-insensitive
/// reading). Owned here rather than taken from the host's <c>ConfigureHttpJsonOptions</c>, because the wire format is
/// documented and the page reads it: a host that sets PascalCase names for its own API must not rename <c>id</c>.
/// </summary>
internal static class ServingJson
{
    public static JsonSerializerOptions Options => JsonSerializerOptions.Web;
}
