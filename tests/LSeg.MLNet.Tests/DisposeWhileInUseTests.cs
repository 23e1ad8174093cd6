using LSeg.MLNet.Tests.Packages;

namespace LSeg.MLNet.Tests;

/// <summary>
/// Disposing a model while other threads still segment with it (a host shutting down, a silo stopped mid-job) must
/// neither crash the process in native code nor hand out a wrong mask: every call either returns the mask it would
/// have returned anyway or throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class DisposeWhileInUseTests
{
    [SkippableFact]
    public async Task Disposing_a_model_while_threads_segment_with_it_ends_each_call_with_its_mask_or_ObjectDisposedException()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");
        // The default model, so that a call lasts long enough (hundreds of ms) for Dispose to land in the middle of one.
        var model = LanguageSegmentationModel.LoadDefault();
        using var image = TestImages.GreenTopYellowBottom(320, 224);
        string[] labels = ["grass", "sky", "sand"];
        int[] expected = model.Segment(image, labels).Mask;
        var encoded = model.EncodeImage(image);
        var encodedLabels = model.EncodeLabels(labels);
        using var started = new CountdownEvent(2);

        // Each segmenter gets a thread of its own (LongRunning): on a 2-core machine a thread-pool task could wait
        // forever behind the other one's loop, because the pool adds no thread while the CPU is saturated, and the
        // test would hang in started.Wait().
        Task<(int Completed, bool SawDisposed)> Segmenter(bool labelChanges) => Task.Factory.StartNew(() =>
        {
            int completed = 0;
            started.Signal();
            try
            {
                while (true)
                {
                    var result = labelChanges ? model.Segment(encoded, encodedLabels) : model.Segment(image, labels);
                    Assert.Equal(expected, result.Mask);
                    completed++;
                }
            }
            catch (ObjectDisposedException)
            {
                return (completed, true);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var oneShot = Segmenter(labelChanges: false);
        var relabel = Segmenter(labelChanges: true);
        started.Wait();
        await Task.Delay(150);
        model.Dispose();
        var results = await Task.WhenAll(oneShot, relabel);

        Assert.All(results, r => Assert.True(r.SawDisposed));
        Assert.Throws<ObjectDisposedException>(() => model.EncodeLabels(["grass"]));
    }

    /// <summary>A label list that disposes the model the first time it is read: inside a call that has already started.</summary>
    private sealed class DisposingLabels(string[] labels, LanguageSegmentationModel model) : IReadOnlyList<string>
    {
        public bool Disposed { get; private set; }

        public int Count
        {
            get
            {
                if (!Disposed)
                {
                    model.Dispose();
                    Disposed = true;
                }
                return labels.Length;
            }
        }

        public string this[int index] => labels[index];
        public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)labels).GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [SkippableFact]
    public void A_one_shot_Segment_that_has_started_finishes_with_its_mask_when_the_model_is_disposed_during_it()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");
        // The default model: its one-shot Segment encodes the labels, then runs the C# head on the encoded image, each step
        // a member of the model's own; Dispose lands after the call began, while the labels are read.
        var model = LanguageSegmentationModel.LoadDefault();
        using var image = TestImages.GreenTopYellowBottom(96, 64);
        string[] labels = ["grass", "sky", "sand"];
        int[] expected = model.Segment(image, labels).Mask;
        int[][] expectedBatch = [.. model.Segment([image, image], labels).Select(r => r.Mask)];
        var batchModel = LanguageSegmentationModel.LoadDefault();
        var disposing = new DisposingLabels(labels, model);
        var disposingBatch = new DisposingLabels(labels, batchModel);

        var result = model.Segment(image, disposing);
        var batch = batchModel.Segment([image, image], disposingBatch);

        Assert.True(disposing.Disposed && disposingBatch.Disposed);
        Assert.Equal(expected, result.Mask);
        Assert.Equal(expectedBatch, batch.Select(r => r.Mask));
        // calls that start afterwards are refused
        Assert.Throws<ObjectDisposedException>(() => model.Segment(image, labels));
        Assert.Throws<ObjectDisposedException>(() => batchModel.EncodeLabels(labels));
    }
}
