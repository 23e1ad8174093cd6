using LSeg.MLNet;

namespace LSeg.Serving.Tests;

/// <summary>
/// One model shared by concurrent requests: each request gets the mask of its own image and labels (never another
/// request's), and the same image gives the same mask every time.
/// </summary>
public sealed class ConcurrencyTests(ColourPackageFixture colour) : IClassFixture<ColourPackageFixture>
{
    [Fact]
    public async Task Concurrent_requests_on_different_images_and_labels_each_get_their_own_mask()
    {
        using var server = new ServingFactory(colour.PackagePath, options =>
        {
            options.MaxConcurrentInferences = 4;
            options.MaxQueuedRequests = 64;
        });
        using var client = server.CreateClient();
        (byte[] Image, string[] Labels)[] cases =
        [
            (Pictures.RedLeftBlueRight(96, 64), ["red", "blue"]),
            (Pictures.RedLeftBlueRight(96, 64), ["blue", "red", "green"]),
            (Pictures.GreenTopYellowBottom(64, 96), ["yellow", "green"]),
            (Pictures.Plain(50, 70, Pictures.Black), ["white", "black"]),
        ];
        var encoded = await Task.WhenAll(cases.Select(c => client.EncodeOkAsync(c.Image)));

        // 48 requests at once: one-shot and label changes, interleaved over the four cases.
        var requests = Enumerable.Range(0, 48).Select(async i =>
        {
            int which = i % cases.Length;
            var response = i % 2 == 0
                ? await client.SegmentAsync(cases[which].Image, string.Join(", ", cases[which].Labels))
                : await client.RelabelAsync(encoded[which].Id, cases[which].Labels);
            return (Case: which, OneShot: i % 2 == 0, Answer: await response.ReadSegmentationAsync());
        }).ToArray();
        var answers = await Task.WhenAll(requests);

        foreach (var (which, oneShot, answer) in answers)
        {
            var (image, labels) = cases[which];
            var expected = oneShot ? Reference.OneShot(colour.Model, image, labels) : Reference.Encoded(colour.Model, image, labels);
            Assert.Equal(labels, answer.Labels);
            Assert.Equal((expected.Width, expected.Height), (answer.Width, answer.Height));
            Assert.Equal(Reference.Indices(expected), answer.MaskIndices);
        }
    }

    [SkippableFact]
    public async Task On_the_default_model_concurrent_requests_for_one_image_give_identical_masks_equal_to_the_low_level_api()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");
        using var server = new ServingFactory(modelPath: null, options => options.MaxConcurrentInferences = 2);
        using var client = server.CreateClient();
        using var model = LanguageSegmentationModel.LoadDefault();
        byte[] photo = Pictures.Example("chelsea.png");
        // Different label lists at once: labels never seen before are encoded concurrently by the shared text encoder.
        string[][] labelLists = [["cat", "wall", "other"], ["fur", "eyes", "background"], ["animal", "room"], ["cat", "wall", "other"]];

        var answers = await Task.WhenAll(labelLists.Select(async labels =>
            await (await client.SegmentAsync(photo, string.Join(", ", labels))).ReadSegmentationAsync()));

        for (int i = 0; i < labelLists.Length; i++)
            Assert.Equal(Reference.Indices(Reference.OneShot(model, photo, labelLists[i])), answers[i].MaskIndices);
        Assert.Equal(answers[0].MaskIndices, answers[3].MaskIndices);
        // chelsea.png is a close-up of a cat: "cat" must be most of it.
        Assert.True(answers[0].Shares[0] > 0.5, $"cat share {answers[0].Shares[0]:P1}");
    }
}
