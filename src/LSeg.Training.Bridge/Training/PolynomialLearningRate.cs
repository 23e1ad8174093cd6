namespace LSeg.Training.Bridge.Training;

/// <summary>
/// The paper's learning-rate schedule: lr(step) = base × (1 − step / totalSteps)^power, optionally after a linear
/// warm-up. A pure function of the step, so a resumed run continues on the same curve.
/// </summary>
public sealed class PolynomialLearningRate
{
    /// <summary>Creates a schedule over <paramref name="totalSteps"/> optimizer steps.</summary>
    public PolynomialLearningRate(double baseRate, int totalSteps, double power, int warmupSteps = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (!(baseRate >= 0))
            throw new ArgumentOutOfRangeException(nameof(baseRate), baseRate, "The base learning rate must be 0 or more.");
        BaseRate = baseRate;
        TotalSteps = totalSteps;
        Power = power;
        WarmupSteps = Math.Min(warmupSteps, totalSteps - 1);
    }

    /// <summary>Rate at step 0 after warm-up.</summary>
    public double BaseRate { get; }

    /// <summary>Number of optimizer steps of the whole run.</summary>
    public int TotalSteps { get; }

    /// <summary>Decay power (0.9 in the paper).</summary>
    public double Power { get; }

    /// <summary>Linear warm-up steps.</summary>
    public int WarmupSteps { get; }

    /// <summary>The rate to use for optimizer step <paramref name="step"/> (0-based).</summary>
    public double At(int step)
    {
        step = Math.Clamp(step, 0, TotalSteps);
        double decay = Math.Pow(1.0 - (double)step / TotalSteps, Power);
        double warmup = WarmupSteps > 0 && step < WarmupSteps ? (step + 1.0) / (WarmupSteps + 1.0) : 1.0;
        return BaseRate * decay * warmup;
    }
}
