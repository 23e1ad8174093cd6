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
    /// <summary>
    /// What prevents loading <paramref name="tensors"/> into <paramref name="module"/>: one line listing the missing keys
    /// and one per shape mismatch (key, expected shape, checkpoint shape); empty when they fit.
    /// </summary>
    /// <param name="module">The module that would receive the weights.</param>
    /// <param name="tensors">Checkpoint tensors keyed like <paramref name="module"/>'s state dict.</param>
    /// <param name="what">How messages name the module (e.g. "the CLIP text transformer").</param>
    /// <param name="checkpointPrefix">The prefix the keys carry in the checkpoint, so messages name them as the file does.</param>
    public static IReadOnlyList<string> Problems(nn.Module module, IReadOnlyDictionary<string, CheckpointTensor> tensors, string what, string checkpointPrefix)
    {
        var expected = module.state_dict();
        var problems = new List<string>();
        var missing = AliasGroups(expected).Where(g => !g.Any(tensors.ContainsKey)).Select(g => checkpointPrefix + g[0]).ToList();
        if (missing.Count > 0)
            problems.Add($"Missing keys for {what} ({missing.Count}): {string.Join(", ", missing)}.");
        foreach (var (key, target) in expected)
        {
            if (tensors.TryGetValue(key, out var source) && !source.Shape.SequenceEqual(target.shape))
                problems.Add($"Shape mismatch at '{checkpointPrefix}{key}': {what} expects [{string.Join(", ", target.shape)}], the checkpoint has {source.ShapeText}.");
        }
        return problems;
    }

    /// <summary>Checks keys and shapes, then loads. Returns the checkpoint keys the module does not have (not loaded).</summary>
    /// <exception cref="InvalidDataException">Keys are missing or shapes differ; the message lists each.</exception>
    public static IReadOnlyList<string> Load(nn.Module module, IReadOnlyDictionary<string, CheckpointTensor> tensors, string what, string checkpointPrefix)
    {
        var problems = Problems(module, tensors, what, checkpointPrefix);
        if (problems.Count > 0)
            throw new InvalidDataException($"The checkpoint does not fit {what}. {string.Join(" ", problems)}");

        var expected = module.state_dict();
        using (torch.no_grad())
        {
            foreach (var group in AliasGroups(expected))
            {
                string key = group.First(tensors.ContainsKey);
                using var loaded = tensors[key].Load(expected[key].dtype);
                expected[key].copy_(loaded);
            }
        }
        return tensors.Keys.Where(k => !expected.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// State-dict keys grouped by tensor: a module may register one tensor under two names (aliases, the same tensor
    /// object), and loading any one of their keys fills all of them.
    /// </summary>
    private static List<List<string>> AliasGroups(Dictionary<string, Tensor> expected)
        => expected
            .GroupBy(kv => kv.Value, kv => kv.Key, ReferenceEqualityComparer.Instance)
            .Select(g => g.OrderBy(k => k, StringComparer.Ordinal).ToList())
            .ToList();
}
