namespace Registry.Benchmarks.Processes;

/// <summary>
/// A clock that stays at the moment it was made until the workload moves it: the registry's time-limited caches
/// (token state, anonymous-pull rules) then never expire in the middle of a count, so counts do not depend on how
/// fast the machine is, and a grace period passes in one step.
/// </summary>
internal sealed class FrozenClock : TimeProvider
{
    private DateTimeOffset _now = System.GetUtcNow();

    public override DateTimeOffset GetUtcNow() => _now;

    /// <summary>Moves the clock on; call it only while the registry makes no request, as a long pause would.</summary>
    public void Advance(TimeSpan by) => _now += by;
}
