using System.Net;
using System.Net.Http.Json;

namespace LSeg.Serving.Tests;

/// <summary>
/// The encoded-image cache through the API: bounded by memory with the least recently used image evicted (410),
/// images expiring after their time to live without use (410), each use moving the expiry on.
/// </summary>
public sealed class ImageCacheTests(ColourPackageFixture colour) : IClassFixture<ColourPackageFixture>
{
    // A 64×64 image at the colour package's input size 64 leaves a 32×32 grid of 3-d unit vectors plus a norm per
    // pixel: 32·32·(3+1)·4 bytes = 16 KiB, so a 1 MiB cache holds exactly 64 of them.
    private const int ImagesThatFit = 1024 * 1024 / (32 * 32 * 4 * 4);

    private static byte[] Picture(int i) => Pictures.Plain(64, 64, ((byte)(i * 3), (byte)(255 - i * 3), 128));

    [Fact]
    public async Task The_least_recently_used_image_is_evicted_to_stay_under_the_memory_bound()
    {
        using var server = new ServingFactory(colour.PackagePath, options => options.ImageCacheMegabytes = 1);
        using var client = server.CreateClient();
        var first = await client.EncodeOkAsync(Pictures.RedLeftBlueRight(64, 64));
        var second = await client.EncodeOkAsync(Picture(1));
        for (int i = 2; i < ImagesThatFit; i++)
            await client.EncodeOkAsync(Picture(i));
        Assert.Equal(ImagesThatFit, server.Cache.Count);
        Assert.Equal(1024 * 1024, server.Cache.Bytes);

        // Using the first image makes the second the least recently used; one more image evicts it, and only it.
        await (await client.RelabelAsync(first.Id, ["red", "blue"])).ReadSegmentationAsync();
        await client.EncodeOkAsync(Picture(ImagesThatFit));

        string detail = await (await client.RelabelAsync(second.Id, ["red"])).AssertProblemAsync(HttpStatusCode.Gone, "evicted-image");
        var stillThere = await (await client.RelabelAsync(first.Id, ["red", "blue"])).ReadSegmentationAsync();
        Assert.Contains("1 MiB", detail);
        Assert.Equal(ImagesThatFit, server.Cache.Count);
        Assert.True(server.Cache.Bytes <= 1024 * 1024);
        Assert.Equal(Reference.Indices(Reference.Encoded(colour.Model, Pictures.RedLeftBlueRight(64, 64), "red", "blue")), stillThere.MaskIndices);
    }

    [Fact]
    public async Task An_image_unused_for_its_time_to_live_expires_and_each_use_moves_the_expiry_on()
    {
        var clock = new ManualClock();
        using var server = new ServingFactory(colour.PackagePath, options => options.ImageTimeToLive = TimeSpan.FromMinutes(10), clock);
        using var client = server.CreateClient();
        var kept = await client.EncodeOkAsync(Pictures.RedLeftBlueRight(64, 64));
        var dropped = await client.EncodeOkAsync(Picture(3));
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromMinutes(10), kept.ExpiresAt);

        clock.Advance(TimeSpan.FromMinutes(6));
        await (await client.RelabelAsync(kept.Id, ["red"])).ReadSegmentationAsync(); // a use: expires 10 minutes from now
        clock.Advance(TimeSpan.FromMinutes(6));                                        // 12 minutes after both uploads

        string detail = await (await client.RelabelAsync(dropped.Id, ["red"])).AssertProblemAsync(HttpStatusCode.Gone, "expired-image");
        var described = await (await client.GetAsync($"v1/images/{kept.Id}")).Content.ReadFromJsonAsync<EncodedImageAnswer>();
        Assert.Contains("10 minutes", detail);
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromMinutes(10), described!.ExpiresAt);
        Assert.Equal(1, server.Cache.Count);

        clock.Advance(TimeSpan.FromMinutes(11));
        await (await client.RelabelAsync(kept.Id, ["red"])).AssertProblemAsync(HttpStatusCode.Gone, "expired-image");
        Assert.Equal(0, server.Cache.Bytes);
    }

    [Fact]
    public async Task Deleting_an_expired_image_says_expired_as_reading_it_does()
    {
        var clock = new ManualClock();
        using var server = new ServingFactory(colour.PackagePath, options => options.ImageTimeToLive = TimeSpan.FromMinutes(10), clock);
        using var client = server.CreateClient();
        var expired = await client.EncodeOkAsync(Pictures.RedLeftBlueRight(64, 64));
        var deleted = await client.EncodeOkAsync(Picture(2));
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"v1/images/{deleted.Id}")).StatusCode);

        clock.Advance(TimeSpan.FromMinutes(11));

        await (await client.DeleteAsync($"v1/images/{expired.Id}")).AssertProblemAsync(HttpStatusCode.Gone, "expired-image");
        await (await client.GetAsync($"v1/images/{expired.Id}")).AssertProblemAsync(HttpStatusCode.Gone, "expired-image");
        // Deleted by its client: an id this server no longer knows.
        await (await client.DeleteAsync($"v1/images/{deleted.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "unknown-image");
    }

    [Fact]
    public async Task An_id_never_given_out_is_404()
    {
        using var server = new ServingFactory(colour.PackagePath);
        using var client = server.CreateClient();

        string detail = await (await client.RelabelAsync("AAAAAAAAAAAAAAAAAAAAAA", ["red"])).AssertProblemAsync(HttpStatusCode.NotFound, "unknown-image");
        await (await client.GetAsync("v1/images/nothing-here")).AssertProblemAsync(HttpStatusCode.NotFound, "unknown-image");

        Assert.Contains("'AAAAAAAAAAAAAAAAAAAAAA'", detail);
    }
}
