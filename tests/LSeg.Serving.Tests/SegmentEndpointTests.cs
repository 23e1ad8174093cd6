using System.Net;
using System.Net.Http.Json;

namespace LSeg.Serving.Tests;

/// <summary>
/// POST /v1/segment and the encode-once path (POST /v1/images, POST /v1/images/{id}/segment, GET/DELETE
/// /v1/images/{id}) on the colour package, whose answer is known: a red region is "red". Every mask is also held to
/// the low-level API's mask on the same bytes.
/// </summary>
public sealed class SegmentEndpointTests(ColourPackageFixture colour) : IClassFixture<ColourPackageFixture>, IDisposable
{
    private readonly ServingFactory _server = new(colour.PackagePath);

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task Segment_answers_the_labels_shares_and_mask_of_the_low_level_api()
    {
        using var client = _server.CreateClient();
        byte[] image = Pictures.RedLeftBlueRight(96, 64);

        var answer = await (await client.SegmentAsync(image, "red, blue, green")).ReadSegmentationAsync();

        Assert.Equal((96, 64), (answer.Width, answer.Height));
        Assert.Equal(["red", "blue", "green"], answer.Labels);
        var reference = Reference.OneShot(colour.Model, image, "red, blue, green".Split(", "));
        Assert.Equal(Reference.Indices(reference), answer.MaskIndices);
        // Known answer: the left half is red (index 0), the right half blue (index 1); nothing is green.
        Assert.Equal(0, answer.MaskIndices[10 * 96 + 5]);
        Assert.Equal(1, answer.MaskIndices[10 * 96 + 90]);
        Assert.Equal(0.5, answer.Shares[0], 2);
        Assert.Equal(0.5, answer.Shares[1], 2);
        Assert.Equal(0, answer.Shares[2]);
        Assert.Equal(1.0, answer.Shares.Sum(), 9);
    }

    [Fact]
    public async Task Each_label_comes_with_the_overlay_colour_lseg_segment_draws_it_in()
    {
        using var client = _server.CreateClient();
        byte[] image = Pictures.RedLeftBlueRight(96, 64);

        var answer = await (await client.SegmentAsync(image, "red, blue, green")).ReadSegmentationAsync();
        // 22 labels (the colour package knows 9): past the 20 fixed colours, where the page's own table once differed.
        string[] many = [.. Enumerable.Range(0, 22).Select(i => $"label {i}")];
        var wide = Api.SegmentationResponse.From(new LSeg.MLNet.SegmentationResult(2, 1, many, [0, 21], [0f, 0f], new long[22], null));

        Assert.Equal(["#e6194b", "#3cb44b", "#ffe119"], answer.Colours); // the first three of the 20 fixed colours
        Assert.Equal(22, wide.Colours.Count);
        for (int i = 0; i < many.Length; i++)
        {
            var expected = LSeg.MLNet.Rendering.LabelPalette.ColorOf(i);
            Assert.Equal($"#{expected.R:x2}{expected.G:x2}{expected.B:x2}", wide.Colours[i]);
        }
    }

    [Fact]
    public async Task Segment_with_format_png_answers_the_mask_png_itself()
    {
        using var client = _server.CreateClient();
        byte[] image = Pictures.GreenTopYellowBottom(64, 96);

        var response = await client.SegmentAsync(image, "yellow, green", format: "png");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        byte[] mask = Segmentation.DecodeMask(await response.Content.ReadAsByteArrayAsync(), 64, 96);
        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, image, "yellow", "green")), mask);
        Assert.Equal(1, mask[5 * 64 + 30]);   // top: green, the second label
        Assert.Equal(0, mask[90 * 64 + 30]);  // bottom: yellow, the first label
    }

    [Theory]
    [InlineData("PNG")]
    [InlineData("Png")]
    public async Task The_format_is_read_in_any_letter_case(string format)
    {
        using var client = _server.CreateClient();
        byte[] image = Pictures.GreenTopYellowBottom(64, 96);
        var encoded = await client.EncodeOkAsync(image);

        var oneShot = await client.SegmentAsync(image, "yellow, green", format);
        var change = await client.RelabelAsync(encoded.Id, ["yellow", "green"], format);

        Assert.Equal("image/png", oneShot.Content.Headers.ContentType?.MediaType);
        Assert.Equal("image/png", change.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, image, "yellow", "green")), Segmentation.DecodeMask(await oneShot.Content.ReadAsByteArrayAsync(), 64, 96));
    }

    [Fact]
    public async Task An_empty_format_answers_json_as_no_format_does()
    {
        using var client = _server.CreateClient();
        byte[] image = Pictures.GreenTopYellowBottom(64, 96);

        var response = await client.SegmentAsync(image, "yellow, green", format: "");

        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, image, "yellow", "green")), (await response.ReadSegmentationAsync()).MaskIndices);
    }

    [Fact]
    public async Task The_json_answer_writes_base64_masks_without_escaping_plus_signs()
    {
        using var client = _server.CreateClient();
        // The first of a few pictures whose mask PNG's base64 has a '+' (the default encoder writes it as \u002B, six
        // bytes for one, on about one base64 character in 64).
        var (image, maskBase64) = Enumerable.Range(40, 40)
            .Select(width => Pictures.RedLeftBlueRight(width, 64))
            .Select(picture => (picture, Convert.ToBase64String(Reference.OneShot(colour.Model, picture, "red", "blue").ToMaskPng())))
            .First(candidate => candidate.Item2.Contains('+'));

        string body = await (await client.SegmentAsync(image, "red, blue")).Content.ReadAsStringAsync();

        Assert.Contains($"\"mask\":\"{maskBase64}\"", body);
        Assert.DoesNotContain("\\u", body);
    }

    [Fact]
    public async Task An_encoded_image_is_segmented_with_each_new_label_list_as_the_low_level_api_does()
    {
        using var client = _server.CreateClient();
        byte[] image = Pictures.RedLeftBlueRight(96, 64);

        var response = await client.EncodeAsync(image);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var encoded = (await response.Content.ReadFromJsonAsync<EncodedImageAnswer>())!;
        Assert.Equal((96, 64), (encoded.Width, encoded.Height));
        Assert.Equal($"/v1/images/{encoded.Id}", response.Headers.Location?.OriginalString);

        string[][] labelLists = [["red", "blue"], ["blue", "red", "white"], ["magenta", "cyan"]];
        foreach (var labels in labelLists)
        {
            var answer = await (await client.RelabelAsync(encoded.Id, labels)).ReadSegmentationAsync();
            Assert.Equal(labels, answer.Labels);
            Assert.Equal(Reference.Indices(Reference.Encoded(colour.Model, image, labels)), answer.MaskIndices);
        }
        // "blue, red, white": the left half is red, now index 1.
        var swapped = await (await client.RelabelAsync(encoded.Id, ["blue", "red", "white"])).ReadSegmentationAsync();
        Assert.Equal(1, swapped.MaskIndices[10 * 96 + 5]);
        Assert.Equal(0, swapped.MaskIndices[10 * 96 + 90]);
    }

    [Fact]
    public async Task The_input_size_option_is_the_size_both_paths_run_the_model_at()
    {
        // Colour noise: its mask changes with the size the image is resized to, so a size the server ignored would show.
        byte[] image = Pictures.Noise(96, 64, seed: 7);
        string[] labels = ["red", "green", "blue"];
        using var server = new ServingFactory(colour.PackagePath, options => options.InputSize = 128);
        using var client = server.CreateClient();

        var oneShot = await (await client.SegmentAsync(image, string.Join(", ", labels))).ReadSegmentationAsync();
        var encoded = await client.EncodeOkAsync(image);
        var relabelled = await (await client.RelabelAsync(encoded.Id, labels)).ReadSegmentationAsync();

        var at128 = Reference.Indices(Reference.OneShotAt(colour.Model, 128, image, labels));
        Assert.NotEqual(Reference.Indices(Reference.OneShot(colour.Model, image, labels)), at128); // the package's 64 differs
        Assert.Equal(at128, oneShot.MaskIndices);
        Assert.Equal(Reference.Indices(Reference.EncodedAt(colour.Model, 128, image, labels)), relabelled.MaskIndices);
    }

    [Fact]
    public async Task A_label_change_with_format_png_answers_the_mask_png()
    {
        using var client = _server.CreateClient();
        byte[] image = Pictures.GreenTopYellowBottom(64, 96);
        var encoded = await client.EncodeOkAsync(image);

        var response = await client.RelabelAsync(encoded.Id, ["green", "yellow"], format: "png");

        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        byte[] mask = Segmentation.DecodeMask(await response.Content.ReadAsByteArrayAsync(), 64, 96);
        Assert.Equal(Reference.Indices(Reference.Encoded(colour.Model, image, "green", "yellow")), mask);
    }

    [Fact]
    public async Task Get_describes_an_encoded_image_and_delete_drops_it()
    {
        using var client = _server.CreateClient();
        var encoded = await client.EncodeOkAsync(Pictures.Plain(40, 30, Pictures.White));

        var described = await client.GetFromJsonAsync<EncodedImageAnswer>($"v1/images/{encoded.Id}");
        var deleted = await client.DeleteAsync($"v1/images/{encoded.Id}");
        var afterwards = await client.RelabelAsync(encoded.Id, ["white"]);
        var deletedAgain = await client.DeleteAsync($"v1/images/{encoded.Id}");

        Assert.Equal((encoded.Id, 40, 30), (described!.Id, described.Width, described.Height));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await afterwards.AssertProblemAsync(HttpStatusCode.NotFound, "unknown-image");
        await deletedAgain.AssertProblemAsync(HttpStatusCode.NotFound, "unknown-image");
        Assert.Equal(0, _server.Cache.Count);
    }

    [Fact]
    public async Task A_jpeg_upload_is_segmented_like_the_low_level_api_reads_it()
    {
        using var client = _server.CreateClient();
        byte[] jpeg = Pictures.Encode(80, 60, (x, y) => x < 40 ? Pictures.Red : Pictures.Green, SkiaSharp.SKEncodedImageFormat.Jpeg);

        var answer = await (await client.PostAsync("v1/segment", ApiClient.Upload(jpeg, "red, green", "photo.jpg"))).ReadSegmentationAsync();

        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, jpeg, "red", "green")), answer.MaskIndices);
    }
}
