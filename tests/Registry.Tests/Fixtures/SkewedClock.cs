namespace Registry.Tests.Fixtures;

/// <summary>Another instance's clock: <paramref name="clock"/>'s time plus <see cref="Skew"/>, which the test sets and moves.</summary>
public sealed class SkewedClock(ManualClock clock) : TimeProvider
{
    public TimeSpan Skew { get; set; }

    public override DateTimeOffset GetUtcNow() => clock.Now + Skew;
}
