using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace LSeg.Serving.Api;

/// <summary>
/// The service's own OpenAPI document (named <see cref="DocumentName"/>, served at <c>/openapi/lseg.json</c>): only
/// the endpoints of this library, so it neither mixes with nor depends on the host application's documents.
/// </summary>
internal static class OpenApiDocumentation
{
    public const string DocumentName = "lseg";

    public static void Register(IServiceCollection services) =>
        services.AddOpenApi(DocumentName, options =>
        {
            options.ShouldInclude = description => description.GroupName == DocumentName;
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "LSeg segmentation service";
                document.Info.Description = "Language-driven semantic segmentation: a per-pixel label map of an image for any list of text labels.";
                return Task.CompletedTask;
            });
            options.AddSchemaTransformer(WireNames);
            options.AddSchemaTransformer(NumbersAsWritten);
        });

    /// <summary>
    /// Names the properties of this library's response bodies as they are written (<see cref="ServingJson"/>): the
    /// generator names them with the host's JSON settings, so a host with PascalCase names of its own would otherwise
    /// document <c>ExpiresAt</c> for the <c>expiresAt</c> the service sends, and a generated client would not read it.
    /// </summary>
    private static Task WireNames(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellation)
    {
        var type = context.JsonTypeInfo.Type;
        if (type.Assembly != typeof(OpenApiDocumentation).Assembly || schema.Properties is not { Count: > 0 } properties)
            return Task.CompletedTask;
        var wire = ServingJson.Options.GetTypeInfo(type).Properties
            .Where(p => p.AttributeProvider is System.Reflection.MemberInfo)
            .ToDictionary(p => ((System.Reflection.MemberInfo)p.AttributeProvider!).Name, p => p.Name, StringComparer.Ordinal);
        var names = context.JsonTypeInfo.Properties
            .Where(p => p.AttributeProvider is System.Reflection.MemberInfo member && wire.ContainsKey(member.Name))
            .ToDictionary(p => p.Name, p => wire[((System.Reflection.MemberInfo)p.AttributeProvider!).Name], StringComparer.Ordinal);
        schema.Properties = properties.ToDictionary(p => names.GetValueOrDefault(p.Key, p.Key), p => p.Value);
        if (schema.Required is { Count: > 0 } required)
            schema.Required = new HashSet<string>(required.Select(name => names.GetValueOrDefault(name, name)));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Documents the numbers of this library's bodies as numbers only: the generator follows the host's JSON settings,
    /// whose web defaults read numbers from strings too, and so typed every width, height and share
    /// <c>["integer", "string"]</c> with a digit pattern, a union a generated client must then handle. The service
    /// writes them as JSON numbers (<see cref="ServingJson"/>).
    /// </summary>
    private static Task NumbersAsWritten(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellation)
    {
        // A problem's status, which the service always writes as a number (ProblemFilter): typed by the same host settings
        // as ["null", "integer", "string"] with a digit pattern.
        if (context.JsonPropertyInfo is { Name: "status" } status && typeof(Microsoft.AspNetCore.Mvc.ProblemDetails).IsAssignableFrom(status.DeclaringType))
        {
            schema.Type = JsonSchemaType.Integer;
            schema.Pattern = null;
            return Task.CompletedTask;
        }
        if (context.JsonPropertyInfo?.DeclaringType.Assembly != typeof(OpenApiDocumentation).Assembly)
            return Task.CompletedTask;
        OnlyNumber(schema);
        if (schema.Items is OpenApiSchema items)
            OnlyNumber(items);
        return Task.CompletedTask;

        static void OnlyNumber(OpenApiSchema schema)
        {
            if (schema.Type is not JsonSchemaType type || !type.HasFlag(JsonSchemaType.String) || (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) == 0)
                return;
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }
    }

    /// <summary>
    /// Answers the document as JSON (OpenAPI 3.1), naming as its server the address the request came to, path base
    /// included, as ASP.NET Core's <c>MapOpenApi</c> does: the document's paths begin at the route prefix, so behind
    /// <c>UsePathBase("/base")</c> a client that calls the paths without that server would miss the path base (404).
    /// </summary>
    public static async Task<IResult> Write(HttpContext context, [FromKeyedServices(DocumentName)] IOpenApiDocumentProvider provider)
    {
        // The provider's public method takes no request (only MapOpenApi's internal path does), so the server is set here;
        // the provider builds a new document for every call, so setting it affects this answer only.
        var document = await provider.GetOpenApiDocumentAsync(context.RequestAborted);
        var request = context.Request;
        document.Servers = [new OpenApiServer { Url = Microsoft.AspNetCore.Http.Extensions.UriHelper.BuildAbsolute(request.Scheme, request.Host, request.PathBase) }];
        // Serialised to text first: the OpenAPI writer writes synchronously, which Kestrel refuses on the response body.
        string json = await document.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1, context.RequestAborted);
        return Results.Text(json, "application/json; charset=utf-8");
    }

    /// <summary>
    /// Describes the JSON label list the handler reads itself (not declared with Accepts: routing would then answer a
    /// wrong Content-Type with a bare 415 instead of the handler's problem+json).
    /// </summary>
    public static Task LabelsBody(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellation)
    {
        var labels = new OpenApiSchema
        {
            Type = JsonSchemaType.Array,
            Items = new OpenApiSchema { Type = JsonSchemaType.String },
            Description = "The labels, in the order of the mask's pixel values, e.g. [\"cat\", \"floor\", \"other\"].",
        };
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new()
                {
                    Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Properties = new Dictionary<string, IOpenApiSchema> { ["labels"] = labels },
                        Required = new HashSet<string> { "labels" },
                    },
                },
            },
        };
        return Task.CompletedTask;
    }

    /// <summary>
    /// The values <c>format</c> takes: the handler binds it as a plain string (so that an unknown value is the handler's
    /// 400 problem, not a binding failure), which the generator documents as any string.
    /// </summary>
    public static Task FormatValues(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellation)
    {
        if (operation.Parameters?.OfType<OpenApiParameter>().FirstOrDefault(p => p.Name == "format") is { } format)
        {
            format.Schema = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Enum = [System.Text.Json.Nodes.JsonValue.Create("json"), System.Text.Json.Nodes.JsonValue.Create("png")],
                Default = System.Text.Json.Nodes.JsonValue.Create("json"),
            };
            format.Description = "json (the default; also when empty) answers the segmentation JSON, png the mask PNG itself; letter case is ignored.";
        }
        return Task.CompletedTask;
    }

    /// <summary>The <c>Location</c> header of a created encoded image, which the generator cannot see in the handler.</summary>
    public static Task CreatedLocation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellation)
    {
        if (operation.Responses?.TryGetValue("201", out var created) == true && created is OpenApiResponse response)
        {
            response.Headers ??= new Dictionary<string, IOpenApiHeader>();
            response.Headers["Location"] = new OpenApiHeader
            {
                Description = "The encoded image's URL (GET, DELETE; add /segment to segment it), absolute path with the route prefix and path base.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uri-reference" },
            };
        }
        return Task.CompletedTask;
    }

    /// <summary>The <c>?format=png</c> answer beside the JSON one: the mask PNG itself.</summary>
    public static Task MaskPngAlternative(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellation)
    {
        if (operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content is { } content)
            content["image/png"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "With ?format=png: the 8-bit mask PNG, pixel = label index." } };
        return Task.CompletedTask;
    }

    /// <summary>
    /// Describes the multipart body the handler reads itself (it reads the form within its limits rather than through
    /// parameter binding, so the generator cannot see it): a file <c>image</c> and, for one-shot segmentation, <c>labels</c>.
    /// </summary>
    public static Func<OpenApiOperation, OpenApiOperationTransformerContext, CancellationToken, Task> MultipartBody(bool withLabels) =>
        (operation, _, _) =>
        {
            var schema = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    ["image"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "The photo (JPEG, PNG, WebP, GIF, BMP)." },
                },
                Required = new HashSet<string> { "image" },
            };
            if (withLabels)
            {
                schema.Properties["labels"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Comma-separated labels, e.g. \"cat, floor, other\"." };
                schema.Required.Add("labels");
            }
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { ["multipart/form-data"] = new() { Schema = schema } },
            };
            return Task.CompletedTask;
        };
}
