using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LSeg.Serving.Hosting;

/// <summary>Readiness (<c>GET /readyz</c>): healthy once the model is loaded, unhealthy while loading and once shutdown begins.</summary>
internal sealed class ModelReadinessCheck(ServedModel model) : IHealthCheck
{
    /// <summary>Tag of the checks <c>/readyz</c> runs.</summary>
    public const string Tag = "lseg-ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(model.IsReady
            ? HealthCheckResult.Healthy("The model is loaded.")
            : HealthCheckResult.Unhealthy("The model is loading, or the server is stopping."));
}
