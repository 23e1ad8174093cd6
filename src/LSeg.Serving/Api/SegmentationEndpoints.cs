using LSeg.MLNet;
using LSeg.Serving.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace LSeg.Serving.Api;

/// <summary>
/// The API under <c>/v1</c>: one-shot segmentation, encode once and segment with any labels, the model's manifest.
/// Each handler reads its input within the limits, waits for a model slot, runs the model and answers; problems are
/// thrown as <see cref="ServingProblem"/> and answered as problem+json.
/// </summary>
internal static class SegmentationEndpoints
{
    private const string PngFormat = "png";

    /// <summary>
    /// Endpoint names are global in an ASP.NET Core app (a duplicate fails every request of the app, the host's too), so
    /// the library's are qualified: a host's own "GetImage" does not collide with this one.
    /// </summary>
    internal const string EndpointNamePrefix = "LSeg.";

    public static void Map(RouteGroupBuilder api)
    {
        api.WithTags("LSeg");
        api.MapPost("/segment", SegmentAsync)
            .WithName(EndpointNamePrefix + "Segment")
            .WithSummary("Segments an uploaded image with comma-separated labels.")
            .WithDescription("multipart/form-data with a file 'image' and a text 'labels' (\"cat, floor, other\"). ?format=png answers the mask PNG itself.")
            .AddOpenApiOperationTransformer(OpenApiDocumentation.MultipartBody(withLabels: true))
            .Produces<SegmentationResponse>()
            .AddOpenApiOperationTransformer(OpenApiDocumentation.MaskPngAlternative)
            .AddOpenApiOperationTransformer(OpenApiDocumentation.FormatValues)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status408RequestTimeout)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/images", EncodeImageAsync)
            .WithName(EndpointNamePrefix + "EncodeImage")
            .WithSummary("Encodes an uploaded image once, for segmentations with any labels.")
            .AddOpenApiOperationTransformer(OpenApiDocumentation.MultipartBody(withLabels: false))
            .Produces<EncodedImageResponse>(StatusCodes.Status201Created)
            .AddOpenApiOperationTransformer(OpenApiDocumentation.CreatedLocation)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status408RequestTimeout)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/images/{id}", DescribeImage)
            .WithName(EndpointNamePrefix + "GetImage")
            .WithSummary("Describes an encoded image (and counts as a use, so its expiry moves on).")
            .Produces<EncodedImageResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone);
        api.MapDelete("/images/{id}", DeleteImage)
            .WithName(EndpointNamePrefix + "DeleteImage")
            .WithSummary("Drops an encoded image before it expires.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone);
        api.MapPost("/images/{id}/segment", SegmentEncodedAsync)
            .WithName(EndpointNamePrefix + "SegmentEncodedImage")
            .WithSummary("Segments an encoded image with a label list, without encoding the image again.")
            .WithDescription("application/json {\"labels\": [\"cat\", \"floor\", \"other\"]}. ?format=png answers the mask PNG itself.")
            .AddOpenApiOperationTransformer(OpenApiDocumentation.LabelsBody)
            .Produces<SegmentationResponse>()
            .AddOpenApiOperationTransformer(OpenApiDocumentation.MaskPngAlternative)
            .AddOpenApiOperationTransformer(OpenApiDocumentation.FormatValues)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status408RequestTimeout)
            .ProducesProblem(StatusCodes.Status410Gone)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/model", (ServedModel served) => Results.Json(ModelDescription.Of(served.Model.Manifest), ServingJson.Options))
            .WithName(EndpointNamePrefix + "GetModel")
            .WithSummary("The served model package's manifest, without file hashes.")
            .Produces<System.Text.Json.Nodes.JsonObject>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> SegmentAsync(HttpContext context, string? format, ServedModel served, InferenceQueue queue,
        IOptions<LanguageSegmentationServingOptions> options)
    {
        var settings = options.Value;
        bool png = WantsPng(format);
        var model = served.Model;
        // Admitted before the upload is read (a full lane refuses it unread); its header is checked before a model slot.
        using var admission = queue.Admit(InferenceQueue.Work.ImageEncoding);
        var upload = await RequestBodies.ReadUploadAsync(context.Request, settings, context.RequestAborted);
        var labels = LabelInput.FromCommaSeparated(upload.Labels(), settings);
        CheckHeader(upload.Image, settings);
        SegmentationResult result;
        using (await queue.EnterAsync(InferenceQueue.Work.ImageEncoding, context.RequestAborted))
        {
            context.RequestAborted.ThrowIfCancellationRequested(); // the client may have gone while it waited
            using var image = Decode(upload.Image, settings);
            EncodeLabels(model, labels);
            result = model.Segment(image, labels, settings.InputSize);
        }
        return Answer(result, png);
    }

    private static async Task<IResult> EncodeImageAsync(HttpContext context, ServedModel served, InferenceQueue queue, EncodedImageCache cache,
        IOptions<LanguageSegmentationServingOptions> options)
    {
        var settings = options.Value;
        var model = served.Model;
        using var admission = queue.Admit(InferenceQueue.Work.ImageEncoding);
        var upload = await RequestBodies.ReadUploadAsync(context.Request, settings, context.RequestAborted);
        CheckHeader(upload.Image, settings);
        EncodedImage encoded;
        using (await queue.EnterAsync(InferenceQueue.Work.ImageEncoding, context.RequestAborted))
        {
            // A slot can be granted to a client that has gone (a free slot is taken even on a cancelled token); the
            // encoding cannot be stopped once started, so check before it and before caching what nobody will receive:
            // an orphaned entry would hold 10+ MB for its lifetime and evict the images of clients still there.
            context.RequestAborted.ThrowIfCancellationRequested();
            using var image = Decode(upload.Image, settings);
            encoded = model.EncodeImage(image, settings.InputSize);
        }
        context.RequestAborted.ThrowIfCancellationRequested();
        var handle = cache.Add(encoded);
        // Absolute (with the path base): a relative "images/{id}" resolves wrongly against ".../v1/images/", which routing
        // also matches.
        // Escaped: PathString.Value is the decoded path, and a route prefix or path base outside ASCII is not a valid header.
        context.Response.Headers.Location = $"{context.Request.PathBase.Add(context.Request.Path).ToUriComponent().TrimEnd('/')}/{handle.Id}";
        return Results.Json(new EncodedImageResponse(handle.Id, encoded.OriginalWidth, encoded.OriginalHeight, handle.ExpiresAt), ServingJson.Options,
            statusCode: StatusCodes.Status201Created);
    }

    private static IResult DescribeImage(string id, EncodedImageCache cache)
    {
        var (image, handle) = cache.Get(id);
        return Results.Json(new EncodedImageResponse(handle.Id, image.OriginalWidth, image.OriginalHeight, handle.ExpiresAt), ServingJson.Options);
    }

    private static IResult DeleteImage(string id, EncodedImageCache cache)
    {
        cache.Remove(id);
        return Results.NoContent();
    }

    private static async Task<IResult> SegmentEncodedAsync(string id, HttpContext context, string? format, ServedModel served, InferenceQueue queue,
        EncodedImageCache cache, IOptions<LanguageSegmentationServingOptions> options)
    {
        var settings = options.Value;
        bool png = WantsPng(format);
        var model = served.Model;
        var body = await RequestBodies.ReadLabelsAsync(context.Request, settings, context.RequestAborted);
        var labels = LabelInput.FromList(body.Labels, settings);
        var (encoded, _) = cache.Get(id);
        SegmentationResult result;
        using var admission = queue.Admit(InferenceQueue.Work.LabelChange);
        using (await queue.EnterAsync(InferenceQueue.Work.LabelChange, context.RequestAborted))
        {
            context.RequestAborted.ThrowIfCancellationRequested();
            result = model.Segment(encoded, EncodeLabels(model, labels));
        }
        return Answer(result, png);
    }

    /// <summary>
    /// True for <c>format=png</c>; JSON for <c>json</c>, for none and for an empty one (<c>?format=</c>, as a URL template
    /// leaves an unset value). Letter case is ignored, as in a media type.
    /// </summary>
    private static bool WantsPng(string? format) =>
        string.IsNullOrEmpty(format) || string.Equals(format, "json", StringComparison.OrdinalIgnoreCase) ? false
        : string.Equals(format, PngFormat, StringComparison.OrdinalIgnoreCase) ? true
        : throw Problems.UnknownFormat(format);

    /// <summary>Format, pixel count and size from the header, before a request waits for a model slot it would only be refused in.</summary>
    private static void CheckHeader(byte[] bytes, LanguageSegmentationServingOptions settings) =>
        UploadedImageDecoder.CheckHeader(bytes, settings.MaxImagePixels, LanguageSegmentationModelOptions.Defaults.MinImageSide);

    private static Microsoft.ML.Data.MLImage Decode(byte[] bytes, LanguageSegmentationServingOptions settings) =>
        UploadedImageDecoder.Decode(bytes, settings.MaxImagePixels, LanguageSegmentationModelOptions.Defaults.MinImageSide);

    /// <summary>The model's own label checks (tokens per label, a fixed label table) answered as 400.</summary>
    private static LabelEmbeddings EncodeLabels(LanguageSegmentationModel model, string[] labels)
    {
        try
        {
            return model.EncodeLabels(labels);
        }
        catch (ArgumentException e)
        {
            // ArgumentException.Message ends with " (Parameter 'labels')": not the client's business.
            throw Problems.InvalidLabel(LSeg.MLNet.Runtime.ArgumentMessage.WithoutParameter(e));
        }
    }

    private static IResult Answer(SegmentationResult result, bool png) =>
        png ? Results.File(result.ToMaskPng(), "image/png") : Results.Json(SegmentationResponse.From(result), ServingJson.Options);
}
