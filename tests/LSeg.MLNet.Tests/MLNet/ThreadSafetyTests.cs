using LSeg.MLNet.Tests.Packages;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>
/// What may be shared between threads: a PredictionEngine shared by 4 threads (ML.NET's engine is not thread-safe) must
/// never crash the process or return a wrong mask, only the clear misuse exception; the model's own API is thread-safe.
/// </summary>
public sealed class ThreadSafetyTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    public const string Command = "shared-engine";
    private const int Threads = 4, CallsPerThread = 50;

    /// <summary>
    /// The child process: one engine over LoadImages → LanguageSegment, called 50 times from each of 4 threads at once;
    /// prints how many calls gave the single-threaded mask, how many threw the misuse exception, and how many did neither.
    /// </summary>
    public static int RunSharedEngine(string[] args)
    {
        string package = args[0], folder = args[1];
        string[] files = args[2..];
        var context = new MLContext();
        using var model = LanguageSegmentationModel.Load(package);
        var table = context.Data.LoadFromEnumerable(files.Select(f => new ImageFileRow { ImagePath = f }));
        var pipeline = context.Transforms.LoadImages("Image", folder, nameof(ImageFileRow.ImagePath))
            .Append(context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "green", "blue", "yellow", "white", "black"], Model = model, InputSize = 64 }));
        using var fitted = pipeline.Fit(table);
        var reference = context.Model.CreatePredictionEngine<ImageFileRow, SegmentationRow>(fitted);
        var expected = files.ToDictionary(f => f, f => reference.Predict(new ImageFileRow { ImagePath = f }).Mask.ToArray());

        var shared = context.Model.CreatePredictionEngine<ImageFileRow, SegmentationRow>(fitted);
        int correct = 0, misuse = 0, wrong = 0;
        var others = new System.Collections.Concurrent.ConcurrentBag<string>();
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            for (int k = 0; k < CallsPerThread; k++)
            {
                string file = files[(t + k) % files.Length];
                try
                {
                    var row = shared.Predict(new ImageFileRow { ImagePath = file });
                    if (row.Mask.AsSpan().SequenceEqual(expected[file]) && row.Width * row.Height == row.Mask.Length)
                        Interlocked.Increment(ref correct);
                    else
                    {
                        Interlocked.Increment(ref wrong);
                        var match = expected.FirstOrDefault(kv => kv.Value.AsSpan().SequenceEqual(row.Mask)).Key;
                        others.Add($"wrong: {file} gave {row.Width}x{row.Height}, {row.Mask.Length} values, the mask of {match ?? "no image"}");
                    }
                }
                catch (InvalidOperationException e) when (e.Message.Contains("several threads at once", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref misuse);
                }
                catch (Exception e)
                {
                    others.Add(e.GetType().Name + ": " + e.Message.Split('\n')[0] + " at " + e.StackTrace?.Split('\n').FirstOrDefault(l => !l.Contains(" System.", StringComparison.Ordinal))?.Trim());
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        // The misuse is over: the same engine, now used from this thread only, must give every mask again.
        int correctAfter = 0;
        foreach (string file in files)
        {
            try
            {
                if (shared.Predict(new ImageFileRow { ImagePath = file }).Mask.AsSpan().SequenceEqual(expected[file]))
                    correctAfter++;
            }
            catch (Exception e)
            {
                others.Add("after the threads: " + e.GetType().Name + ": " + e.Message.Split('\n')[0]);
            }
        }
        Console.WriteLine($"correct={correct} misuse={misuse} wrong={wrong} other={others.Count - wrong} after={correctAfter}/{files.Length}");
        foreach (string other in others.Distinct())
            Console.WriteLine("other: " + other);
        return 0;
    }

    [Fact]
    public void A_PredictionEngine_shared_by_4_threads_gives_correct_masks_or_the_misuse_exception_and_the_process_exits_normally()
    {
        var (exitCode, stdout, stderr) = ChildProcess.Run(null, TimeSpan.FromMinutes(3),
            [Command, fixture.PackagePath, fixture.ImageFolder, .. PipelineFixture.GoodImages, "blocks-150x70.png"]);

        Assert.True(exitCode != -1, "the process hung");
        Assert.True(exitCode == 0, $"exit code {exitCode} (139 = a native crash)\n{stdout}\n{stderr}");
        var counts = System.Text.RegularExpressions.Regex.Match(stdout, @"correct=(\d+) misuse=(\d+) wrong=(\d+) other=(\d+) after=(\d+)/(\d+)");
        Assert.True(counts.Success, stdout);
        Assert.True(int.Parse(counts.Groups[3].Value) == 0, stdout);
        Assert.True(int.Parse(counts.Groups[4].Value) == 0, stdout);
        Assert.Equal(Threads * CallsPerThread, int.Parse(counts.Groups[1].Value) + int.Parse(counts.Groups[2].Value));
        Assert.True(counts.Groups[5].Value == counts.Groups[6].Value, "after the threads stopped, the engine used from one thread did not give every mask: " + stdout);
    }

    [Fact]
    public void An_engine_made_with_OwnsTransformer_false_leaves_the_transformer_working_and_a_default_one_disposes_it_with_a_message_that_says_why()
    {
        // One engine per thread, each disposed when its thread ends: ML.NET's default engine owns the transformer it was
        // made from, so the first engine disposed took the pipeline away from every other engine.
        var context = new MLContext();
        string file = PipelineFixture.GoodImages[0];
        var table = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = file } });
        var pipeline = context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath))
            .Append(context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "green", "blue"], Model = fixture.Model, InputSize = 64 }));
        using var fitted = pipeline.Fit(table);
        var row = new ImageFileRow { ImagePath = file };
        uint[] expected;
        using (var sharing = context.Model.CreatePredictionEngine<ImageFileRow, SegmentationRow>(fitted, new PredictionEngineOptions { OwnsTransformer = false }))
            expected = sharing.Predict(row).Mask.ToArray();

        using var afterSharing = context.Model.CreatePredictionEngine<ImageFileRow, SegmentationRow>(fitted);
        uint[] again = afterSharing.Predict(row).Mask.ToArray();
        afterSharing.Dispose();
        var error = Assert.Throws<ObjectDisposedException>(() => context.Data.CreateEnumerable<SegmentationRow>(fitted.Transform(table), reuseRowObject: false).ToList());

        Assert.Equal(expected, again);
        Assert.Contains("OwnsTransformer = false", error.Message);
    }

    [Fact]
    public void A_PredictionEngine_handed_from_thread_to_thread_between_predictions_works_like_a_pooled_engine()
    {
        // What PredictionEnginePool (or an await between two Predict calls) does: one engine, one prediction at a time,
        // each on another thread. Nothing overlaps, so nothing may be refused.
        var context = new MLContext();
        string[] files = [.. PipelineFixture.GoodImages, "blocks-150x70.png"];
        var table = context.Data.LoadFromEnumerable(files.Select(f => new ImageFileRow { ImagePath = f }));
        var pipeline = context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath))
            .Append(context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "green", "blue", "yellow", "white", "black"], Model = fixture.Model, InputSize = 64 }));
        using var fitted = pipeline.Fit(table);
        var reference = context.Model.CreatePredictionEngine<ImageFileRow, SegmentationRow>(fitted);
        var expected = files.Select(f => reference.Predict(new ImageFileRow { ImagePath = f }).Mask.ToArray()).ToArray();
        var pooled = context.Model.CreatePredictionEngine<ImageFileRow, SegmentationRow>(fitted);

        var masks = new uint[2 * files.Length][];
        var errors = new Exception?[masks.Length];
        for (int k = 0; k < masks.Length; k++)
        {
            int call = k;
            var thread = new Thread(() =>
            {
                try
                {
                    masks[call] = pooled.Predict(new ImageFileRow { ImagePath = files[call % files.Length] }).Mask.ToArray();
                }
                catch (Exception e)
                {
                    errors[call] = e;
                }
            });
            thread.Start();
            thread.Join();
        }

        Assert.All(errors, Assert.Null);
        for (int k = 0; k < masks.Length; k++)
            Assert.Equal(expected[k % files.Length], masks[k]);
    }

    [Fact]
    public void The_model_api_used_from_4_threads_at_once_gives_the_single_threaded_masks()
    {
        var images = new[] { TestImages.ColourBlocks(150, 70, 1), TestImages.ColourBlocks(64, 96, 2), TestImages.RedLeftBlueRight(80, 80) };
        string[][] labelSets = [["red", "green", "blue", "white"], ["black", "yellow", "cyan"], ["magenta", "red", "white", "blue", "green"]];
        // One-shot Segment (head graph) and EncodeImage + Segment (C# head), each computed on one thread first.
        var expected = images.SelectMany(i => labelSets.Select(l => fixture.Model.Segment(i, l).Mask))
            .Concat(images.SelectMany(i => labelSets.Select(l => fixture.Model.Segment(fixture.Model.EncodeImage(i), fixture.Model.EncodeLabels(l)).Mask))).ToArray();
        int half = images.Length * labelSets.Length;

        var results = new int[Threads][][];
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            results[t] = new int[expected.Length][];
            for (int round = 0; round < 5; round++)
                for (int i = 0; i < images.Length; i++)
                    for (int l = 0; l < labelSets.Length; l++)
                    {
                        results[t][i * labelSets.Length + l] = fixture.Model.Segment(images[i], labelSets[l]).Mask;
                        results[t][half + i * labelSets.Length + l] = fixture.Model.Segment(fixture.Model.EncodeImage(images[i]), fixture.Model.EncodeLabels(labelSets[l])).Mask;
                    }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        foreach (var perThread in results)
            Assert.Equal(expected, perThread);
        foreach (var image in images)
            image.Dispose();
    }
}
