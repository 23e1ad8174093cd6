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
    /// (<c>/healthz</c>), readiness (<c>/readyz</c>) and the OpenAPI document (<c>/openapi/lseg.json</c>). Errors are
    /// answered as RFC 7807 problem+json. Needs <c>services.AddLanguageSegmentation()</c>.
    /// </summary>
    /// <param name="endpoints">The application's routes.</param>
    /// <param name="prefix">Route prefix, e.g. <c>/lseg</c>; empty (the default) maps at the root.</param>
    /// <returns>The group of all these endpoints, to add conventions such as authorization (the two probes stay anonymous).</returns>
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
        api.AddEndpointFilter<ProblemFilter>();
        SegmentationEndpoints.Map(api);
        // Probes stay anonymous under the group's conventions (RequireAuthorization): a kubelet or load balancer sends no
        // credentials, and a 401 there would keep the instance out of rotation or restart it. They tell nothing but up/ready.
        group.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        group.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ModelReadinessCheck.Tag) }).AllowAnonymous();
        group.MapGet("/openapi/lseg.json", OpenApiDocumentation.Write).ExcludeFromDescription();
        return group;
    }
}
