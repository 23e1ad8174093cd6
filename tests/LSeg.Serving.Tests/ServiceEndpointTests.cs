using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.MLNet.Package;

namespace LSeg.Serving.Tests;

/// <summary>GET /v1/model, /healthz, /readyz, the OpenAPI document and the page's assets.</summary>
public sealed class ServiceEndpointTests(ColourPackageFixture colour) : IClassFixture<ColourPackageFixture>, IDisposable
{
    private readonly ServingFactory _server = new(colour.PackagePath);

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task Api_answers_and_its_problems_tell_browsers_not_to_sniff_their_type()
    {
        using var client = _server.CreateClient();

        var model = await client.GetAsync("v1/model");
        var problem = await client.GetAsync("v1/images/no-such-id");

        Assert.Equal(HttpStatusCode.OK, model.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, problem.StatusCode);
        Assert.Equal(["nosniff"], model.Headers.GetValues("X-Content-Type-Options"));
        Assert.Equal(["nosniff"], problem.Headers.GetValues("X-Content-Type-Options"));
    }

    [Fact]
    public async Task Model_answers_the_package_manifest_without_file_hashes()
    {
        using var client = _server.CreateClient();

        var served = JsonNode.Parse(await client.GetStringAsync("v1/model"))!.AsObject();

        // The independent truth: the manifest file of the package on disk, with each file's sha256 removed.
        var onDisk = JsonNode.Parse(File.ReadAllText(Path.Combine(colour.PackagePath, ModelManifest.FileName)))!.AsObject();
        foreach (var (_, file) in onDisk["files"]!.AsObject())
            Assert.True(file!.AsObject().Remove("sha256"));
        Assert.True(JsonNode.DeepEquals(onDisk, served), $"served: {served}\non disk: {onDisk}");
        Assert.DoesNotContain("sha256", served.ToJsonString());
        Assert.Equal("colour-test", served["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Health_and_readiness_are_200_once_the_model_is_loaded()
    {
        using var client = _server.CreateClient();

        var live = await client.GetAsync("healthz");
        var ready = await client.GetAsync("readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_openapi_document_describes_every_api_endpoint_and_nothing_else()
    {
        using var client = _server.CreateClient();

        using var document = JsonDocument.Parse(await client.GetStringAsync("openapi/lseg.json"));

        var paths = document.RootElement.GetProperty("paths");
        Assert.Equal(["/v1/images", "/v1/images/{id}", "/v1/images/{id}/segment", "/v1/model", "/v1/segment"],
            paths.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var segmentBody = paths.GetProperty("/v1/segment").GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("multipart/form-data");
        Assert.Equal(["image", "labels"], segmentBody.GetProperty("schema").GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        var relabelBody = paths.GetProperty("/v1/images/{id}/segment").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(relabelBody.TryGetProperty("application/json", out _));
        var ok = paths.GetProperty("/v1/segment").GetProperty("post").GetProperty("responses").GetProperty("200").GetProperty("content");
        Assert.True(ok.TryGetProperty("application/json", out _) && ok.TryGetProperty("image/png", out _));
        // Statuses the endpoints do answer: a label list over the body limit, deleting an expired image.
        Assert.True(paths.GetProperty("/v1/images/{id}/segment").GetProperty("post").GetProperty("responses").TryGetProperty("413", out _));
        Assert.True(paths.GetProperty("/v1/images/{id}").GetProperty("delete").GetProperty("responses").TryGetProperty("410", out _));
        // Every GET answers 200 with its body, not only its problems.
        Assert.True(paths.GetProperty("/v1/model").GetProperty("get").GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("application/json", out _));
    }

    [Fact]
    public async Task The_openapi_document_types_the_numbers_the_service_writes_as_numbers_only()
    {
        using var client = _server.CreateClient();

        using var document = JsonDocument.Parse(await client.GetStringAsync("openapi/lseg.json"));

        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        var segmentation = schemas.GetProperty("SegmentationResponse").GetProperty("properties");
        var encoded = schemas.GetProperty("EncodedImageResponse").GetProperty("properties");
        // The service writes {"width": 60, "shares": [12.5, 87.5]}; a client generated from ["integer", "string"]
        // would have to accept "60" too.
        Assert.Equal("integer", segmentation.GetProperty("width").GetProperty("type").GetString());
        Assert.Equal("integer", segmentation.GetProperty("height").GetProperty("type").GetString());
        Assert.Equal("number", segmentation.GetProperty("shares").GetProperty("items").GetProperty("type").GetString());
        Assert.Equal("integer", encoded.GetProperty("width").GetProperty("type").GetString());
        Assert.False(segmentation.GetProperty("width").TryGetProperty("pattern", out _));
    }

    [Fact]
    public async Task The_openapi_document_lists_the_formats_the_location_of_an_upload_and_a_problem_status_as_integer()
    {
        using var client = _server.CreateClient();

        using var document = JsonDocument.Parse(await client.GetStringAsync("openapi/lseg.json"));

        var paths = document.RootElement.GetProperty("paths");
        foreach (var operation in new[] { paths.GetProperty("/v1/segment").GetProperty("post"), paths.GetProperty("/v1/images/{id}/segment").GetProperty("post") })
        {
            var format = operation.GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "format");
            Assert.Equal(["json", "png"], format.GetProperty("schema").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        }
        var created = paths.GetProperty("/v1/images").GetProperty("post").GetProperty("responses").GetProperty("201");
        Assert.True(created.GetProperty("headers").TryGetProperty("Location", out _), created.ToString());
        // Problems are written with "status": 400, a JSON number, never a string.
        var status = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("ProblemDetails").GetProperty("properties").GetProperty("status");
        Assert.Equal("integer", status.GetProperty("type").ToString());
        Assert.False(status.TryGetProperty("pattern", out _));
    }

    [Fact]
    public async Task The_page_and_its_assets_are_served_by_the_app_and_load_nothing_from_elsewhere()
    {
        using var client = _server.CreateClient();

        var page = await client.GetAsync("");
        string html = await page.Content.ReadAsStringAsync();
        string script = await client.GetStringAsync("app.js");
        string styles = await client.GetStringAsync("app.css");

        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<base href=\"./\">", html);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        foreach (string text in new[] { html, script, styles })
        {
            Assert.DoesNotContain("http://", text);
            Assert.DoesNotContain("https://", text);
            Assert.DoesNotContain("//cdn", text);
        }
        Assert.Contains("v1/images", script);
        // An icon of its own (an empty data: URL, which the policy's img-src allows): otherwise every browser asks for
        // /favicon.ico, a 404 in the server's log on every load.
        Assert.Contains("<link rel=\"icon\" href=\"data:,\">", html);
    }
}
