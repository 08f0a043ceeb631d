using System.Collections.Concurrent;
using System.Net;

namespace Registry.Auth;

/// <summary>
/// Failed-password throttling per client address: after <see cref="MaxFailures"/> wrong passwords within
/// <see cref="Window"/>, further password checks from that address are refused with 429 until the window has passed,
/// without spending hash work on them. The policy is per address, so a real user behind the same address waits too;
/// a correct password does not lift the block early.
/// </summary>
public sealed class LoginThrottle(TimeProvider time)
{
    public const int MaxFailures = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    // Bounded: past this many tracked addresses the oldest windows are dropped.
    private const int MaxTracked = 10_000;

    private readonly ConcurrentDictionary<IPAddress, (DateTimeOffset Start, int Failures)> _failures = new();

    /// <summary>When the address is blocked, how long until it may try again; otherwise null.</summary>
    public TimeSpan? RetryAfter(IPAddress? client)
    {
        if (client is null || !_failures.TryGetValue(client, out var entry))
        {
            return null;
        }
        var elapsed = time.GetUtcNow() - entry.Start;
        if (elapsed >= Window)
        {
            _failures.TryRemove(KeyValuePair.Create(client, entry));
            return null;
        }
        return entry.Failures >= MaxFailures ? Window - elapsed : null;
    }

    public void RecordFailure(IPAddress? client)
    {
        if (client is null)
        {
            return;
        }
        var now = time.GetUtcNow();
        _failures.AddOrUpdate(client, (now, 1), (_, e) => now - e.Start >= Window ? (now, 1) : (e.Start, e.Failures + 1));
        if (_failures.Count > MaxTracked)
        {
            foreach (var stale in _failures.Where(p => now - p.Value.Start >= Window).Select(p => p.Key).ToList())
            {
                _failures.TryRemove(stale, out _);
            }
        }
    }
}
