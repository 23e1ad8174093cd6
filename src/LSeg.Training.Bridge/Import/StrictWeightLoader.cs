using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Import;

/// <summary>
/// Copies checkpoint tensors into a TorchSharp module by state-dict key with strict checks: every key of the module
/// must be present with the same shape. All problems are collected and reported together before anything is copied.
/// Tensors are read from the checkpoint one at a time and cast to the module's element type (float16 → float32).
/// </summary>
internal static class StrictWeightLoader
{
    /// <summary>Checks keys and shapes, then loads. Returns the checkpoint keys the module does not have (not loaded).</summary>
    /// <param name="module">Receives the weights.</param>
    /// <param name="tensors">Checkpoint tensors keyed like <paramref name="module"/>'s state dict.</param>
    /// <param name="what">How messages name the module (e.g. "the CLIP text transformer").</param>
    /// <param name="checkpointPrefix">The prefix the keys carry in the checkpoint, so messages name them as the file does.</param>
    /// <exception cref="InvalidDataException">Keys are missing or shapes differ; the message lists each.</exception>
    public static IReadOnlyList<string> Load(nn.Module module, IReadOnlyDictionary<string, CheckpointTensor> tensors, string what, string checkpointPrefix)
    {
        // A module may register one tensor under two names (a field and a property's backing field): such aliases
        // are the same tensor object, so loading any one of their keys fills all of them.
        var expected = module.state_dict();
        var aliasGroups = expected
            .GroupBy(kv => kv.Value, kv => kv, ReferenceEqualityComparer.Instance)
            .Select(g => g.Select(kv => kv.Key).OrderBy(k => k.Contains("k__BackingField", StringComparison.Ordinal)).ThenBy(k => k, StringComparer.Ordinal).ToList())
            .ToList();
        var missing = aliasGroups.Where(g => !g.Any(tensors.ContainsKey)).Select(g => g[0]).ToList();
        var mismatched = new List<string>();
        foreach (var (key, target) in expected)
        {
            if (tensors.TryGetValue(key, out var source) && !source.Shape.SequenceEqual(target.shape))
                mismatched.Add($"'{checkpointPrefix}{key}': {what} expects [{string.Join(", ", target.shape)}], the checkpoint has {source.ShapeText}");
        }
        if (missing.Count > 0 || mismatched.Count > 0)
        {
            var message = new System.Text.StringBuilder($"The checkpoint does not fit {what}.");
            if (missing.Count > 0)
                message.Append($" Missing keys ({missing.Count}): {string.Join(", ", missing.Select(k => checkpointPrefix + k))}.");
            if (mismatched.Count > 0)
                message.Append($" Shape mismatches ({mismatched.Count}): {string.Join("; ", mismatched)}.");
            throw new InvalidDataException(message.ToString());
        }

        using (torch.no_grad())
        {
            foreach (var group in aliasGroups)
            {
                string key = group.First(tensors.ContainsKey);
                using var loaded = tensors[key].Load(expected[key].dtype);
                expected[key].copy_(loaded);
            }
        }
        return tensors.Keys.Where(k => !expected.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
    }
}
