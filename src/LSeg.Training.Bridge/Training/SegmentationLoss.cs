using LSeg.Training.Bridge.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// The LSeg training loss: per-pixel softmax cross-entropy over the batch's label set on the temperature-scaled
/// logits, void pixels ignored. For 2-way episodes the logits of <c>"other"</c> (label 0 of the forward pass) and of
/// each sample's own foreground label are picked out first, so one forward pass serves a batch whose samples have
/// different foreground classes.
/// </summary>
public static class SegmentationLoss
{
    /// <summary>
    /// Cross-entropy of logits [B, N, H, W] against targets [B, H, W] (int64; <see cref="Augmenter.IgnoreTarget"/>
    /// ignored). With <paramref name="labelWeights"/> [N], each pixel's loss is multiplied by its target's weight and the
    /// mean divides by the sum of those weights (PyTorch's weighted mean), so the loss keeps its scale.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, Tensor? labelWeights = null) =>
        nn.functional.cross_entropy(logits, targets, weight: labelWeights, ignore_index: Augmenter.IgnoreTarget);

    /// <summary>
    /// Episode loss: <paramref name="logits"/> [B, 1 + K, H, W] were computed with the label set ["other", label_0 …
    /// label_{K−1}]; sample b is scored 2-way between "other" and its foreground label <paramref name="episodeLabels"/>[b]
    /// (targets 0 = other, 1 = foreground).
    /// </summary>
    public static Tensor EpisodeCrossEntropy(Tensor logits, Tensor targets, IReadOnlyList<int> episodeLabels)
    {
        long b = logits.shape[0], h = logits.shape[2], w = logits.shape[3];
        var channels = new long[b * 2];
        for (int i = 0; i < b; i++)
        {
            channels[2 * i] = 0;
            channels[2 * i + 1] = episodeLabels[i] + 1;
        }
        var index = tensor(channels, [b, 2, 1, 1]).to(logits.device).expand(b, 2, h, w);
        var twoWay = logits.gather(1, index);
        return CrossEntropy(twoWay, targets);
    }
}
