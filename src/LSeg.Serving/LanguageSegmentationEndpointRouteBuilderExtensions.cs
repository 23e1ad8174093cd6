using LSeg.Serving.Api;
using LSeg.Serving.Hosting;
using LSeg.Serving.Page;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the LSeg segmentation service's endpoints and page.</summary>
public static class LanguageSegmentationEndpointRouteBuilderExtensions
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IServiceProvider, string> MappedPrefixes = [];

    /// <summary>
    /// Maps, under <paramref name="prefix"/>: the page (<c>/</c>), the API (<c>POST /v1/segment</c>, <c>POST /v1/images</c>,
    /// <c>GET|DELETE /v1/images/{id}</c>, <c>POST /v1/images/{id}/segment</c>, <c>GET /v1/model</c>), liveness
    /// (<c>/healthz</c>) and readiness (<c>/readyz</c>), both outside the returned group, and the OpenAPI document
    /// (<c>/openapi/lseg.json</c>). Errors are answered as RFC 7807 problem+json. Needs <c>services.AddLanguageSegmentation()</c>.
    /// </summary>
    /// <param name="endpoints">The application's routes.</param>
    /// <param name="prefix">Route prefix, e.g. <c>/lseg</c>; empty (the default) maps at the root.</param>
    /// <returns>
    /// The group of the page, the API and the OpenAPI document, to add conventions such as authorization or rate limiting.
    /// The two probes are mapped beside it under the same prefix, so none of its conventions reach them.
    /// </returns>
    /// <exception cref="InvalidOperationException"><c>AddLanguageSegmentation</c> was not called, or the service is already
    /// mapped in this application (one model, one set of endpoints: map it once, under one prefix).</exception>
    public static RouteGroupBuilder MapLanguageSegmentation(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        if (endpoints.ServiceProvider.GetService<ServedModel>() is null)
            throw new InvalidOperationException("MapLanguageSegmentation needs the services of builder.Services.AddLanguageSegmentation(...); add them first.");
        // A second map would register the same endpoint names again, which ASP.NET Core reports only at the first
        // request, by failing every request of the application.
        if (!MappedPrefixes.TryAdd(endpoints.ServiceProvider, prefix))
        {
            MappedPrefixes.TryGetValue(endpoints.ServiceProvider, out string? first);
            throw new InvalidOperationException($"MapLanguageSegmentation was already called in this application (prefix '{first}'); map the service once, under one prefix.");
        }

        var group = endpoints.MapGroup(prefix);
        PageEndpoints.Map(group);
        var api = group.MapGroup("/v1");
        api.WithGroupName(OpenApiDocumentation.DocumentName);
        api.AddEndpointFilter<NoSniffFilter>();
        api.AddEndpointFilter<ProblemFilter>();
        SegmentationEndpoints.Map(api);
        group.MapGet("/openapi/lseg.json", OpenApiDocumentation.Write).ExcludeFromDescription();
        // The probes live in a group of their own with the same prefix, not in the returned one: the conventions a host
        // puts on the API (authorization, rate limiting, CORS, RequireHost) must not reach them. A kubelet or load
        // balancer sends no credentials and probes often; a 401 or 429 there would keep the instance out of rotation or
        // restart it. They tell nothing but up/ready. AllowAnonymous also exempts them from a fallback authorization policy.
        var probes = endpoints.MapGroup(prefix);
        probes.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        probes.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ModelReadinessCheck.Tag) }).AllowAnonymous();
        return group;
    }
}
