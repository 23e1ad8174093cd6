using System.Net;

namespace LSeg.Serving.Tests;

/// <summary>
/// The bounded queue in front of the model: with every model slot taken, requests wait up to the queue bound; the
/// next is answered 503 with Retry-After at once; the waiting ones are served when a slot frees.
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
        var slot = await server.Queue.EnterAsync(CancellationToken.None);
        var queued = client.SegmentAsync(image, "red, blue");
        await WaitUntil(() => server.Queue.Queued == 1);

        var refused = await client.SegmentAsync(image, "red, blue");
        var refusedRelabel = await client.RelabelAsync("any-id", ["red"]);

        string detail = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "server-busy");
        Assert.Contains("1 are waiting", detail);
        Assert.True(int.TryParse(refused.Headers.GetValues("Retry-After").Single(), out int seconds) && seconds >= 1, "Retry-After must be a positive number of seconds");
        // The image id is checked before waiting: an unknown id is 404 even when the server is full.
        await refusedRelabel.AssertProblemAsync(HttpStatusCode.NotFound, "unknown-image");
        Assert.False(queued.IsCompleted);

        slot.Dispose();
        var answer = await (await queued).ReadSegmentationAsync();
        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, image, "red", "blue")), answer.MaskIndices);
        Assert.Equal(0, server.Queue.Running);
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
