namespace Registry.Tests.Fixtures;

/// <summary>A clock that moves only when a test moves it: expiry and cache lifetimes without waiting.</summary>
public sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}
