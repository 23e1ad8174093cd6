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
        // The test holds the model slot, the queued request waits: both counts are in the answer.
        Assert.Contains("1 of 1 model slots are in use and 1 more request is admitted (uploading or waiting for a slot)", detail);
        Assert.True(int.TryParse(refused.Headers.GetValues("Retry-After").Single(), out int seconds) && seconds >= 1, "Retry-After must be a positive number of seconds");
        await refusedRelabel.AssertProblemAsync(HttpStatusCode.NotFound, "unknown-image");
        // A label change does not wait behind image encodings.
        Assert.Equal(Reference.Indices(Reference.Encoded(colour.Model, image, "blue", "red")), (await labelChange.ReadSegmentationAsync()).MaskIndices);
        Assert.False(queued.IsCompleted);

        // The image id is checked before waiting: with the label-change lane full too (its slot taken, one change
        // waiting), an unknown id is still 404, while a known one is refused.
        var labelSlot = await server.Queue.EnterAsync(InferenceQueue.Work.LabelChange, CancellationToken.None);
        var queuedChange = client.RelabelAsync(encoded.Id, ["red"]);
        await WaitUntil(() => server.Queue.Queued(InferenceQueue.Work.LabelChange) == 1);
        await (await client.RelabelAsync("any-id", ["red"])).AssertProblemAsync(HttpStatusCode.NotFound, "unknown-image");
        await (await client.RelabelAsync(encoded.Id, ["red"])).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "server-busy");
        labelSlot.Dispose();
        Assert.Equal(HttpStatusCode.OK, (await queuedChange).StatusCode);

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

    [Fact]
    public async Task A_full_lane_refuses_an_upload_before_reading_its_body()
    {
        using var server = new ServingFactory(colour.PackagePath, options =>
        {
            options.MaxConcurrentInferences = 1;
            options.MaxQueuedRequests = 1;
        });
        Uri address = server.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = address };
        byte[] image = Pictures.RedLeftBlueRight(96, 64);
        // The test holds the lane's one slot as an admitted request would; one request waits for it.
        using var admission = server.Queue.Admit(InferenceQueue.Work.ImageEncoding);
        var slot = await server.Queue.EnterAsync(InferenceQueue.Work.ImageEncoding, CancellationToken.None);
        var queued = client.SegmentAsync(image, "red, blue");
        await WaitUntil(() => server.Queue.Queued(InferenceQueue.Work.ImageEncoding) == 1);

        // A 10 MB upload of which only the first bytes arrive: a server that reads the body before asking the queue
        // waits for the rest and never answers.
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(address.Host, address.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            $"POST /v1/segment HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000000\r\n\r\n" +
            "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"));
        string answer = "";
        var buffer = new byte[4096];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!answer.Contains("server-busy") && DateTime.UtcNow < deadline)
        {
            int read = await stream.ReadAsync(buffer).AsTask().WaitAsync(deadline - DateTime.UtcNow);
            if (read == 0)
                break;
            answer += System.Text.Encoding.ASCII.GetString(buffer, 0, read);
        }

        Assert.StartsWith("HTTP/1.1 503", answer);
        Assert.Contains("server-busy", answer);
        slot.Dispose();
        Assert.Equal(HttpStatusCode.OK, (await queued).StatusCode);
    }

    [Fact]
    public async Task An_upload_that_is_no_image_or_too_large_is_refused_from_its_header_without_waiting_for_a_model_slot()
    {
        using var server = new ServingFactory(colour.PackagePath, options =>
        {
            options.MaxConcurrentInferences = 1;
            options.MaxQueuedRequests = 0;
            options.MaxImagePixels = 10_000;
        });
        using var client = server.CreateClient();
        // Every model slot is taken and nothing may wait: a request that needs a slot is answered 503.
        var slot = await server.Queue.EnterAsync(InferenceQueue.Work.ImageEncoding, CancellationToken.None);

        var text = await client.SegmentAsync("not an image"u8.ToArray(), "red, blue");
        var large = await client.EncodeAsync(Pictures.RedLeftBlueRight(200, 100));

        await text.AssertProblemAsync(HttpStatusCode.BadRequest, "unreadable-image");
        await large.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "image-too-many-pixels");
        slot.Dispose();
    }

    [Fact]
    public async Task An_upload_that_arrives_too_slowly_is_408_and_gives_its_admission_back()
    {
        // One admission in all: a client trickling its upload would otherwise hold it, and every other upload get 503.
        // On Kestrel, with a raw socket: the client sends the headers and half the body, then nothing.
        using var server = new ServingFactory(colour.PackagePath, options =>
        {
            options.MaxConcurrentInferences = 1;
            options.MaxQueuedRequests = 0;
            options.UploadTimeout = TimeSpan.FromSeconds(1);
        });
        Uri address = server.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = address };
        byte[] image = Pictures.RedLeftBlueRight(96, 64);
        using var socket = await ApiClient.SendHalfAnUploadAsync(address, ApiClient.Upload(image, "red, blue"));
        var stream = socket.GetStream();
        await WaitUntil(() => server.Queue.Admitted(InferenceQueue.Work.ImageEncoding) == 1);

        var refused = await client.SegmentAsync(image, "red, blue");
        string answer = await ReadResponseAsync(stream);
        var afterwards = await client.SegmentAsync(image, "red, blue");

        string busy = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "server-busy");
        // The admission is held by an upload, not by the model: the answer must not say the model slots are taken.
        Assert.Contains("0 of 1 model slots are in use and 1 more request is admitted (uploading or waiting for a slot)", busy);
        Assert.StartsWith("HTTP/1.1 408 ", answer);
        Assert.Contains("application/problem+json", answer);
        Assert.Contains("request-timeout", answer);
        Assert.Contains("within 1 s (UploadTimeout)", answer);
        Assert.Equal(Reference.Indices(Reference.OneShot(colour.Model, image, "red", "blue")), (await afterwards.ReadSegmentationAsync()).MaskIndices);
        // Kestrel drains what is left of a body after the response: the stopped read must not leave its reader mid-read
        // ("automatic draining of the request body failed because the body reader is in an invalid state", an error
        // logged for every slow client).
        await Task.Delay(500);
        Assert.Empty(server.Errors.Entries);
    }

    /// <summary>The raw response on <paramref name="stream"/>: its head and as much of its body as arrives within 30 s.</summary>
    private static async Task<string> ReadResponseAsync(System.Net.Sockets.NetworkStream stream)
    {
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, limit.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                string text = System.Text.Encoding.UTF8.GetString(received.ToArray());
                if (text.Contains("UploadTimeout", StringComparison.Ordinal) && text.TrimEnd().EndsWith('}'))
                    break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The server may close the connection after answering; what arrived is the answer.
        }
        return System.Text.Encoding.UTF8.GetString(received.ToArray());
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
