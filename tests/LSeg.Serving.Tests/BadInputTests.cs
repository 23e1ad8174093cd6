using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.ML.Data;

namespace LSeg.Serving.Tests;

/// <summary>
/// Every kind of bad input is a 4xx RFC 7807 problem+json whose type names the problem and whose detail names the
/// offending value; the server keeps serving afterwards.
/// </summary>
public sealed class BadInputTests(ColourPackageFixture colour) : IClassFixture<ColourPackageFixture>, IDisposable
{
    private const long ByteLimit = 20_000;
    private const long PixelLimit = 100 * 100;

    private readonly ServingFactory _server = new(colour.PackagePath, options =>
    {
        options.MaxImageBytes = ByteLimit;
        options.MaxImagePixels = PixelLimit;
        options.MaxLabels = 4;
        options.MaxLabelLength = 12;
    });

    public void Dispose() => _server.Dispose();

    private static readonly byte[] Image = Pictures.RedLeftBlueRight(48, 32);

    [Fact]
    public async Task A_missing_image_or_labels_is_named()
    {
        using var client = _server.CreateClient();

        string noImage = await (await client.SegmentAsync(null, "red")).AssertProblemAsync(HttpStatusCode.BadRequest, "missing-image");
        string noLabels = await (await client.SegmentAsync(Image, null)).AssertProblemAsync(HttpStatusCode.BadRequest, "missing-labels");
        string onlyCommas = await (await client.SegmentAsync(Image, " , ,")).AssertProblemAsync(HttpStatusCode.BadRequest, "missing-labels");
        var noteOnly = new MultipartFormDataContent { { new StringContent("hello"), "note" } };
        string noFileToEncode = await (await client.PostAsync("v1/images", noteOnly)).AssertProblemAsync(HttpStatusCode.BadRequest, "missing-image");
        // A multipart body with no part at all cannot be read as a form.
        await (await client.EncodeAsync(null)).AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-request");
        var encoded = await client.EncodeOkAsync(Image);
        string emptyList = await (await client.RelabelAsync(encoded.Id, [])).AssertProblemAsync(HttpStatusCode.BadRequest, "missing-labels");

        Assert.Contains("'image'", noImage);
        Assert.Contains("'labels'", noLabels);
        Assert.Contains("'labels'", onlyCommas);
        Assert.Contains("'image'", noFileToEncode);
        Assert.Contains("labels", emptyList);
    }

    [Fact]
    public async Task A_JSON_body_in_a_charset_the_server_cannot_read_is_415_not_a_server_error()
    {
        using var client = _server.CreateClient();
        var encoded = await client.EncodeOkAsync(Image);
        var body = new StringContent("{\"labels\": [\"red\"]}");
        body.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=no-such-charset");

        string detail = await (await client.PostAsync($"v1/images/{encoded.Id}/segment", body)).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");

        Assert.Contains("no-such-charset", detail);
        Assert.Equal(HttpStatusCode.OK, (await client.RelabelAsync(encoded.Id, ["red", "blue"])).StatusCode);
    }

    [Theory]
    [InlineData("application/json; charset=\"utf-8\"", "utf-8")]   // quoted: legal HTTP, a 500 through ReadFromJsonAsync
    [InlineData("application/json; charset=utf-16", "utf-16")]       // read through a transcoding stream
    [InlineData("application/json; charset=iso-8859-1", "iso-8859-1")]
    public async Task A_JSON_body_in_a_charset_the_server_knows_is_read_in_that_charset(string contentType, string charset)
    {
        using var client = _server.CreateClient();
        var encoded = await client.EncodeOkAsync(Image);
        var body = new ByteArrayContent(Encoding.GetEncoding(charset).GetBytes("{\"labels\": [\"red\", \"blue\"]}"));
        body.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        var response = await client.PostAsync($"v1/images/{encoded.Id}/segment", body);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Contains("\"blue\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_label_list_of_the_wrong_JSON_type_names_the_place_and_no_dotnet_type()
    {
        using var client = _server.CreateClient();
        var encoded = await client.EncodeOkAsync(Image);
        var body = new StringContent("{\"labels\": \"red\"}", Encoding.UTF8, "application/json");

        string detail = await (await client.PostAsync($"v1/images/{encoded.Id}/segment", body)).AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-request");

        Assert.Contains("$.labels", detail);
        Assert.DoesNotContain("System.", detail);
    }

    [Fact]
    public async Task A_label_with_an_unpaired_surrogate_escape_is_called_invalid_text_not_the_wrong_type()
    {
        using var client = _server.CreateClient();
        var encoded = await client.EncodeOkAsync(Image);
        // "\ud800" is valid JSON syntax but no Unicode text: a high surrogate with no low one after it.
        var body = new StringContent("{\"labels\": [\"red\", \"\\ud800\"]}", Encoding.UTF8, "application/json");

        string detail = await (await client.PostAsync($"v1/images/{encoded.Id}/segment", body)).AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-request");

        Assert.Contains("$.labels[1]", detail);
        Assert.Contains("not valid Unicode text", detail);
        Assert.DoesNotContain("wrong type", detail);
    }

    [Fact]
    public async Task A_label_body_over_the_limit_the_label_options_allow_is_413_and_the_largest_label_length_allows_it()
    {
        using var client = _server.CreateClient();
        var encoded = await client.EncodeOkAsync(Image);
        // Two labels padded with JSON whitespace to 2,000 bytes: over MaxLabels 4 × (MaxLabelLength 12 × 12 + 8) + 1024 =
        // 1,632 bytes (12 bytes for a character escaped as a surrogate pair), but well within what the largest
        // MaxLabelLength allows (10,000: 481,056 bytes; the limit is a long product, and the start-up bound keeps it far
        // from overflowing).
        static StringContent Padded() => new($"{{\"labels\": [\"red\", \"blue\"]{new string(' ', 2000)}}}", Encoding.UTF8, "application/json");
        using var generous = new ServingFactory(colour.PackagePath, options => options.MaxLabelLength = LanguageSegmentationServingOptions.LabelLengthLimit);
        using var generousClient = generous.CreateClient();
        var encodedThere = await generousClient.EncodeOkAsync(Image);

        string detail = await (await client.PostAsync($"v1/images/{encoded.Id}/segment", Padded())).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "body-too-large");
        var accepted = await generousClient.PostAsync($"v1/images/{encodedThere.Id}/segment", Padded());

        Assert.Contains("1,632 bytes", detail);
        Assert.True(accepted.StatusCode == HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_unknown_path_and_a_wrong_method_are_problem_json_from_the_host()
    {
        using var client = _server.CreateClient();

        var unknown = await client.GetAsync("v1/no-such-endpoint");
        var wrongMethod = await client.GetAsync("v1/segment");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Equal("application/problem+json", wrongMethod.Content.Headers.ContentType?.MediaType);
        using var problem = System.Text.Json.JsonDocument.Parse(await wrongMethod.Content.ReadAsStringAsync());
        Assert.Equal(405, problem.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task A_multipart_body_that_ends_early_is_a_malformed_request()
    {
        using var client = _server.CreateClient();
        static ByteArrayContent Multipart(string body)
        {
            var content = new ByteArrayContent(Encoding.ASCII.GetBytes(body));
            content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=XYZ");
            return content;
        }

        string garbage = await (await client.PostAsync("v1/segment", Multipart("garbage")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-request");
        string unclosedPart = await (await client.PostAsync("v1/segment", Multipart(
                "--XYZ\r\nContent-Disposition: form-data; name=\"labels\"\r\n\r\nred, blue\r\n" +
                "--XYZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\u0089PNG")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-request");
        var afterwards = await client.SegmentAsync(Image, "red, blue");

        Assert.Contains("multipart body cannot be read", garbage);
        Assert.Contains("multipart body cannot be read", unclosedPart);
        Assert.Equal(HttpStatusCode.OK, afterwards.StatusCode); // the server keeps serving
    }

    [Fact]
    public async Task An_image_sent_as_a_field_without_a_filename_is_called_a_field_that_is_not_a_file_part()
    {
        using var client = _server.CreateClient();
        // curl -F "image=<photo.png", or form.Add(new ByteArrayContent(bytes), "image"): no filename, so not a file part.
        var text = new MultipartFormDataContent { { new StringContent("not a file"), "image" }, { new StringContent("red"), "labels" } };
        var bytes = new MultipartFormDataContent { { new ByteArrayContent(Image), "image" }, { new StringContent("red"), "labels" } };

        string textDetail = await (await client.PostAsync("v1/segment", text)).AssertProblemAsync(HttpStatusCode.BadRequest, "missing-image");
        string bytesDetail = await (await client.PostAsync("v1/images", bytes)).AssertProblemAsync(HttpStatusCode.BadRequest, "missing-image");

        Assert.Contains("a field named 'image' that is not a file part", textDetail);
        Assert.Contains("a field named 'image' that is not a file part", bytesDetail);
    }

    [Fact]
    public async Task Labels_sent_as_a_file_part_are_called_a_file_part()
    {
        using var client = _server.CreateClient();
        var form = ApiClient.Upload(Image);
        form.Add(new StringContent("red, blue"), "labels", "labels.txt");

        string detail = await (await client.PostAsync("v1/segment", form)).AssertProblemAsync(HttpStatusCode.BadRequest, "missing-labels");

        Assert.Contains("'labels' part is a file part", detail);
    }

    [Fact]
    public async Task Two_image_parts_are_refused_rather_than_one_silently_dropped()
    {
        using var client = _server.CreateClient();
        var form = ApiClient.Upload(Image, "red, blue");
        form.Add(new ByteArrayContent(Pictures.GreenTopYellowBottom(32, 48)), "image", "second.png");

        string detail = await (await client.PostAsync("v1/segment", form)).AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-request");

        Assert.Contains("2 file parts named 'image'", detail);
    }

    [Fact]
    public async Task Labels_that_are_not_utf8_are_refused_naming_the_encoding_not_changed_silently()
    {
        using var client = _server.CreateClient();
        // "caf\xe9, red": Latin-1 bytes in a field that declares no charset, read as UTF-8: "caf\uFFFD".
        var form = ApiClient.Upload(Image);
        form.Add(new ByteArrayContent(Encoding.Latin1.GetBytes("caf\u00e9, red")), "labels");

        string detail = await (await client.PostAsync("v1/segment", form)).AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-request");

        Assert.Contains("'labels'", detail);
        Assert.Contains("not valid UTF-8", detail);
    }

    [Fact]
    public async Task A_label_length_is_counted_in_characters_as_the_refusal_says_not_in_utf16_code_units()
    {
        using var client = _server.CreateClient();
        var encoded = await client.EncodeOkAsync(Image);
        // MaxLabelLength is 12: twelve cats are 12 characters (24 UTF-16 code units), thirteen are one too many.
        string twelve = string.Concat(Enumerable.Repeat("\U0001F431", 12));
        string thirteen = twelve + "\U0001F431";

        // Within the server's limit, twelve cats reach the model, whose label table has no such colour.
        await (await client.SegmentAsync(Image, $"red, {twelve}")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-label");
        await (await client.RelabelAsync(encoded.Id, ["red", twelve])).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-label");
        string oneShot = await (await client.SegmentAsync(Image, $"red, {thirteen}")).AssertProblemAsync(HttpStatusCode.BadRequest, "label-too-long");
        string change = await (await client.RelabelAsync(encoded.Id, ["red", thirteen])).AssertProblemAsync(HttpStatusCode.BadRequest, "label-too-long");

        Assert.Contains("Label 1 is 13 characters long", oneShot);
        Assert.Contains("Label 1 is 13 characters long", change);
    }

    [Fact]
    public async Task A_body_of_the_wrong_media_type_is_415()
    {
        using var client = _server.CreateClient();
        var encoded = await client.EncodeOkAsync(Image);

        string json = await (await client.PostAsync("v1/segment", new StringContent("{}", Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        string form = await (await client.PostAsync($"v1/images/{encoded.Id}/segment", ApiClient.Upload(null, "red")))
            .AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");

        Assert.Contains("application/json", json);
        Assert.Contains("multipart/form-data", form);
    }

    [Fact]
    public async Task Malformed_json_and_an_unknown_format_are_400()
    {
        using var client = _server.CreateClient();
        var encoded = await client.EncodeOkAsync(Image);

        await (await client.PostAsync($"v1/images/{encoded.Id}/segment", new StringContent("{\"labels\": [\"red\"", Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-request");
        await (await client.PostAsync($"v1/images/{encoded.Id}/segment", new StringContent("{\"labels\": \"red, blue\"}", Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-request");
        string format = await (await client.SegmentAsync(Image, "red", format: "gif")).AssertProblemAsync(HttpStatusCode.BadRequest, "unknown-format");

        Assert.Contains("gif", format);
    }

    [Fact]
    public async Task Bytes_that_are_not_an_image_are_unreadable()
    {
        using var client = _server.CreateClient();
        byte[] text = Encoding.UTF8.GetBytes("this is a text file, not a photo");

        string detail = await (await client.SegmentAsync(text, "red")).AssertProblemAsync(HttpStatusCode.BadRequest, "unreadable-image");
        await (await client.EncodeAsync([])).AssertProblemAsync(HttpStatusCode.BadRequest, "unreadable-image");

        Assert.Contains("not an image format", detail);
    }

    [Theory]
    [InlineData(SkiaSharp.SKEncodedImageFormat.Jpeg)]
    [InlineData(SkiaSharp.SKEncodedImageFormat.Png)]
    public async Task A_truncated_image_is_refused_although_MLImage_would_decode_it(SkiaSharp.SKEncodedImageFormat format)
    {
        using var client = _server.CreateClient();
        byte[] whole = Pictures.Noise(60, 60, seed: 7, format);
        byte[] truncated = whole[..(whole.Length * 2 / 3)];
        // Why the check exists: ML.NET's decoder accepts the cut file and returns an image with blank rows.
        using (var silentlyBlank = MLImage.CreateFromStream(new MemoryStream(truncated)))
            Assert.Equal((60, 60), (silentlyBlank.Width, silentlyBlank.Height));

        string detail = await (await client.SegmentAsync(truncated, "red")).AssertProblemAsync(HttpStatusCode.BadRequest, "truncated-image");
        await (await client.EncodeAsync(truncated)).AssertProblemAsync(HttpStatusCode.BadRequest, "truncated-image");
        var wholeAnswer = await client.SegmentAsync(whole, "red");

        Assert.Contains("60×60", detail);
        Assert.Equal(HttpStatusCode.OK, wholeAnswer.StatusCode);
    }

    [Theory]
    [InlineData(SkiaSharp.SKEncodedImageFormat.Png, 33)] // the signature and the IHDR chunk: the size, no pixel data
    [InlineData(SkiaSharp.SKEncodedImageFormat.Png, 50)]
    [InlineData(SkiaSharp.SKEncodedImageFormat.Jpeg, 40)]
    public async Task An_image_cut_before_its_pixel_data_is_truncated_not_an_unknown_format(SkiaSharp.SKEncodedImageFormat format, int keptBytes)
    {
        using var client = _server.CreateClient();
        byte[] cut = Pictures.Noise(60, 60, seed: 7, format)[..keptBytes];

        string detail = await (await client.SegmentAsync(cut, "red")).AssertProblemAsync(HttpStatusCode.BadRequest, "truncated-image");
        await (await client.EncodeAsync(cut)).AssertProblemAsync(HttpStatusCode.BadRequest, "truncated-image");

        Assert.Contains(format == SkiaSharp.SKEncodedImageFormat.Png ? "PNG" : "JPEG", detail);
    }

    [Fact]
    public async Task An_upload_over_the_byte_limit_is_413_and_names_the_limit()
    {
        using var client = _server.CreateClient();
        byte[] large = Pictures.Noise(99, 99, seed: 3);
        Assert.True(large.Length > ByteLimit, $"the test image is only {large.Length} bytes");

        string detail = await (await client.SegmentAsync(large, "red")).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "image-too-large");
        await (await client.EncodeAsync(large)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "image-too-large");

        Assert.Contains("20,000", detail);
    }

    [Fact]
    public async Task An_upload_without_content_length_over_the_byte_limit_is_413()
    {
        using var client = _server.CreateClient();
        byte[] large = Pictures.Noise(99, 99, seed: 5);
        var content = new MultipartFormDataContent { { new StreamContent(new MemoryStream(large)), "image", "big.png" }, { new StringContent("red"), "labels" } };
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/segment") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        await (await client.SendAsync(request)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "image-too-large");
    }

    [Fact]
    public async Task An_image_with_too_many_pixels_is_413_before_decoding_and_a_tiny_one_is_400()
    {
        using var client = _server.CreateClient();
        byte[] wide = Pictures.Plain(200, 60, Pictures.White); // 12,000 pixels, a small file
        byte[] tiny = Pictures.Plain(4, 40, Pictures.White);

        string pixels = await (await client.SegmentAsync(wide, "white")).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "image-too-many-pixels");
        string small = await (await client.EncodeAsync(tiny)).AssertProblemAsync(HttpStatusCode.BadRequest, "image-too-small");

        Assert.Contains("200×60", pixels);
        Assert.Contains("10,000", pixels);
        Assert.Contains("4×40", small);
    }

    [Fact]
    public async Task Too_many_too_long_empty_or_repeated_labels_are_named()
    {
        using var client = _server.CreateClient();
        var encoded = await client.EncodeOkAsync(Image);

        string many = await (await client.SegmentAsync(Image, "red, blue, green, white, black")).AssertProblemAsync(HttpStatusCode.BadRequest, "too-many-labels");
        string manyJson = await (await client.RelabelAsync(encoded.Id, ["red", "blue", "green", "white", "black"])).AssertProblemAsync(HttpStatusCode.BadRequest, "too-many-labels");
        string longLabel = await (await client.SegmentAsync(Image, "red, a very long label indeed")).AssertProblemAsync(HttpStatusCode.BadRequest, "label-too-long");
        string repeated = await (await client.SegmentAsync(Image, "red, blue, red")).AssertProblemAsync(HttpStatusCode.BadRequest, "duplicate-label");
        string repeatedJson = await (await client.RelabelAsync(encoded.Id, ["blue", " blue"])).AssertProblemAsync(HttpStatusCode.BadRequest, "duplicate-label");
        string empty = await (await client.RelabelAsync(encoded.Id, ["red", "  "])).AssertProblemAsync(HttpStatusCode.BadRequest, "empty-label");
        string missing = await (await client.RelabelAsync(encoded.Id, ["red", null])).AssertProblemAsync(HttpStatusCode.BadRequest, "empty-label");

        Assert.Contains("5 labels", many);
        Assert.Contains("up to 4", many);
        Assert.Contains("5 labels", manyJson);
        Assert.Contains("Label 1 is 24 characters", longLabel);
        Assert.Contains("'red'", repeated);
        Assert.Contains("'blue'", repeatedJson);
        Assert.Contains("Label 1", empty);
        Assert.Contains("Label 1", missing);
    }

    [Fact]
    public async Task A_label_the_model_cannot_encode_is_named_with_the_models_reason()
    {
        using var client = _server.CreateClient();

        // The colour package's text encoder is a fixed table of colour names.
        string detail = await (await client.SegmentAsync(Image, "red, teapot")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-label");

        Assert.Contains("'teapot'", detail);
        Assert.DoesNotContain("Parameter", detail);
    }

    [Fact]
    public async Task After_every_kind_of_bad_input_the_server_still_segments()
    {
        using var client = _server.CreateClient();
        await client.SegmentAsync(Encoding.UTF8.GetBytes("garbage"), "red");
        await client.SegmentAsync(Image, "red, red");
        await client.PostAsync("v1/images/x/segment", new StringContent("[", Encoding.UTF8, "application/json"));

        var answer = await (await client.SegmentAsync(Image, "red, blue")).ReadSegmentationAsync();

        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, Image, "red", "blue")), answer.MaskIndices);
    }
}
