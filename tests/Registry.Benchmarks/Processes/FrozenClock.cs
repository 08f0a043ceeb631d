namespace Registry.Benchmarks.Processes;

/// <summary>
/// A clock that stays at the moment it was made: the registry's time-limited caches (token state, anonymous-pull
/// rules) then never expire in the middle of a count, so counts do not depend on how fast the machine is.
/// </summary>
internal sealed class FrozenClock : TimeProvider
{
    private readonly DateTimeOffset _now = System.GetUtcNow();

    public override DateTimeOffset GetUtcNow() => _now;
}
