using Microsoft.AspNetCore.Http;

namespace LSeg.Serving.Api;

/// <summary>Every problem the service answers with, in one place: status code, stable code and title, and the detail.</summary>
internal static class Problems
{
    public static ServingProblem MissingImage() => new(StatusCodes.Status400BadRequest, "missing-image", "The image is missing",
        "The request has no file part named 'image'; send the photo as multipart/form-data with a file field 'image'.");

    /// <summary>An <c>image</c> part without a filename, which multipart/form-data makes a text field, not a file.</summary>
    public static ServingProblem ImageNotAFile() => new(StatusCodes.Status400BadRequest, "missing-image", "The image is missing",
        "The request has a field named 'image' that is not a file part (its Content-Disposition has no filename); send the photo as a file part: curl -F image=@photo.jpg, or in .NET form.Add(content, \"image\", \"photo.jpg\").");

    public static ServingProblem ImagesTwice(int count) => new(StatusCodes.Status400BadRequest, "malformed-request", "The request body cannot be read",
        $"The request has {count} file parts named 'image'; send one image per request.");

    /// <summary>The labels field decoded to U+FFFD: bytes that are not UTF-8 (a Latin-1 'é'), which the form reader replaces.</summary>
    public static ServingProblem LabelsNotUtf8() => new(StatusCodes.Status400BadRequest, "malformed-request", "The request body cannot be read",
        "The 'labels' field is not valid UTF-8 text: it holds bytes that decode to U+FFFD, the replacement character (text in another encoding, such as Latin-1, without a charset). Send the labels as UTF-8, or declare the field's charset in its Content-Type.");

    public static ServingProblem MissingLabels(string where) => new(StatusCodes.Status400BadRequest, "missing-labels", "The labels are missing",
        $"The request has no labels; {where}.");

    public static ServingProblem NotMultipart(string? contentType) => new(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
        $"The request's Content-Type is '{contentType ?? "(none)"}'; this endpoint takes multipart/form-data with a file field 'image'.");

    public static ServingProblem NotJson(string? contentType) => new(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
        $"The request's Content-Type is '{contentType ?? "(none)"}'; this endpoint takes application/json such as {{\"labels\": [\"cat\", \"floor\"]}}.");

    public static ServingProblem UnknownCharset(string? contentType) => new(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
        $"The request's Content-Type is '{contentType}', a charset this server cannot read; send UTF-8 JSON (application/json).");

    public static ServingProblem UploadTooSlow(TimeSpan timeout) => new(StatusCodes.Status408RequestTimeout, "request-timeout", "The request body arrived too slowly",
        $"The upload did not arrive within {timeout.TotalSeconds:0} s (UploadTimeout); send it again over a faster connection or as a smaller image.");

    /// <summary>Kestrel stopped reading a body that arrived below its minimum data rate.</summary>
    public static ServingProblem BodyTooSlow(string reason) => new(StatusCodes.Status408RequestTimeout, "request-timeout", "The request body arrived too slowly",
        $"The request body could not be read: {reason}");

    public static ServingProblem MalformedBody(string detail) => new(StatusCodes.Status400BadRequest, "malformed-request", "The request body cannot be read", detail);

    public static ServingProblem UnknownFormat(string format) => new(StatusCodes.Status400BadRequest, "unknown-format", "Unknown response format",
        $"format={format} is not known; use format=json (the default) or format=png (in any letter case).");

    public static ServingProblem TooManyBytes(long limit, long? actual) => new(StatusCodes.Status413PayloadTooLarge, "image-too-large", "The upload is too large",
        actual is long n
            ? $"The upload is {n:N0} bytes; this server accepts images up to {limit:N0} bytes (MaxImageBytes)."
            : $"The upload is larger than the {limit:N0} bytes this server accepts (MaxImageBytes).");

    public static ServingProblem BodyTooLarge(long limit, long? actual) => new(StatusCodes.Status413PayloadTooLarge, "body-too-large", "The request body is too large",
        actual is long n
            ? $"The body is {n:N0} bytes; the largest label list this server accepts needs at most {limit:N0} bytes."
            : $"The body is larger than the {limit:N0} bytes the largest label list this server accepts needs.");

    public static ServingProblem TooManyPixels(int width, int height, long limit) => new(StatusCodes.Status413PayloadTooLarge, "image-too-many-pixels", "The image has too many pixels",
        $"The image is {width}×{height} = {(long)width * height:N0} pixels; this server accepts up to {limit:N0} (MaxImagePixels). Downscale it first.");

    public static ServingProblem ImageTooSmall(int width, int height, int minSide) => new(StatusCodes.Status400BadRequest, "image-too-small", "The image is too small",
        $"The image is {width}×{height} pixels; LSeg needs at least {minSide} pixels on each side.");

    public static ServingProblem UnreadableImage(string detail) => new(StatusCodes.Status400BadRequest, "unreadable-image", "The image cannot be read", detail);

    public static ServingProblem TruncatedImage(int width, int height, long bytes) => new(StatusCodes.Status400BadRequest, "truncated-image", "The image is truncated",
        $"The {width}×{height} image ends early: its {bytes:N0} bytes stop before the last pixel rows. Upload the complete file.");

    public static ServingProblem TruncatedHeader(string format, long bytes) => new(StatusCodes.Status400BadRequest, "truncated-image", "The image is truncated",
        $"The {bytes:N0} uploaded bytes begin as a {format} file but end before its pixel data begins. Upload the complete file.");

    public static ServingProblem TooManyLabels(int count, int limit) => new(StatusCodes.Status400BadRequest, "too-many-labels", "Too many labels",
        $"The request has {count} labels; this server accepts up to {limit} (MaxLabels).");

    public static ServingProblem LabelTooLong(int index, int length, int limit) => new(StatusCodes.Status400BadRequest, "label-too-long", "A label is too long",
        $"Label {index} is {length} characters long; this server accepts labels up to {limit} characters (MaxLabelLength, counted in Unicode code points).");

    public static ServingProblem EmptyLabel(int index) => new(StatusCodes.Status400BadRequest, "empty-label", "A label is empty",
        $"Label {index} is empty or whitespace; every label must be non-empty text.");

    public static ServingProblem DuplicateLabel(string label, int index) => new(StatusCodes.Status400BadRequest, "duplicate-label", "A label appears twice",
        $"Label '{label}' appears more than once (again at index {index}); labels must be distinct.");

    public static ServingProblem InvalidLabel(string detail) => new(StatusCodes.Status400BadRequest, "invalid-label", "The model cannot encode a label", detail);

    public static ServingProblem UnknownImage(string id) => new(StatusCodes.Status404NotFound, "unknown-image", "Unknown image id",
        $"No encoded image has the id '{id}'; upload the image with POST /v1/images first.");

    public static ServingProblem ExpiredImage(string id, TimeSpan timeToLive) => new(StatusCodes.Status410Gone, "expired-image", "The encoded image has expired",
        $"The encoded image '{id}' was unused for {Duration(timeToLive)} (ImageTimeToLive) and was dropped; upload the image again.");

    public static ServingProblem EvictedImage(string id, int cacheMegabytes) => new(StatusCodes.Status410Gone, "evicted-image", "The encoded image was evicted",
        $"The encoded image '{id}' was dropped to keep the image cache under {cacheMegabytes} MiB (least recently used first); upload the image again.");

    /// <summary>
    /// A full lane. Admissions are held by requests still uploading as well as by those waiting for or running the model,
    /// so the detail gives both counts rather than blaming the model: with slow uploads every model slot may be free.
    /// </summary>
    public static ServingProblem Busy(int retryAfterSeconds, string work, int running, int slots, int admitted) => new(StatusCodes.Status503ServiceUnavailable, "server-busy", "The server is busy",
        $"The server takes no more {work} now: {running} of {slots} model slots are in use and {admitted} more {(admitted == 1 ? "request is" : "requests are")} admitted (uploading or waiting for a slot), the most it takes at once (MaxConcurrentInferences + MaxQueuedRequests); retry after {retryAfterSeconds} s.")
    {
        RetryAfterSeconds = retryAfterSeconds,
    };

    public static ServingProblem ShuttingDown() => new(StatusCodes.Status503ServiceUnavailable, "shutting-down", "The server is shutting down",
        "The server is stopping and takes no new work; retry against another instance or after it restarts.");

    public static ServingProblem ModelNotReady() => new(StatusCodes.Status503ServiceUnavailable, "model-not-ready", "The model is not loaded yet",
        "The model is still loading; retry in a few seconds (GET /readyz answers 200 once it is ready).")
    {
        RetryAfterSeconds = 2,
    };

    /// <summary>A time-to-live as people say it: "8 seconds", "20 minutes", "3 hours" (not "0.1 minutes").</summary>
    private static string Duration(TimeSpan span) => span.TotalMinutes < 1 ? $"{span.TotalSeconds:0.#} seconds"
        : span.TotalHours < 2 ? $"{span.TotalMinutes:0.#} minutes"
        : $"{span.TotalHours:0.#} hours";
}
