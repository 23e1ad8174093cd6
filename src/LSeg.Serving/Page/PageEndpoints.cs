using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LSeg.Serving.Page;

/// <summary>
/// The browser page at the root of the mapped routes (<c>/</c>, <c>app.js</c>, <c>app.css</c>), embedded in this
/// assembly: it works offline, and its Content-Security-Policy lets it load nothing from anywhere but this server.
/// </summary>
internal static class PageEndpoints
{
    private const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'";

    private static readonly Lazy<string> Html = new(() => ReadResource("index.html"));
    private static readonly Lazy<string> Script = new(() => ReadResource("app.js"));
    private static readonly Lazy<string> Styles = new(() => ReadResource("app.css"));

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/", (HttpContext context) =>
        {
            // Relative URLs in the page resolve against where it is mounted (a path base or a route prefix), so the base is
            // relative too: behind a proxy that strips a prefix (/lseg/ → /) an absolute "/" would send every asset and API
            // call to the proxy's root. "/lseg" (no slash) gets "lseg/": its URLs must resolve below it, not beside it.
            // The path base counts too: after UsePathBase("/app"), "/app" arrives as path base "/app" and path "".
            string path = context.Request.PathBase.Add(context.Request.Path).Value ?? "";
            string baseHref = path.Length == 0 || path.EndsWith('/') ? "./" : Uri.EscapeDataString(path[(path.LastIndexOf('/') + 1)..]) + "/";
            return Asset(context, Html.Value.Replace("{{base}}", System.Net.WebUtility.HtmlEncode(baseHref), StringComparison.Ordinal), "text/html; charset=utf-8");
        }).ExcludeFromDescription();
        group.MapGet("/app.js", (HttpContext context) => Asset(context, Script.Value, "text/javascript; charset=utf-8")).ExcludeFromDescription();
        group.MapGet("/app.css", (HttpContext context) => Asset(context, Styles.Value, "text/css; charset=utf-8")).ExcludeFromDescription();
    }

    private static IResult Asset(HttpContext context, string content, string contentType)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-cache";
        return Results.Text(content, contentType);
    }

    private static string ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("LSeg.Serving.Page/" + name)
            ?? throw new InvalidOperationException($"The page asset '{name}' is not embedded in LSeg.Serving.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
