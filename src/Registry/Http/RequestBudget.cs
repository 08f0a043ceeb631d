using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Registry.Http;

/// <summary>
/// The time a request may take (<see cref="Storage.StorageOptions.RequestBudget"/>): <see cref="OciFaultMiddleware"/>
/// starts it and puts its token in <see cref="HttpContext.RequestAborted"/>, so every storage call the request makes
/// ends when the budget runs out or the client goes away, whichever comes first; it then answers 503 for the first and
/// nothing for the second. Time spent moving a body between the client and storage is not counted
/// (<see cref="Pause"/>): a healthy multi-gigabyte chunk is never cut off, and the per-call deadline of each block it
/// stages bounds a stall during it. Endpoints marked <see cref="RequestBudgetEndpoints.WithoutRequestBudget{TBuilder}"/>
/// have none.
/// </summary>
public sealed class RequestBudget : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private TimeSpan _left;
    private long _runningSince;
    private int _pauses;

    private RequestBudget(TimeSpan budget, TimeProvider time, CancellationToken clientGone)
    {
        _time = time;
        _left = budget;
        _runningSince = time.GetTimestamp();
        _timer = new CancellationTokenSource(budget, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(clientGone, _timer.Token);
        Budget = budget;
    }

    public TimeSpan Budget { get; }

    /// <summary>Cancelled when the budget runs out or the client goes away.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>Whether the budget ran out (as opposed to the client going away).</summary>
    public bool Expired => _timer.IsCancellationRequested;

    /// <summary>Starts <paramref name="context"/>'s budget and makes <see cref="Token"/> its <see cref="HttpContext.RequestAborted"/>.</summary>
    public static RequestBudget Start(HttpContext context, TimeSpan budget, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = new RequestBudget(budget, time, context.RequestAborted);
        context.Features.Set(started);
        context.RequestAborted = started.Token;
        return started;
    }

    /// <summary>
    /// Stops the budget's clock until the returned scope ends: for the time a request streams a body between the client
    /// and storage. Nothing when the request has no budget.
    /// </summary>
    public static PauseScope Pause(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var budget = context.Features.Get<RequestBudget>();
        budget?.Stop();
        return new PauseScope(budget);
    }

    /// <summary>Restarts the clock of a paused budget with what was left of it.</summary>
    public readonly struct PauseScope : IDisposable
    {
        private readonly RequestBudget? _budget;

        internal PauseScope(RequestBudget? budget) => _budget = budget;

        public void Dispose() => _budget?.Resume();
    }

    private void Stop()
    {
        lock (_lock)
        {
            if (_pauses++ == 0 && !Expired)
            {
                _left -= _time.GetElapsedTime(_runningSince);
                _timer.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Resume()
    {
        lock (_lock)
        {
            if (--_pauses == 0 && !Expired)
            {
                _runningSince = _time.GetTimestamp();
                _timer.CancelAfter(_left > TimeSpan.Zero ? _left : TimeSpan.Zero);
            }
        }
    }

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}

/// <summary>Marks the endpoints whose requests have no <see cref="RequestBudget"/>.</summary>
public static class RequestBudgetEndpoints
{
    /// <summary>
    /// For the Functions host's job invocations: a job may run for many minutes, bounded by the host's
    /// <c>functionTimeout</c>, and each of its storage calls by its own deadline.
    /// </summary>
    public static TBuilder WithoutRequestBudget<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(WithoutRequestBudgetMetadata.Instance);
}

internal sealed class WithoutRequestBudgetMetadata
{
    public static readonly WithoutRequestBudgetMetadata Instance = new();
}
