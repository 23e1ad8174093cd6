using Microsoft.AspNetCore.Http;

namespace LSeg.Serving.Api;

/// <summary>
/// Marks every API response <c>X-Content-Type-Options: nosniff</c>, as the page's assets are: the JSON echoes labels as
/// written (the relaxed encoder keeps <c>&lt;</c> and <c>&gt;</c>), and a browser must never read an answer as HTML or script.
/// </summary>
internal sealed class NoSniffFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        context.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
        return next(context);
    }
}
