using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace LSeg.Orleans.Workers;

/// <summary>
/// Places a grain on the silo named by its key (<see cref="SiloAddress.ToParsableString"/>), and nowhere else: the job
/// runner talks to each silo's worker by name, so it decides how much work each silo holds. A key naming a silo that
/// is not (or no longer) in the cluster fails the call instead of activating the worker somewhere else.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed class SiloTargetedPlacement : PlacementStrategy
{
    /// <summary>The grain key that addresses the worker on <paramref name="silo"/>.</summary>
    public static string KeyOf(SiloAddress silo) => silo.ToParsableString();
}

/// <summary>Marks a grain class as placed by <see cref="SiloTargetedPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class SiloTargetedPlacementAttribute() : PlacementAttribute(new SiloTargetedPlacement());

/// <summary>Chooses the silo named by the grain key.</summary>
internal sealed class SiloTargetedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        string key = target.GrainIdentity.Key.ToString();
        SiloAddress wanted;
        try
        {
            wanted = SiloAddress.FromParsableString(key);
        }
        catch (FormatException)
        {
            throw new OrleansException($"Segmentation worker key '{key}' does not name a silo.");
        }
        foreach (var silo in context.GetCompatibleSilos(target))
        {
            if (silo.Equals(wanted))
                return Task.FromResult(silo);
        }
        throw new SiloUnavailableException($"Silo {wanted} is not an active member of the cluster; its segmentation worker cannot start.");
    }
}
