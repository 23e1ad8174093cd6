using LSeg.Training.Bridge.Evaluation;

namespace LSeg.Training.Bridge.Tests.Evaluation;

public class ConfusionMatrixTests
{
    private static readonly int[] Truth = [0, 0, 0, 1, 1, 1, 2, -1, 1, -1];
    private static readonly int[] Prediction = [0, 0, 1, 1, 1, 0, 2, 2, 2, 0];

    [Fact]
    public void ClassIoUIsTruePositivesOverUnionAccumulatedOverPixels()
    {
        var matrix = new ConfusionMatrix(3);
        matrix.Add(Truth, Prediction);

        // class 0: TP 2 (px 0,1), FN 1 (px 2 → 1), FP 1 (px 5 truth 1) → 2 / 4
        Assert.Equal(2.0 / 4, matrix.IoU(0), 12);
        // class 1: TP 2 (px 3,4), FN 2 (px 5 → 0, px 8 → 2), FP 1 (px 2) → 2 / 5
        Assert.Equal(2.0 / 5, matrix.IoU(1), 12);
        // class 2: TP 1 (px 6), FP 1 (px 8); void pixel 7 is not counted → 1 / 2
        Assert.Equal(1.0 / 2, matrix.IoU(2), 12);
        Assert.Equal((0.5 + 0.4 + 0.5) / 3, matrix.MeanIoU(), 12);
        // 8 scored pixels, 5 correct
        Assert.Equal(5.0 / 8, matrix.PixelAccuracy(), 12);
        Assert.Equal(8, matrix.Total);
    }

    [Fact]
    public void TheCatchAllSplitCountsANamedPixelGivenAnotherNameAsNamed()
    {
        var matrix = new ConfusionMatrix(3);
        matrix.Add(Truth, Prediction);

        // Class 0 is the catch-all; classes 1 and 2 together are the named region. Scored pixels (void 7 and 9 are not):
        // truth 0 → 0, 0, 1; truth 1 → 1, 1, 0, 2; truth 2 → 2.
        var split = SegmentationMetrics.From(matrix, ["other", "a", "b"], "t", 1).SplitAt(0);

        // catch-all: 2 kept, 1 given a name, 1 named pixel taken → 2 / 4
        Assert.Equal(2.0 / 4, split.CatchAllIoU, 12);
        // named: 4 named pixels stay named (1→1 twice, 1→2, 2→2), 1 lost, 1 catch-all pixel named → 4 / 6
        Assert.Equal(4.0 / 6, split.NamedIoU, 12);
        // 1 of the 5 named pixels went to the catch-all
        Assert.Equal(1.0 / 5, split.NamedLostToCatchAll, 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => SegmentationMetrics.From(matrix, ["other", "a", "b"], "t", 1).SplitAt(3));
    }

    [Fact]
    public void MeanIoUSkipsClassesAbsentFromTheGroundTruthEvenWhenPredicted()
    {
        var matrix = new ConfusionMatrix(3);
        // class 2 never occurs in truth but is predicted once: it is a false positive of class 2 (and a miss of 0),
        // yet not part of the mean.
        matrix.Add([0, 0, 1, 1], [0, 2, 1, 1]);

        Assert.Equal(0.0, matrix.IoU(2));
        Assert.Equal(0.5, matrix.IoU(0), 12); // TP 1, FN 1
        Assert.Equal(1.0, matrix.IoU(1), 12);
        Assert.Equal(0.75, matrix.MeanIoU(), 12);
    }

    [Fact]
    public void AccumulatingTwoImagesDiffersFromAveragingTheirIoUs()
    {
        // Image A: class 1 fully right on 1 pixel. Image B: class 1 is 3 pixels, predicted 0.
        // Per-image IoU of class 1 would average (1 + 0) / 2 = 0.5; the split IoU is 1 / 4.
        var matrix = new ConfusionMatrix(2);
        matrix.Add([1, 0], [1, 0]);
        matrix.Add([1, 1, 1, 0], [0, 0, 0, 0]);

        Assert.Equal(1.0 / 4, matrix.IoU(1), 12);
    }

    [Fact]
    public void FBIoUIsTheMeanOfBackgroundAndForegroundIoU()
    {
        var matrix = new ConfusionMatrix(2);
        // bg: TP 3, FP 1, FN 1 → 3/5; fg: TP 1, FP 1, FN 1 → 1/3
        matrix.Add([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 0, 1]);

        var metrics = SegmentationMetrics.From(matrix, ["other", "cat"], "fb", 1);

        Assert.Equal((3.0 / 5 + 1.0 / 3) / 2, metrics.FBIoU!.Value, 12);
        Assert.Contains("FB-IoU", metrics.ToTable());
        Assert.Contains("\"fbIoU\"", metrics.ToJson());
    }

    [Fact]
    public void A_table_of_nothing_counted_shows_dashes_not_NaN()
    {
        // What --max-images 1 on an all-void image gives: no labelled pixel, so no score at all.
        var metrics = SegmentationMetrics.From(new ConfusionMatrix(2), ["other", "cat"], "empty", 1);

        string table = metrics.ToTable();

        Assert.DoesNotContain("NaN", table);
        Assert.Matches(@"mIoU\s+-\n", table.ReplaceLineEndings("\n"));
        Assert.Matches(@"FB-IoU\s+-\n", table.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void PredictionsOutsideTheLabelSetCountAsMisses()
    {
        var matrix = new ConfusionMatrix(2);
        matrix.Add([0, 1], [0, 7]);

        Assert.Equal(0.0, matrix.IoU(1));
        Assert.Equal(0.5, matrix.PixelAccuracy(), 12);
    }

    [Fact]
    public void MismatchedLengthsAreRejected()
    {
        var matrix = new ConfusionMatrix(2);
        var error = Assert.Throws<ArgumentException>(() => matrix.Add([0, 1, 1], [0, 1]));
        Assert.Contains("3", error.Message);
    }
}
