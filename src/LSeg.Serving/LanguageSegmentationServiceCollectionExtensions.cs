using LSeg.Serving;
using LSeg.Serving.Api;
using LSeg.Serving.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the LSeg segmentation service in an ASP.NET Core application.</summary>
public static class LanguageSegmentationServiceCollectionExtensions
{
    /// <summary>
    /// Adds what <c>app.MapLanguageSegmentation()</c> serves: one <see cref="LSeg.MLNet.LanguageSegmentationModel"/>
    /// shared by all requests (loaded when the host starts, disposed after the last request using it), a memory-bounded
    /// cache of encoded images, a bounded queue in front of the model, a readiness check, an OpenAPI document, and
    /// ASP.NET Core's problem-details service, so that <c>app.UseExceptionHandler()</c> and <c>app.UseStatusCodePages()</c>
    /// answer what the app's other routes refuse (an unknown path, a wrong method) with problem+json as the API does.
    /// Options are validated when the host starts: a bad value or a missing model package stops it with a message.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets the model, device and limits; the defaults serve the default model (from LSeg.MLNet.DefaultModel, which the application must reference) on the CPU.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddLanguageSegmentation(this IServiceCollection services, Action<LanguageSegmentationServingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<LanguageSegmentationServingOptions>();
        if (configure is not null)
            options.Configure(configure);
        if (services.Any(descriptor => descriptor.ServiceType == typeof(ServedModel)))
            return services; // added before: only the new configuration applies

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LanguageSegmentationServingOptions>, ServingOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<InferenceQueue>();
        services.AddSingleton<EncodedImageCache>();
        services.AddSingleton<ServedModel>();
        services.AddHostedService(provider => provider.GetRequiredService<ServedModel>());
        services.AddHealthChecks().AddCheck<ModelReadinessCheck>("lseg-model", tags: [ModelReadinessCheck.Tag]);
        OpenApiDocumentation.Register(services);
        services.AddProblemDetails();
        return services;
    }
}
