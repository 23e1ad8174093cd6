using LSeg.Training.Bridge.Training;

namespace LSeg.Training.Bridge.Tests.Training;

public class PolynomialLearningRateTests
{
    [Fact]
    public void FollowsBaseTimesOneMinusProgressToThePower()
    {
        var schedule = new PolynomialLearningRate(0.01, totalSteps: 100, power: 0.9);

        Assert.Equal(0.01, schedule.At(0), 12);
        Assert.Equal(0.01 * Math.Pow(0.5, 0.9), schedule.At(50), 12);
        Assert.Equal(0.0, schedule.At(100), 12);
    }

    [Fact]
    public void WarmUpRisesLinearlyThenJoinsTheDecay()
    {
        var schedule = new PolynomialLearningRate(1.0, totalSteps: 100, power: 1.0, warmupSteps: 4);

        Assert.Equal(1.0 / 5, schedule.At(0), 12);
        Assert.Equal(0.97 * 4.0 / 5, schedule.At(3), 12);
        Assert.Equal(0.96, schedule.At(4), 12);
    }
}
