using System.Net;
using System.Net.Http.Json;
using LSeg.Serving.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LSeg.Serving.Tests;

/// <summary>
/// Hosting the library: options checked at start, a route prefix, a clear error when a piece is missing, and a
/// graceful shutdown that finishes the requests in flight.
/// </summary>
public sealed class HostingTests(ColourPackageFixture colour) : IClassFixture<ColourPackageFixture>
{
    [Theory]
    [InlineData("MaxLabels", 0)]
    [InlineData("MaxLabels", 300)]
    [InlineData("MaxConcurrentInferences", 0)]
    [InlineData("ImageCacheMegabytes", 0)]
    [InlineData("MaxImageBytes", -1)]
    [InlineData("MaxImageBytes", long.MaxValue)] // would overflow the body limit and refuse every upload
    [InlineData("MaxImagePixels", 600_000_000)] // 4-byte pixels past one array's 2 GB
    [InlineData("MaxLabelLength", int.MaxValue)] // a label-change body limit of terabytes
    public void A_bad_option_stops_the_start_and_is_named(string option, long value)
    {
        using var server = new ServingFactory(colour.PackagePath, options =>
            typeof(LanguageSegmentationServingOptions).GetProperty(option)!.SetValue(options, Convert.ChangeType(value, typeof(LanguageSegmentationServingOptions).GetProperty(option)!.PropertyType)));

        var error = Assert.Throws<OptionsValidationException>(() => server.CreateClient());

        Assert.Contains($"{option} is {value}", error.Message);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(4096)]
    public void An_input_size_the_model_cannot_run_at_stops_the_start_and_is_named(int size)
    {
        using var server = new ServingFactory(colour.PackagePath, options => options.InputSize = size);

        var error = Assert.Throws<OptionsValidationException>(() => server.CreateClient());

        Assert.Contains($"InputSize is {size}; it must be 32 to 2048", error.Message);
    }

    [Fact]
    public void An_image_lifetime_meant_as_never_stops_the_start_instead_of_failing_every_upload()
    {
        using var server = new ServingFactory(colour.PackagePath, options => options.ImageTimeToLive = TimeSpan.MaxValue);

        var error = Assert.Throws<OptionsValidationException>(() => server.CreateClient());

        Assert.Contains("ImageTimeToLive is", error.Message);
        Assert.Contains("at most 365 days", error.Message);
    }

    [Fact]
    public void An_unbounded_queue_or_upload_time_stops_the_start_and_is_named()
    {
        // int.MaxValue meant as "no bound": slots + queue would overflow the admission count.
        using var unboundedQueue = new ServingFactory(colour.PackagePath, options => options.MaxQueuedRequests = int.MaxValue);
        using var endlessUpload = new ServingFactory(colour.PackagePath, options => options.UploadTimeout = Timeout.InfiniteTimeSpan);

        var queue = Assert.Throws<OptionsValidationException>(() => unboundedQueue.CreateClient());
        var upload = Assert.Throws<OptionsValidationException>(() => endlessUpload.CreateClient());

        Assert.Contains("MaxConcurrentInferences + MaxQueuedRequests is 2,147,483,649", queue.Message);
        Assert.Contains("UploadTimeout is -00:00:00.0010000; it must be 1 second to 60 minutes", upload.Message);
    }

    [Fact]
    public void A_model_path_that_is_not_a_package_stops_the_start()
    {
        using var server = new ServingFactory(Path.Combine(colour.PackagePath, "no-such-folder"));

        var error = Assert.Throws<OptionsValidationException>(() => server.CreateClient());

        Assert.Contains("no-such-folder", error.Message);
        Assert.Contains("ModelPath", error.Message);
    }

    [SkippableFact]
    public void A_cache_too_small_for_one_image_of_the_model_stops_the_start()
    {
        Skip.IfNot(LSeg.MLNet.LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");
        // The default model's input size is 320 and it has a pixel projection: a square photo leaves a 160×160 grid of its
        // 128 decoder features + 1 norm, 160·160·129·4 bytes = 12.6 MiB.
        using var server = new ServingFactory(modelPath: null, options => options.ImageCacheMegabytes = 12);

        var error = Assert.Throws<InvalidOperationException>(() => server.CreateClient());

        Assert.Contains("ImageCacheMegabytes = 12", error.Message);
        Assert.Contains("12.6 MiB", error.Message);
    }

    [SkippableFact]
    public void The_cache_check_at_start_up_sizes_one_image_at_the_configured_input_size()
    {
        Skip.IfNot(LSeg.MLNet.LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");
        // At input size 640 a square photo leaves a 320×320 grid of 129 floats: 320·320·129·4 bytes = 50.4 MiB, which
        // 40 MiB cannot hold although it holds the 12.6 MiB of the model's own size.
        using var server = new ServingFactory(modelPath: null, options => (options.ImageCacheMegabytes, options.InputSize) = (40, 640));

        var error = Assert.Throws<InvalidOperationException>(() => server.CreateClient());

        Assert.Contains("50.4 MiB at input size 640", error.Message);
    }

    [Fact]
    public async Task Under_a_route_prefix_outside_ASCII_an_upload_is_created_with_an_escaped_location()
    {
        await using var app = TestHostServing().Build();
        app.MapLanguageSegmentation("/café");
        await app.StartAsync();
        using var client = app.GetTestClient();

        var created = await client.PostAsync("caf%C3%A9/v1/images", ApiClient.Upload(Pictures.RedLeftBlueRight(96, 64), labels: null));
        string id = System.Text.Json.Nodes.JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var described = await client.GetAsync(created.Headers.Location);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/caf%C3%A9/v1/images/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.OK, described.StatusCode);
    }

    [Fact]
    public void Mapping_without_the_services_names_the_missing_call()
    {
        var app = WebApplication.CreateBuilder().Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapLanguageSegmentation());

        Assert.Contains("AddLanguageSegmentation", error.Message);
    }

    [Fact]
    public async Task The_hosts_own_endpoint_names_and_json_settings_leave_the_service_and_its_wire_format_alone()
    {
        var builder = TestHostServing();
        // A host with a PascalCase API of its own, and an endpoint named as one of the service's operations.
        builder.Services.ConfigureHttpJsonOptions(options => (options.SerializerOptions.PropertyNamingPolicy, options.SerializerOptions.PropertyNameCaseInsensitive) = (null, false));
        await using var app = builder.Build();
        app.MapGet("/photos/{id}", (string id) => Results.Ok(new { Id = id })).WithName("GetImage");
        app.MapLanguageSegmentation("/lseg");
        await app.StartAsync();
        using var client = app.GetTestClient();
        byte[] image = Pictures.RedLeftBlueRight(96, 64);

        var created = await client.PostAsync("lseg/v1/images", ApiClient.Upload(image, labels: null));
        var body = System.Text.Json.Nodes.JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        string id = body["id"]!.GetValue<string>();
        var relabelled = await client.PostAsync($"lseg/v1/images/{id}/segment", JsonContent.Create(new { labels = new[] { "red", "blue" } }));
        var photo = await client.GetStringAsync("photos/7");
        using var document = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("lseg/openapi/lseg.json"));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/lseg/v1/images/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal(96, body["width"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, relabelled.StatusCode);
        Assert.Equal(["red", "blue"], System.Text.Json.Nodes.JsonNode.Parse(await relabelled.Content.ReadAsStringAsync())!["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal("{\"Id\":\"7\"}", photo);
        // The document names the response properties as the service writes them, not with the host's PascalCase.
        var created201 = document.RootElement.GetProperty("paths").GetProperty("/lseg/v1/images").GetProperty("post").GetProperty("responses").GetProperty("201")
            .GetProperty("content").GetProperty("application/json").GetProperty("schema");
        var schema = created201.TryGetProperty("$ref", out var reference)
            ? document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1])
            : created201;
        Assert.Equal(["expiresAt", "height", "id", "width"], schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Mapping_the_service_twice_is_refused_naming_the_first_prefix()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Services.AddLanguageSegmentation(options => options.ModelPath = colour.PackagePath);
        var app = builder.Build();
        app.MapLanguageSegmentation("/a");

        var error = Assert.Throws<InvalidOperationException>(() => app.MapLanguageSegmentation("/b"));

        Assert.Contains("already called in this application (prefix '/a')", error.Message);
    }

    [Fact]
    public async Task Under_a_route_prefix_the_api_and_the_page_live_below_it()
    {
        await using var app = TestHostServing().Build();
        app.MapLanguageSegmentation("/lseg");
        await app.StartAsync();
        using var client = app.GetTestClient();
        byte[] image = Pictures.RedLeftBlueRight(96, 64);

        var prefixed = await client.PostAsync("lseg/v1/segment", ApiClient.Upload(image, "red, blue"));
        string page = await client.GetStringAsync("lseg/");
        string pageWithoutSlash = await client.GetStringAsync("lseg");
        var ready = await client.GetAsync("lseg/readyz");

        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, image, "red", "blue")), (await prefixed.ReadSegmentationAsync()).MaskIndices);
        // Relative, so that the page still works behind a proxy that strips the prefix (it sees "/", the browser "/lseg/").
        Assert.Contains("<base href=\"./\">", page);
        Assert.Contains("<base href=\"lseg/\">", pageWithoutSlash);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("v1/segment", ApiClient.Upload(image, "red"))).StatusCode);
    }

    [Fact]
    public async Task Authorization_on_the_group_guards_the_api_and_page_while_the_probes_stay_anonymous()
    {
        // As docs/serving.md shows it: app.MapLanguageSegmentation().RequireAuthorization(), here with a scheme that never
        // authenticates. A kubelet's probe carries no credentials; a 401 on /readyz would keep the pod out of service.
        var builder = TestHostServing();
        builder.Services.AddAuthentication(NoCredentialsHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, NoCredentialsHandler>(NoCredentialsHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapLanguageSegmentation().RequireAuthorization();
        await app.StartAsync();
        using var client = app.GetTestClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("v1/model")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("v1/segment", ApiClient.Upload(Pictures.RedLeftBlueRight(96, 64), "red, blue"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("")).StatusCode);
    }

    /// <summary>An authentication scheme that finds no credentials in any request.</summary>
    private sealed class NoCredentialsHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, System.Text.Encodings.Web.UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "NoCredentials";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
    }

    [Fact]
    public async Task Shutdown_serves_queued_requests_until_shortly_before_its_timeout_then_refuses_them_and_waits_for_the_running_ones()
    {
        // A 4 s shutdown timeout: queued requests are refused a quarter of it (1 s) before it ends, at 3 s.
        var server = new ServingFactory(colour.PackagePath, options => (options.MaxConcurrentInferences, options.MaxQueuedRequests) = (1, 1),
            shutdownTimeout: TimeSpan.FromSeconds(4));
        Uri address = server.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = address };
        byte[] image = Pictures.GreenTopYellowBottom(64, 96);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("readyz")).StatusCode);

        // The test holds the one model slot, as a running request would; a request waits in the queue behind it when the
        // host is told to stop.
        var served = server.Services.GetRequiredService<ServedModel>();
        var running = await server.Queue.EnterAsync(InferenceQueue.Work.ImageEncoding, CancellationToken.None);
        var queued = client.SegmentAsync(image, "green, yellow");
        await QueueTests.WaitUntil(() => server.Queue.Queued(InferenceQueue.Work.ImageEncoding) == 1);
        var stopping = server.DisposeAsync().AsTask();

        // Still waiting for its slot once shutdown has begun: the slot might free up in time.
        await QueueTests.WaitUntil(() => !served.IsReady);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(queued.IsCompleted, "a queued request was refused as soon as shutdown began");
        // Then answered 503 before the timeout, while the running work still holds its slot: had it waited to the end,
        // Kestrel would have reset its connection instead.
        var refused = await queued.WaitAsync(TimeSpan.FromSeconds(30));
        await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "shutting-down");
        Assert.False(stopping.IsCompleted, "the host stopped while work was running the model");

        running.Dispose();
        await stopping;

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("readyz"));
    }

    [Theory]
    [InlineData(30_000, 25_000)]
    [InlineData(4_000, 3_000)]
    [InlineData(0, 0)]
    public void Queued_requests_are_refused_a_quarter_of_the_shutdown_timeout_before_it_ends_at_most_5_s(int timeoutMs, int refusedAtMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(refusedAtMs), ServedModel.QueueRefusalDelay(TimeSpan.FromMilliseconds(timeoutMs)));

    [Fact]
    public void Queued_requests_are_never_refused_early_under_an_infinite_shutdown_timeout() =>
        Assert.Equal(Timeout.InfiniteTimeSpan, ServedModel.QueueRefusalDelay(Timeout.InfiniteTimeSpan));

    [Fact]
    public async Task Rate_limiting_on_the_group_limits_the_api_while_the_probes_stay_unlimited()
    {
        // app.MapLanguageSegmentation().RequireRateLimiting(...): 3 requests per 30 s. A probe answered 429 would get a
        // healthy instance restarted or taken out of rotation; the probes are not the API's conventions to limit.
        var builder = TestHostServing();
        builder.Services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddFixedWindowLimiter("fixed", window => (window.PermitLimit, window.Window, window.QueueLimit) = (3, TimeSpan.FromSeconds(30), 0));
        });
        await using var app = builder.Build();
        app.UseRateLimiter();
        app.MapLanguageSegmentation("/lseg").RequireRateLimiting("fixed");
        await app.StartAsync();
        using var client = app.GetTestClient();

        var probes = new List<HttpStatusCode>();
        for (int i = 0; i < 5; i++)
        {
            probes.Add((await client.GetAsync("lseg/healthz")).StatusCode);
            probes.Add((await client.GetAsync("lseg/readyz")).StatusCode);
        }
        var api = new List<HttpStatusCode>();
        for (int i = 0; i < 4; i++)
            api.Add((await client.GetAsync("lseg/v1/model")).StatusCode);

        Assert.All(probes, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], api);
    }

    [Fact]
    public async Task Behind_a_path_base_the_openapi_document_names_the_server_its_paths_are_called_on()
    {
        await using var app = TestHostServing().Build();
        app.UsePathBase("/base");
        app.MapLanguageSegmentation("/lseg");
        await app.StartAsync();
        using var client = app.GetTestClient();
        byte[] image = Pictures.RedLeftBlueRight(96, 64);

        using var document = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("base/lseg/openapi/lseg.json"));
        string server = document.RootElement.GetProperty("servers")[0].GetProperty("url").GetString()!;
        string segmentPath = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).Single(p => p.EndsWith("/v1/segment", StringComparison.Ordinal));
        // What a generated client does: the server's URL, then the operation's path.
        var response = await client.PostAsync(new Uri(server.TrimEnd('/') + segmentPath), ApiClient.Upload(image, "red, blue"));

        Assert.Equal("http://localhost/base", server);
        Assert.Equal("/lseg/v1/segment", segmentPath);
        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, image, "red", "blue")), (await response.ReadSegmentationAsync()).MaskIndices);
    }

    [Fact]
    public void A_model_path_to_a_folder_without_a_manifest_stops_the_start_naming_the_option()
    {
        using var folder = new LSeg.MLNet.Tests.Packages.TemporaryDirectory();
        using var server = new ServingFactory(folder.Path);

        var error = Assert.Throws<OptionsValidationException>(() => server.CreateClient());

        Assert.Contains($"ModelPath '{folder.Path}'", error.Message);
        Assert.Contains("manifest.json", error.Message);
    }

    [SkippableTheory]
    [InlineData("")]
    [InlineData("  ")]
    public async Task An_empty_model_path_counts_as_not_set_and_serves_the_default_model(string path)
    {
        // LSeg__ModelPath= in a container's environment binds an empty string, not null.
        Skip.IfNot(LSeg.MLNet.LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");
        using var server = new ServingFactory(path);
        using var client = server.CreateClient();

        var served = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync("v1/model"))!;

        var packaged = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(LSeg.Tests.Shared.SharedData.RepositoryRoot, "models", "default", "manifest.json")))!;
        Assert.Equal(packaged["name"]!.GetValue<string>(), served["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Under_a_path_base_the_page_resolves_its_assets_below_it_with_or_without_the_trailing_slash()
    {
        await using var app = TestHostServing().Build();
        app.UsePathBase("/app");
        app.MapLanguageSegmentation();
        await app.StartAsync();
        using var client = app.GetTestClient();

        string withSlash = await client.GetStringAsync("app/");
        string withoutSlash = await client.GetStringAsync("app");

        Assert.Contains("<base href=\"./\">", withSlash);
        Assert.Contains("<base href=\"app/\">", withoutSlash); // "/app" + "app/" → "/app/app.js", not "/app.js"
    }

    [Fact]
    public async Task A_slow_upload_through_middleware_that_replaced_the_body_still_gives_its_admission_back()
    {
        // Request buffering (as body logging or decompression do) replaces the body stream: the form reads that stream,
        // so the deadline cannot stop the read and the connection is aborted instead.
        var builder = WebApplication.CreateBuilder();
        Microsoft.AspNetCore.Hosting.WebHostBuilderKestrelExtensions.UseKestrel(builder.WebHost, options => options.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddLanguageSegmentation(options =>
        {
            options.ModelPath = colour.PackagePath;
            options.MaxConcurrentInferences = 1;
            options.MaxQueuedRequests = 0;
            options.UploadTimeout = TimeSpan.FromSeconds(1);
        });
        await using var app = builder.Build();
        app.Use((context, next) =>
        {
            context.Request.EnableBuffering();
            return next(context);
        });
        app.MapLanguageSegmentation();
        await app.StartAsync();
        var address = new Uri(app.Urls.Single());
        using var client = new HttpClient { BaseAddress = address };
        var queue = app.Services.GetRequiredService<InferenceQueue>();
        byte[] image = Pictures.RedLeftBlueRight(96, 64);
        using var socket = await ApiClient.SendHalfAnUploadAsync(address, ApiClient.Upload(image, "red, blue"));
        await QueueTests.WaitUntil(() => queue.Admitted(InferenceQueue.Work.ImageEncoding) == 1);

        await QueueTests.WaitUntil(() => queue.Admitted(InferenceQueue.Work.ImageEncoding) == 0);
        var afterwards = await client.SegmentAsync(image, "red, blue");

        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, image, "red", "blue")), (await afterwards.ReadSegmentationAsync()).MaskIndices);
    }

    /// <summary>A host of the application's own (on the in-memory test server) with the service's services for the colour package.</summary>
    private WebApplicationBuilder TestHostServing()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddLanguageSegmentation(options => options.ModelPath = colour.PackagePath);
        return builder;
    }
}
