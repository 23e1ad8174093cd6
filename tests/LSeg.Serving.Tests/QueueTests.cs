using System.Net;

using LSeg.Serving.Hosting;

namespace LSeg.Serving.Tests;

/// <summary>
/// The bounded queue in front of the model: with every model slot taken, requests wait up to the queue bound; the
/// next is answered 503 with Retry-After at once; the waiting ones are served when a slot frees. Label changes have
/// their own slots: they never wait behind image encodings.
/// </summary>
public sealed class QueueTests(ColourPackageFixture colour) : IClassFixture<ColourPackageFixture>
{
    [Fact]
    public async Task Beyond_the_queue_bound_a_request_gets_503_with_retry_after_and_the_queued_one_is_served()
    {
        using var server = new ServingFactory(colour.PackagePath, options =>
        {
            options.MaxConcurrentInferences = 1;
            options.MaxQueuedRequests = 1;
        });
        using var client = server.CreateClient();
        byte[] image = Pictures.RedLeftBlueRight(96, 64);

        // The test takes the only model slot, as a long request would.
        var encoded = await client.EncodeOkAsync(image);
        var slot = await server.Queue.EnterAsync(InferenceQueue.Work.ImageEncoding, CancellationToken.None);
        var queued = client.SegmentAsync(image, "red, blue");
        await WaitUntil(() => server.Queue.Queued(InferenceQueue.Work.ImageEncoding) == 1);

        var refused = await client.SegmentAsync(image, "red, blue");
        var refusedUpload = await client.EncodeAsync(image);
        var refusedRelabel = await client.RelabelAsync("any-id", ["red"]);
        var labelChange = await client.RelabelAsync(encoded.Id, ["blue", "red"]);

        string detail = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "server-busy");
        await refusedUpload.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "server-busy");
        Assert.Contains("1 requests are waiting", detail);
        Assert.True(int.TryParse(refused.Headers.GetValues("Retry-After").Single(), out int seconds) && seconds >= 1, "Retry-After must be a positive number of seconds");
        // The image id is checked before waiting: an unknown id is 404 even when the server is full.
        await refusedRelabel.AssertProblemAsync(HttpStatusCode.NotFound, "unknown-image");
        // A label change does not wait behind image encodings.
        Assert.Equal(Reference.Indices(Reference.Encoded(colour.Model, image, "blue", "red")), (await labelChange.ReadSegmentationAsync()).MaskIndices);
        Assert.False(queued.IsCompleted);

        slot.Dispose();
        var answer = await (await queued).ReadSegmentationAsync();
        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, image, "red", "blue")), answer.MaskIndices);
        Assert.Equal(0, server.Queue.Running);
    }

    [Fact]
    public async Task Label_changes_beyond_their_own_queue_bound_get_503()
    {
        using var server = new ServingFactory(colour.PackagePath, options =>
        {
            options.MaxConcurrentInferences = 1;
            options.MaxQueuedRequests = 2;
        });
        using var client = server.CreateClient();
        byte[] image = Pictures.RedLeftBlueRight(96, 64);
        var encoded = await client.EncodeOkAsync(image);

        var slot = await server.Queue.EnterAsync(InferenceQueue.Work.LabelChange, CancellationToken.None);
        var first = client.RelabelAsync(encoded.Id, ["red", "blue"]);
        var second = client.RelabelAsync(encoded.Id, ["blue", "red"]);
        await WaitUntil(() => server.Queue.Queued(InferenceQueue.Work.LabelChange) == 2);
        var refused = await client.RelabelAsync(encoded.Id, ["red"]);
        var oneShot = await client.SegmentAsync(image, "red, blue");

        await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "server-busy");
        Assert.Equal(HttpStatusCode.OK, oneShot.StatusCode);
        slot.Dispose();
        Assert.Equal(Reference.Indices(Reference.Encoded(colour.Model, image, "red", "blue")), (await (await first).ReadSegmentationAsync()).MaskIndices);
        Assert.Equal(Reference.Indices(Reference.Encoded(colour.Model, image, "blue", "red")), (await (await second).ReadSegmentationAsync()).MaskIndices);
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not become true within 30 s");
            await Task.Delay(10);
        }
    }
}
