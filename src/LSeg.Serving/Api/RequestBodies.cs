using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace LSeg.Serving.Api;

/// <summary>
/// Reads request bodies within the server's limits: the multipart upload (file field <c>image</c>, text fields) and
/// the JSON label list. The byte limit is checked from Content-Length before anything is read, set on the server
/// (Kestrel stops reading past it) and set on the multipart reader, so an oversized upload is never buffered whole.
/// </summary>
internal static class RequestBodies
{
    /// <summary>How long a read stopped by the upload deadline may take to end before the connection is aborted.</summary>
    private static readonly TimeSpan UnansweredReadGrace = TimeSpan.FromSeconds(2);

    /// <summary>Room for the multipart boundaries and part headers beside the image bytes and the labels field.</summary>
    private const long MultipartOverheadBytes = 64 * 1024;

    /// <summary>
    /// Room for the multipart body beyond the image: boundaries and headers, and the largest labels field the options
    /// allow (up to 4 UTF-8 bytes per character, a comma between labels), so that long label lists are not answered as
    /// an image too large.
    /// </summary>
    private static long MultipartOverhead(LanguageSegmentationServingOptions options) =>
        MultipartOverheadBytes + options.MaxLabels * (options.MaxLabelLength * 4L + 1);

    /// <summary>The uploaded image's bytes and the form's text fields.</summary>
    public sealed record Upload(byte[] Image, IFormCollection Form)
    {
        /// <summary>The <c>labels</c> text field, checked to be text.</summary>
        /// <exception cref="ServingProblem">The labels were sent as a file part, or are not valid UTF-8.</exception>
        public string? Labels()
        {
            string? labels = Form["labels"];
            if (string.IsNullOrEmpty(labels) && Form.Files.GetFile("labels") is not null)
                throw Problems.MissingLabels("its 'labels' part is a file part (it has a filename), not a text field; send them as a text field, e.g. curl -F \"labels=cat, floor, other\"");
            // The form reader decodes a field without a charset as UTF-8 and replaces bytes that are not with U+FFFD: a
            // Latin-1 "café" would become "caf\uFFFD" and be segmented as that. No label needs the replacement character.
            if (labels?.Contains('\uFFFD', StringComparison.Ordinal) == true)
                throw Problems.LabelsNotUtf8();
            return labels;
        }
    }

    /// <summary>The JSON body of a label change.</summary>
    public sealed record LabelsBody(IReadOnlyList<string?>? Labels);

    /// <summary>
    /// Reads the upload within <see cref="LanguageSegmentationServingOptions.UploadTimeout"/>: its caller holds an admission
    /// while it arrives (see <see cref="Hosting.InferenceQueue.Admit"/>).
    /// </summary>
    /// <exception cref="ServingProblem">Not multipart, too large, malformed (including a body that ends before its closing boundary), without one <c>image</c> file, or not all there within the upload timeout (408).</exception>
    public static async Task<Upload> ReadUploadAsync(HttpRequest request, LanguageSegmentationServingOptions options, CancellationToken cancellation)
    {
        // The deadline stops a pending read with CancelPendingRead, not with a cancelled token: Kestrel aborts the
        // connection (a reset, no answer) when a body read is cancelled by its token, and the client should learn why.
        // Where middleware replaced the body (request buffering, decompression, body logging), the request's reader wraps
        // that stream, and cancelling it cancels the stream's read by its token: Kestrel may then reset the connection
        // instead of letting the 408 through. If the read has not ended after a grace period, the connection is aborted,
        // so that the admission is given back all the same.
        using var deadline = new CancellationTokenSource(options.UploadTimeout);
        using var abort = new CancellationTokenSource();
        var reader = request.BodyReader;
        using var stop = deadline.Token.Register(() =>
        {
            reader.CancelPendingRead();
            abort.CancelAfter(UnansweredReadGrace);
        });
        using var abortConnection = abort.Token.Register(static context => ((HttpContext)context!).Abort(), request.HttpContext);
        // The form reads through a stream that gives the reader back after a stopped read: Kestrel's own request stream
        // throws on it without AdvanceTo, which left the reader mid-read, and Kestrel's drain of the rest of the body
        // then logged an error for every upload that ran out of time.
        var body = request.Body;
        request.Body = new ReleasingBodyStream(reader);
        try
        {
            return await ReadUploadWithinAsync(request, options, cancellation, deadline.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && deadline.IsCancellationRequested && !cancellation.IsCancellationRequested)
        {
            // Stopped by the deadline, not by the client (whose abort is not answered): surfaces as a cancellation, or as
            // an IOException from the multipart reader. The answer tells the client not to reuse the connection (Kestrel
            // still reads what is left of the body, for at most its drain timeout, before it closes it).
            request.HttpContext.Response.Headers.Connection = "close";
            throw Problems.UploadTooSlow(options.UploadTimeout);
        }
        finally
        {
            request.Body = body;
        }
    }

    /// <summary>
    /// A read-only stream over <paramref name="reader"/> that advances it after every read, a cancelled one included
    /// (<see cref="PipeReader.CancelPendingRead"/>), so that the reader is never left mid-read.
    /// </summary>
    private sealed class ReleasingBodyStream(PipeReader reader) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                if (result.IsCanceled)
                {
                    reader.AdvanceTo(result.Buffer.Start);
                    throw new OperationCanceledException("The upload's read was stopped by its deadline.");
                }
                // An empty result that is not the end is read again (returning 0 would mean the end of the body).
                if (result.Buffer.IsEmpty && !result.IsCompleted && buffer.Length > 0)
                {
                    reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    continue;
                }
                int count = (int)Math.Min(result.Buffer.Length, buffer.Length);
                result.Buffer.Slice(0, count).CopyTo(buffer.Span);
                reader.AdvanceTo(result.Buffer.GetPosition(count));
                return count;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        // Kestrel refuses synchronous body reads (AllowSynchronousIO); so does this stream, which the form reads asynchronously.
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The upload is read asynchronously.");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static async Task<Upload> ReadUploadWithinAsync(HttpRequest request, LanguageSegmentationServingOptions options, CancellationToken cancellation, CancellationToken deadline)
    {
        if (!request.HasFormContentType || !request.ContentType!.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase))
            throw Problems.NotMultipart(request.ContentType);
        long overhead = MultipartOverhead(options);
        LimitBody(request, options.MaxImageBytes + overhead, length => Problems.TooManyBytes(options.MaxImageBytes, length));
        request.HttpContext.Features.Set<IFormFeature>(new FormFeature(request, new FormOptions
        {
            MultipartBodyLengthLimit = options.MaxImageBytes,
            // The file part is kept in memory (it is copied into an array next anyway): beyond the default 64 KiB the form
            // spilled it to a temporary file, so a full or read-only temporary folder (a container with a read-only root)
            // failed every real photo, as a 400 "malformed" the client would not retry. Admission bounds how many are read.
            MemoryBufferThreshold = (int)Math.Min(int.MaxValue, options.MaxImageBytes + overhead),
            ValueCountLimit = 16,
            ValueLengthLimit = (int)Math.Min(int.MaxValue, overhead),
        }));

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellation);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw Problems.TooManyBytes(options.MaxImageBytes, request.ContentLength);
        }
        catch (InvalidDataException e) when (e.Message.Contains("body length limit", StringComparison.OrdinalIgnoreCase))
        {
            throw Problems.TooManyBytes(options.MaxImageBytes, null);
        }
        catch (InvalidDataException e)
        {
            throw Problems.MalformedBody($"The multipart body cannot be read: {e.Message}");
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel refused the body itself (too slow: 408; bad chunked framing: 400): its status, not a malformed form.
            // Caught before IOException, which it derives from.
            throw BodyRefused(e);
        }
        catch (IOException e) when (!request.HttpContext.RequestAborted.IsCancellationRequested && !deadline.IsCancellationRequested)
        {
            // The body ends before the closing boundary (a cut-off upload, or bytes that are not multipart at all): the
            // multipart reader says "Unexpected end of Stream". A client that went away is not answered.
            throw Problems.MalformedBody($"The multipart body cannot be read: it ends before its closing boundary ({e.Message})");
        }

        // A part without a filename is a text field, however binary: it is no image file, and saying "no part named 'image'"
        // would send the client looking for a typo in the name.
        var images = form.Files.GetFiles("image");
        if (images.Count == 0)
            throw form.ContainsKey("image") ? Problems.ImageNotAFile() : Problems.MissingImage();
        if (images.Count > 1)
            throw Problems.ImagesTwice(images.Count);
        var file = images[0];
        if (file.Length > options.MaxImageBytes)
            throw Problems.TooManyBytes(options.MaxImageBytes, file.Length);
        if (file.Length == 0)
            throw Problems.UnreadableImage("The 'image' file part is empty (0 bytes).");
        var bytes = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
            await stream.ReadExactlyAsync(bytes, cancellation);
        return new Upload(bytes, form);
    }

    /// <exception cref="ServingProblem">Not JSON, too large, malformed, or without labels.</exception>
    public static async Task<LabelsBody> ReadLabelsAsync(HttpRequest request, LanguageSegmentationServingOptions options, CancellationToken cancellation)
    {
        if (!request.HasJsonContentType())
            throw Problems.NotJson(request.ContentType);
        // Read here rather than by ReadFromJsonAsync, which throws InvalidOperationException (a 500) for a charset .NET
        // does not know, and for a known one in quotes (charset="utf-8", legal HTTP).
        Encoding? encoding = null;
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType) && mediaType.Charset is { Length: > 0 } charset)
            encoding = EncodingOf(charset.ToString()) ?? throw Problems.UnknownCharset(request.ContentType);
        // Generous room for the largest allowed label list, escaped (in long: the options allow int.MaxValue characters): a
        // character outside the Basic Multilingual Plane, one rune of MaxLabelLength, is escaped as two \uXXXX, 12 bytes.
        long limit = options.MaxLabels * (options.MaxLabelLength * 12L + 8) + 1024;
        LimitBody(request, limit, length => Problems.BodyTooLarge(limit, length));
        try
        {
            await using var body = encoding is null || encoding.CodePage == Encoding.UTF8.CodePage
                ? null
                : Encoding.CreateTranscodingStream(request.Body, encoding, Encoding.UTF8, leaveOpen: true);
            return await JsonSerializer.DeserializeAsync<LabelsBody>(body ?? request.Body, ServingJson.Options, cancellation)
                ?? throw Problems.MissingLabels("the body is JSON null; send {\"labels\": [\"cat\", \"floor\", \"other\"]}");
        }
        catch (JsonException e)
        {
            // The serializer names .NET types in a wrong-type message; the client needs the place and the expected shape.
            // A string escape of half a surrogate pair ("\ud800") is valid JSON but no text; the reader reports it as a
            // failed conversion too.
            string reason = e.InnerException is InvalidOperationException inner && inner.Message.Contains("UTF-16", StringComparison.Ordinal)
                ? $"the string at {e.Path ?? "$"} is not valid Unicode text (an escaped half of a surrogate pair, such as \\ud800, without its other half)"
                : e.Message.Contains("could not be converted", StringComparison.Ordinal)
                ? $"the value at {e.Path ?? "$"} has the wrong type (the body is an object whose \"labels\" is an array of strings)"
                : e.Message;
            throw Problems.MalformedBody($"The body is not the JSON this endpoint takes ({{\"labels\": [\"cat\", \"floor\"]}}): {reason}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw Problems.BodyTooLarge(limit, request.ContentLength);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel refused the body itself (too slow: 408; bad chunked framing or shorter than its Content-Length: 400).
            throw BodyRefused(e);
        }
    }

    /// <summary>A body Kestrel refused: 408 request-timeout when it came too slowly, otherwise its status as malformed-request.</summary>
    private static ServingProblem BodyRefused(BadHttpRequestException e) => e.StatusCode == StatusCodes.Status408RequestTimeout
        ? Problems.BodyTooSlow(e.Message)
        : new ServingProblem(e.StatusCode, "malformed-request", "The request body cannot be read", $"The request body could not be read: {e.Message}");

    private static Encoding? EncodingOf(string charset)
    {
        try
        {
            return Encoding.GetEncoding(charset.Trim('"'));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Refuses a declared length over <paramref name="bodyLimit"/> at once and caps what the server reads.</summary>
    private static void LimitBody(HttpRequest request, long bodyLimit, Func<long?, ServingProblem> tooLarge)
    {
        if (request.ContentLength is long length && length > bodyLimit)
            throw tooLarge(length);
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            feature.MaxRequestBodySize = bodyLimit;
    }
}
