using LSeg.Cli.Tests;
using LSeg.MLNet.Imaging;
using LSeg.Orleans.Workers;

namespace LSeg.Orleans.Tests;

/// <summary>Batch jobs on a shared three-silo <c>InProcessTestCluster</c>.</summary>
public sealed class InProcessBatchTests(SegmentationClusterFixture fixture) : IClassFixture<SegmentationClusterFixture>
{
    [Fact]
    public async Task EveryImageIsInTheIndexOnceWithTheMaskTheLowLevelApiGives()
    {
        using var temp = new TempDirectory();
        var images = CorpusImages.Write(temp.Combine("in"), 18, 320, 240);
        var job = Job(temp.Combine("in"), temp.Combine("out")) with { ChunkSize = 1 };

        var summary = await fixture.Cluster.Client.SegmentBatchAsync(job.Build());

        var index = IndexFile.Read(temp.Combine("out"));
        index.RequireExactlyOnce(images);
        Assert.Equal((18, 18, 0, 0), (summary.Total, summary.Succeeded, summary.Failed, summary.Resumed));
        Assert.True(index.Lines.Select(l => l["silo"]!.GetValue<string>()).Distinct().Count() >= 2, "the chunks should be spread over the silos");
        var expected = LowLevelMasks.Of(fixture.Package, images, CorpusImages.Labels);
        for (int i = 0; i < images.Length; i++)
        {
            var line = index.For(images[i]);
            Assert.Equal("ok", line["status"]!.GetValue<string>());
            Assert.Equal($"img{i:00}.mask.png", line["mask"]!.GetValue<string>());
            byte[] mask = File.ReadAllBytes(temp.Combine("out", $"img{i:00}.mask.png"));
            Assert.Equal(expected[images[i]], mask);
            // Known without the model: red left of the boundary, blue right of it, and the shares say so.
            var decoded = IndexPng.Decode(mask);
            int boundary = CorpusImages.Boundary(i, 320);
            Assert.Equal(0, decoded.Pixels[120 * 320 + boundary / 2]);
            Assert.Equal(1, decoded.Pixels[120 * 320 + (boundary + 320) / 2]);
            double redShare = line["shares"]![0]!["share"]!.GetValue<double>();
            Assert.InRange(redShare, 100.0 * boundary / 320 - 3, 100.0 * boundary / 320 + 3);
            Assert.Equal(320, line["width"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task BadImagesAreFailedLinesWithTheReasonAndTheJobCompletes()
    {
        using var temp = new TempDirectory();
        var good = CorpusImages.Write(temp.Combine("in"), 3);
        File.WriteAllText(temp.Combine("in", "notes.png"), "this is text, not a PNG");
        byte[] whole = File.ReadAllBytes(good[0]);
        File.WriteAllBytes(temp.Combine("in", "cut.png"), whole[..(whole.Length * 2 / 3)]);
        CorpusImages.Write(temp.Combine("tiny"), 1, 4, 4);
        File.Move(temp.Combine("tiny", "img00.png"), temp.Combine("in", "tiny.png"));
        string manifest = temp.Combine("list.txt");
        File.WriteAllLines(manifest, [.. good, temp.Combine("in", "notes.png"), temp.Combine("in", "cut.png"), temp.Combine("in", "tiny.png"), temp.Combine("in", "missing.png")]);

        var summary = await fixture.Cluster.Client.SegmentBatchAsync(Job(manifest, temp.Combine("out")).Build());

        Assert.Equal((7, 3, 4), (summary.Total, summary.Succeeded, summary.Failed));
        var index = IndexFile.Read(temp.Combine("out"));
        Assert.Equal(7, index.Lines.Count);
        string ErrorOf(string name) => index.For(temp.Combine("in", name))["error"]!.GetValue<string>();
        Assert.Contains("not a readable image", ErrorOf("notes.png"));
        Assert.Contains("cut short", ErrorOf("cut.png"));
        Assert.Contains("at least 8 pixels", ErrorOf("tiny.png"));
        Assert.Contains("does not exist", ErrorOf("missing.png"));
        foreach (string name in new[] { "notes.png", "cut.png", "tiny.png", "missing.png" })
        {
            Assert.Equal("failed", index.For(temp.Combine("in", name))["status"]!.GetValue<string>());
            Assert.False(File.Exists(temp.Combine("out", Path.GetFileNameWithoutExtension(name) + ".mask.png")));
        }
        Assert.All(good, image => Assert.Equal("ok", index.For(image)["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task ASiloThatDoesNotSeeAnInputFolderRefusesTheJobBeforeAnyImage()
    {
        using var temp = new TempDirectory();
        var worker = fixture.Cluster.Client.GetGrain<ISegmentationWorkerGrain>(SiloTargetedPlacement.KeyOf(fixture.Cluster.Silos[0].SiloAddress));
        Directory.CreateDirectory(temp.Combine("out"));
        Directory.CreateDirectory(temp.Combine("in"));
        // What a silo whose mount of the input is missing sees: a folder the job runner listed images in is not there.
        var spec = new SegmentationJobSpec(fixture.Package, CorpusImages.Labels, null, temp.Combine("out"), [temp.Combine("in"), temp.Combine("mount", "photos")]);

        var readiness = await worker.Prepare(spec);

        Assert.Contains($"the input folder '{temp.Combine("mount", "photos")}' does not exist on this silo", readiness.Problem);
        Assert.Null((await worker.Prepare(spec with { InputFolders = [temp.Combine("in")] })).Problem);
    }

    [Fact]
    public void AModelThatFailsOnACompleteImageIsTheSilosFaultNotAFailedLineForTheImage()
    {
        using var temp = new TempDirectory();
        var images = CorpusImages.Write(temp.Combine("in"), 1);
        var model = LSeg.MLNet.LanguageSegmentationModel.Load(fixture.Package);
        var labels = model.EncodeLabels(CorpusImages.Labels);
        var spec = new SegmentationJobSpec(fixture.Package, CorpusImages.Labels, null, temp.Path, [temp.Combine("in")]);
        var item = new ImageWorkItem(0, images[0], "img00.mask.png");
        Assert.True(ImageSegmenter.Segment(model, labels, spec, item).Succeeded);
        // A model whose runtime fails (here: disposed; in practice ONNX Runtime out of GPU memory, a device in a bad
        // state) would otherwise turn every image the silo is given into a failed line that --resume never retries.
        model.Dispose();

        var fault = Assert.Throws<SiloFaultException>(() => ImageSegmenter.Segment(model, labels, spec, item));

        Assert.Contains("the model failed on", fault.Message);
        Assert.Contains("ObjectDisposedException", fault.Message);
        // A bad image is still the image's failed line.
        File.WriteAllText(temp.Combine("in", "notes.png"), "not a PNG");
        Assert.Contains("not a readable image", ImageSegmenter.Segment(model, labels, spec, item with { ImagePath = temp.Combine("in", "notes.png") }).Error);
    }

    [Fact]
    public async Task ATemporaryMaskLeftByAKilledSiloIsGoneWhenTheJobEnds()
    {
        using var temp = new TempDirectory();
        CorpusImages.Write(temp.Combine("in"), 2);
        // What a silo killed during its atomic write of a mask leaves, while the other silos finish the job.
        string leftOver = temp.Combine("out", "sub", $".img00.mask.png.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(Path.GetDirectoryName(leftOver)!);
        File.WriteAllText(leftOver, "half a PNG");

        var summary = await fixture.Cluster.Client.SegmentBatchAsync(Job(temp.Combine("in"), temp.Combine("out")).Build());

        Assert.Equal(2, summary.Succeeded);
        Assert.False(File.Exists(leftOver), "the temporary mask should be removed at the end of the job");
    }

    [Fact]
    public async Task AnInterruptedJobResumesWithoutRedoingFinishedImages()
    {
        using var temp = new TempDirectory();
        var images = CorpusImages.Write(temp.Combine("in"), 16, 320, 240);
        using var stop = new CancellationTokenSource();
        var firstRun = Job(temp.Combine("in"), temp.Combine("out")) with { ChunkSize = 1 };
        var progress = new CallbackProgress(p => { if (p.Done >= 4) stop.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fixture.Cluster.Client.SegmentBatchAsync(firstRun.Build(), progress, stop.Token));

        var before = IndexFile.Read(temp.Combine("out"));
        Assert.InRange(before.Lines.Count, 4, 15);
        // What a kill -9 in the middle of an append leaves, and a marker in every finished image's mask: a redone
        // image would overwrite its marker.
        File.AppendAllText(temp.Combine("out", "index.jsonl"), "{\"image\":\"" + images[^1]);
        foreach (var line in before.Lines)
            File.WriteAllText(temp.Combine("out", line["mask"]!.GetValue<string>()), "finished before the interruption");

        var summary = await fixture.Cluster.Client.SegmentBatchAsync((firstRun with { Resume = true }).Build());

        var after = IndexFile.Read(temp.Combine("out"));
        after.RequireExactlyOnce(images);
        Assert.Equal(before.Lines.Count, summary.Resumed);
        Assert.Equal(16 - before.Lines.Count, summary.Succeeded);
        foreach (var line in before.Lines)
            Assert.Equal("finished before the interruption", File.ReadAllText(temp.Combine("out", line["mask"]!.GetValue<string>())));
        var expected = LowLevelMasks.Of(fixture.Package, images, CorpusImages.Labels);
        foreach (var line in after.Lines.Skip(before.Lines.Count))
            Assert.Equal(expected[line["image"]!.GetValue<string>()], File.ReadAllBytes(temp.Combine("out", line["mask"]!.GetValue<string>())));
    }

    [Fact]
    public async Task A_resumed_manifest_job_keeps_its_first_runs_mask_layout_and_refuses_an_image_outside_it()
    {
        using var temp = new TempDirectory();
        // First run: two images in d/a/x and d/a/y, so the masks mirror d/a: x/img00.mask.png, y/img00.mask.png.
        string[] x = CorpusImages.Write(temp.Combine("d", "a", "x"), 2);
        string[] y = CorpusImages.Write(temp.Combine("d", "a", "y"), 1);
        string manifest = temp.Combine("list.txt");
        File.WriteAllLines(manifest, [x[0], y[0]]);
        var job = Job(manifest, temp.Combine("out"));
        await fixture.Cluster.Client.SegmentBatchAsync(job.Build());
        Assert.True(File.Exists(temp.Combine("out", "x", "img00.mask.png")));

        // The list changes: y's image goes, x's second comes. Alone, the two x images would mirror d/a/x (img01.mask.png at
        // the top); the resumed job keeps d/a, so the new mask lands beside its sibling's.
        File.WriteAllLines(manifest, [x[0], x[1]]);
        var resumed = await fixture.Cluster.Client.SegmentBatchAsync((job with { Resume = true }).Build());

        Assert.Equal((1, 1), (resumed.Succeeded, resumed.Resumed));
        Assert.True(File.Exists(temp.Combine("out", "x", "img01.mask.png")), "the new image's mask is not beside its sibling's");
        Assert.False(File.Exists(temp.Combine("out", "img01.mask.png")));

        // An image outside d/a, at d/x/img00.png: under the new deepest common folder d it would write x/img00.mask.png,
        // the finished mask of d/a/x/img00.png, which the index still names for that image.
        string[] above = CorpusImages.Write(temp.Combine("d", "x"), 1);
        File.WriteAllLines(manifest, [x[0], x[1], above[0]]);
        byte[] finished = File.ReadAllBytes(temp.Combine("out", "x", "img00.mask.png"));
        var refused = await Assert.ThrowsAsync<BatchSegmentationException>(() => fixture.Cluster.Client.SegmentBatchAsync((job with { Resume = true }).Build()));

        Assert.Contains($"now lists '{above[0]}', outside '{temp.Combine("d", "a")}', the folder this job's masks mirror", refused.Message);
        Assert.Equal(finished, File.ReadAllBytes(temp.Combine("out", "x", "img00.mask.png")));
    }

    [Fact]
    public async Task AFolderHoldingAJobIsRefusedWithoutResumeAndWithOtherLabels()
    {
        using var temp = new TempDirectory();
        CorpusImages.Write(temp.Combine("in"), 2);
        var job = Job(temp.Combine("in"), temp.Combine("out"));
        await fixture.Cluster.Client.SegmentBatchAsync(job.Build());

        var again = await Assert.ThrowsAsync<BatchSegmentationException>(() => fixture.Cluster.Client.SegmentBatchAsync(job.Build()));
        Assert.Contains("already holds a batch job", again.Message);
        var otherLabels = await Assert.ThrowsAsync<BatchSegmentationException>(() =>
            fixture.Cluster.Client.SegmentBatchAsync((job with { Labels = ["blue", "red"], Resume = true }).Build()));
        Assert.Contains("started with labels \"red, blue\"", otherLabels.Message);
        // The input and the model typed with a trailing separator are the same input and model.
        var nothingLeft = await fixture.Cluster.Client.SegmentBatchAsync((job with { Input = job.Input + "/", Model = job.Model + "/", Resume = true }).Build());
        Assert.Equal((2, 0, 2), (nothingLeft.Total, nothingLeft.Succeeded, nothingLeft.Resumed));
        Assert.Equal(2, IndexFile.Read(temp.Combine("out")).Lines.Count);
    }

    [Fact]
    public async Task ASiloThatCannotLoadTheModelStopsTheJobWithItsReason()
    {
        using var temp = new TempDirectory();
        CorpusImages.Write(temp.Combine("in"), 2);
        var job = Job(temp.Combine("in"), temp.Combine("out")) with { Model = temp.Combine("no-such-package") };

        var failure = await Assert.ThrowsAsync<BatchSegmentationException>(() => fixture.Cluster.Client.SegmentBatchAsync(job.Build()));

        Assert.Contains("cannot work on the job", failure.Message);
        Assert.Contains("no-such-package", failure.Message);
        Assert.False(failure.LabelsRefused);
    }

    [Fact]
    public async Task AJobNoSiloCanStartLeavesNoJobBehindSoTheCorrectedCommandRunsWithoutResume()
    {
        using var temp = new TempDirectory();
        CorpusImages.Write(temp.Combine("in"), 2);
        var job = Job(temp.Combine("in"), temp.Combine("out"));

        // The colour package's label table has no "turquoise": every silo refuses the job when it prepares it.
        var refused = await Assert.ThrowsAsync<BatchSegmentationException>(() => fixture.Cluster.Client.SegmentBatchAsync((job with { Labels = ["red", "turquoise"] }).Build()));
        bool leftBehind = Directory.Exists(temp.Combine("out"));
        var corrected = await fixture.Cluster.Client.SegmentBatchAsync(job.Build());

        Assert.Contains("turquoise", refused.Message);
        // The labels are the problem, in the model's words: not a silo's fault, no .NET type or parameter name.
        Assert.True(refused.LabelsRefused);
        Assert.DoesNotContain("Silo", refused.Message);
        Assert.DoesNotContain("Exception", refused.Message);
        Assert.DoesNotContain("(Parameter", refused.Message);
        Assert.False(leftBehind);
        Assert.Equal((2, 2), (corrected.Total, corrected.Succeeded));
    }

    [Fact]
    public async Task An_image_whose_mask_name_is_too_long_for_the_file_system_is_a_failed_line_and_the_job_completes()
    {
        using var temp = new TempDirectory();
        var good = CorpusImages.Write(temp.Combine("in"), 2);
        // 250 characters: the image's own name fits the 255-byte limit (254 bytes), its mask's (NAME.mask.png, 259) does
        // not. (A name whose mask fits but whose temporary .NAME.mask.png.GUID.tmp would not is written: AtomicFile
        // shortens the temporary name.)
        string longName = new string('a', 250) + ".png";
        File.Copy(good[0], temp.Combine("in", longName));

        var summary = await fixture.Cluster.Client.SegmentBatchAsync(Job(temp.Combine("in"), temp.Combine("out")).Build());

        Assert.Equal((3, 2, 1), (summary.Total, summary.Succeeded, summary.Failed));
        var line = IndexFile.Read(temp.Combine("out")).For(temp.Combine("in", longName));
        Assert.Equal("failed", line["status"]!.GetValue<string>());
        Assert.Contains("name is too long", line["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_image_larger_than_the_pixel_limit_is_refused_from_its_header_before_it_is_decoded()
    {
        using var temp = new TempDirectory();
        CorpusImages.Write(temp.Combine("in"), 1);
        // A PNG that declares 20000 × 20000 RGB pixels (400 megapixels, 1.6 GB decoded) and holds one row: its header is
        // all a silo may read.
        File.WriteAllBytes(temp.Combine("in", "huge.png"), LSeg.Tests.Shared.RawPng.Encode(20000, 20000, 8, 2, [((byte)0, new byte[3 * 20000])]));

        var summary = await fixture.Cluster.Client.SegmentBatchAsync(Job(temp.Combine("in"), temp.Combine("out")).Build());

        Assert.Equal((2, 1, 1), (summary.Total, summary.Succeeded, summary.Failed));
        string error = IndexFile.Read(temp.Combine("out")).For(temp.Combine("in", "huge.png"))["error"]!.GetValue<string>();
        Assert.Contains("20000x20000 = 400,000,000 pixels, more than the 40,000,000 allowed", error);
    }

    [Fact]
    public async Task A_second_run_on_a_folder_another_run_holds_is_refused_and_a_resume_removes_a_killed_runs_temporary_masks()
    {
        using var temp = new TempDirectory();
        CorpusImages.Write(temp.Combine("in"), 2);
        var job = Job(temp.Combine("in"), temp.Combine("out"));
        await fixture.Cluster.Client.SegmentBatchAsync(job.Build());
        // What a kill -9 between an atomic write and its rename leaves, beside a file of the user's own.
        string leftover = temp.Combine("out", $".img00.mask.png.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(leftover, "half a mask");
        File.WriteAllText(temp.Combine("out", ".notes.tmp"), "not ours");

        BatchSegmentationException refused;
        using (new FileStream(temp.Combine("out", ".lseg-batch.lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            refused = await Assert.ThrowsAsync<BatchSegmentationException>(() => fixture.Cluster.Client.SegmentBatchAsync((job with { Resume = true }).Build()));
        bool leftoverKeptWhileHeld = File.Exists(leftover);
        var resumed = await fixture.Cluster.Client.SegmentBatchAsync((job with { Resume = true }).Build());

        Assert.Contains("Another lseg batch run is working on", refused.Message);
        Assert.True(leftoverKeptWhileHeld);
        Assert.Equal((2, 2), (resumed.Total, resumed.Resumed));
        Assert.False(File.Exists(leftover));
        Assert.True(File.Exists(temp.Combine("out", ".notes.tmp")));
        Assert.Equal(2, IndexFile.Read(temp.Combine("out")).Lines.Count);
    }

    [Fact]
    public async Task A_package_rewritten_in_place_is_loaded_again_for_the_next_job()
    {
        // Retrained, upgraded or quantized in place: a long-lived silo kept the weights it loaded first.
        using var temp = new TempDirectory();
        CorpusImages.Write(temp.Combine("in"), 2);
        string package = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(temp.Path);
        var before = await fixture.Cluster.Client.SegmentBatchAsync(new BatchSegmentationJob
        {
            Input = temp.Combine("in"), OutputDirectory = temp.Combine("out1"), ModelPath = package, Labels = CorpusImages.Labels,
        });
        string rewritten = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(temp.Combine("next"), temperature: 0.05f);
        foreach (string file in Directory.GetFiles(rewritten))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)), overwrite: true);

        var after = await fixture.Cluster.Client.SegmentBatchAsync(new BatchSegmentationJob
        {
            Input = temp.Combine("in"), OutputDirectory = temp.Combine("out2"), ModelPath = package, Labels = CorpusImages.Labels,
        });

        string hashNow = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(package, "manifest.json"))))[..16];
        Assert.DoesNotContain(hashNow, before.ModelIdentity);
        Assert.Contains(hashNow, after.ModelIdentity);
        Assert.Equal(2, after.Succeeded);
    }

    [Fact]
    public async Task A_job_leaves_the_temporary_masks_of_a_job_in_a_sub_folder_alone()
    {
        // "--out masks/cats" running while "--out masks" ends: the inner job's in-flight writes are its own.
        using var temp = new TempDirectory();
        CorpusImages.Write(temp.Combine("in"), 2);
        Directory.CreateDirectory(temp.Combine("out", "cats"));
        File.WriteAllText(temp.Combine("out", "cats", "batch.json"), "{}");
        string inner = temp.Combine("out", "cats", $".img00.mask.png.{Guid.NewGuid():N}.tmp");
        string own = temp.Combine("out", "sub", $".img01.mask.png.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(inner, "being written by the inner job");
        Directory.CreateDirectory(temp.Combine("out", "sub"));
        File.WriteAllText(own, "left by a killed run of this job");

        await fixture.Cluster.Client.SegmentBatchAsync(Job(temp.Combine("in"), temp.Combine("out")).Build());

        Assert.True(File.Exists(inner));
        Assert.False(File.Exists(own));
    }

    private JobSettings Job(string input, string output) => new(input, output, fixture.Package, CorpusImages.Labels, 2, false);

    /// <summary>Job settings as a record, so tests can vary one of them with <c>with</c>.</summary>
    internal sealed record JobSettings(string Input, string Output, string Model, string[] Labels, int ChunkSize, bool Resume)
    {
        public BatchSegmentationJob Build() => new()
        {
            Input = Input, OutputDirectory = Output, ModelPath = Model, Labels = Labels, ChunkSize = ChunkSize, Resume = Resume,
        };
    }
}

/// <summary>Calls back synchronously, on the job runner's loop (unlike <see cref="Progress{T}"/>, which posts).</summary>
internal sealed class CallbackProgress(Action<BatchProgress> report) : IProgress<BatchProgress>
{
    public void Report(BatchProgress value) => report(value);
}
