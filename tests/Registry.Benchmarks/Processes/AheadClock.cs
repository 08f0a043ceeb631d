namespace Registry.Benchmarks.Processes;

/// <summary>
/// The real clock plus a lead the workload moves on: an instance on it sees what another instance did a moment ago
/// as <see cref="Lead"/> old, so a collector on it finds a change's review due once the lead passed a grace period.
/// Read on any thread; moved only while the instance makes no storage call, as a long pause would.
/// </summary>
internal sealed class AheadClock : TimeProvider
{
    private long _leadTicks;

    public TimeSpan Lead => TimeSpan.FromTicks(Interlocked.Read(ref _leadTicks));

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Lead;

    public void MoveOn(TimeSpan by) => Interlocked.Add(ref _leadTicks, by.Ticks);
}
