using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Diagnostics;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Events;

namespace Registry.Events;

/// <summary>How a drain of one repository's outbox ended.</summary>
public enum DrainResult
{
    /// <summary>Nothing is pending any more.</summary>
    Drained,
    /// <summary>Another publisher holds the repository's lease: it drains it.</summary>
    Busy,
    /// <summary>A sink failed; the rest waits, in order, and is tried again later.</summary>
    Deferred,
    /// <summary>Events are off: no sink is configured.</summary>
    Disabled,
}

/// <summary>
/// Publishes the outbox, off the request path: a change that committed notifies it (<see cref="Notify"/>), and it
/// drains that repository's pending events, oldest first, to every sink, then moves them to <c>sent:</c>. So an event
/// is removed from the outbox only once delivered (at least once; a crash between the delivery and the move sends it
/// again with the same id), and a repository's events go in commit order: one publisher at a time holds its lease, and
/// a failed event stops the ones after it until it goes (Event Grid or a webhook answering 5xx, 408 or 429, or not at
/// all, is retried with backoff, honouring <c>Retry-After</c>). An event a sink rejects (another 4xx) is retried alone,
/// and dead-lettered after <see cref="EventsOptions.MaxAttempts"/> so the events after it go on. What an instance leaves
/// behind (crash, scale-in, a deferred retry) the <c>events</c> sweep takes up (<see cref="Jobs"/>).
/// </summary>
public sealed partial class EventDispatcher : BackgroundService
{
    private const int BatchSize = 50;
    private const int Workers = 4;
    private static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(60);

    private readonly Outbox _outbox;
    private readonly EventSinks _sinks;
    private readonly EventsOptions _options;
    private readonly RegistryMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<EventDispatcher> _logger;
    private readonly string _owner = $"{Environment.MachineName}:{Guid.NewGuid():N}";
    private readonly Channel<RepositoryName> _signals = Channel.CreateBounded<RepositoryName>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (int Failures, ITimer Timer)> _deferred = new(StringComparer.Ordinal);
    // Per repository: how many changes notified this instance (a drain that saw the count unchanged since its read of
    // the outbox knows nothing committed through this instance after it), and whether a drain of this instance holds
    // the lease (a notice that finds it busy then needs no retry of its own: that drain looks again before it ends).
    private readonly ConcurrentDictionary<string, long> _notices = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _draining = new(StringComparer.Ordinal);
    // Per repository: when its last drain started (a notice within Events:BatchWindow of it waits for the rest of the
    // window), and the timer of a notice so waiting.
    private readonly ConcurrentDictionary<string, long> _lastDrain = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ITimer> _waiting = new(StringComparer.Ordinal);

    public EventDispatcher(Outbox outbox, EventSinks sinks, IOptions<EventsOptions> options, RegistryMetrics metrics, TimeProvider time, ILogger<EventDispatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        (_outbox, _sinks, _options, _metrics, _time, _logger) = (outbox, sinks, options.Value, metrics, time, logger);
    }

    /// <summary>Asks for <paramref name="repository"/>'s outbox to be drained soon; never waits, never fails.</summary>
    public void Notify(RepositoryName repository)
    {
        if (!_options.Enabled)
        {
            return;
        }
        var key = TableKeys.Repository(repository);
        _notices.AddOrUpdate(key, 1, static (_, count) => count + 1);
        if (!_queued.TryAdd(key, 0))
        {
            return; // a drain is already asked for, and reads the outbox after this change committed
        }
        if (_lastDrain.Count > 10_000)
        {
            foreach (var (stale, at) in _lastDrain)
            {
                if (_time.GetElapsedTime(at) > _options.BatchWindow)
                {
                    _lastDrain.TryRemove(new KeyValuePair<string, long>(stale, at));
                }
            }
        }
        var wait = _lastDrain.TryGetValue(key, out var last) ? _options.BatchWindow - _time.GetElapsedTime(last) : TimeSpan.Zero;
        if (wait <= TimeSpan.Zero)
        {
            _signals.Writer.TryWrite(repository);
            return;
        }
        ITimer? timer = null;
        timer = _time.CreateTimer(_ =>
        {
            // Unless a drain read the outbox meanwhile and took this notice with it (see DrainAsync).
            if (_waiting.TryRemove(new KeyValuePair<string, ITimer>(key, timer!)))
            {
                timer!.Dispose();
                _signals.Writer.TryWrite(repository);
            }
        }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _waiting[key] = timer;
        timer.Change(wait, Timeout.InfiniteTimeSpan);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => WorkAsync(stoppingToken)));

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var repository in _signals.Reader.ReadAllAsync(stoppingToken))
            {
                var key = TableKeys.Repository(repository);
                _queued.TryRemove(key, out _);
                _lastDrain[key] = _time.GetTimestamp();
                if (_draining.ContainsKey(key))
                {
                    // A drain of this instance holds the lease: it reads the outbox again before it gives the lease up
                    // (its notices count changed), so this notice costs no lease attempt.
                    continue;
                }
                try
                {
                    if (await DrainAsync(repository, stoppingToken) == DrainResult.Busy && !_draining.ContainsKey(key))
                    {
                        // Another drain holds the lease and may have read the outbox before this change committed.
                        Defer(repository, new Delivery(DeliveryOutcome.RetryLater, _options.RetryBase, "another publisher is draining"));
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // Storage failed, say: the sweep tries again.
                    LogDrainFailed(_logger, repository.Value, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping: what is pending stays in the outbox for the sweep
        }
    }

    /// <summary>Publishes <paramref name="repository"/>'s pending events, in order, until none is left or a sink fails.</summary>
    public async Task<DrainResult> DrainAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return DrainResult.Disabled;
        }
        // The lease is this drain's own, so two drains of one instance exclude each other as two instances' do.
        var owner = $"{_owner}:{Guid.NewGuid():N}";
        PublishingLease? lease;
        try
        {
            lease = await _outbox.TryLeaseAsync(repository, owner, LeaseTime, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopped while taking the lease: storage may have granted it, and nothing else would give it up before it expires.
            await _outbox.ReleaseIfHeldAsync(repository, owner, CancellationToken.None);
            throw;
        }
        if (lease is null)
        {
            return DrainResult.Busy;
        }
        var key = TableKeys.Repository(repository);
        _draining[key] = 0;
        long seen = 0;
        bool deferred = false, released = false;
        try
        {
            while (true)
            {
                if (_waiting.TryRemove(key, out var waiting))
                {
                    // A notice waiting for its batch window: the read below comes after its change committed.
                    waiting.Dispose();
                    _queued.TryRemove(key, out _);
                }
                seen = Notices(key);
                var pending = await _outbox.PendingAsync(repository, BatchSize, cancellationToken);
                if (pending.Count == 0)
                {
                    Succeeded(repository);
                    return DrainResult.Drained;
                }
                var delivery = await _sinks.SendAsync(RegistryEvents.Batch(pending, _options.Source ?? "registry"), cancellationToken);
                if (delivery.Outcome == DeliveryOutcome.Rejected && pending.Count > 1)
                {
                    // Find the one that is refused: the head alone (the events after it wait for it either way).
                    pending = [pending[0]];
                    delivery = await _sinks.SendAsync(RegistryEvents.Batch(pending, _options.Source ?? "registry"), cancellationToken);
                }
                if (delivery.Outcome == DeliveryOutcome.Delivered)
                {
                    // All there was when it read, and no change came through this instance since: the lease goes with
                    // the moves, in their transaction, and no read is needed to find nothing.
                    var last = pending.Count < BatchSize && Notices(key) == seen;
                    await _outbox.MarkSentAsync(pending, last ? lease : null, cancellationToken);
                    released = last;
                    var now = _time.GetUtcNow();
                    foreach (var row in pending)
                    {
                        _metrics.RecordEventPublished(now - row.OccurredOn);
                    }
                    if (last)
                    {
                        Succeeded(repository);
                        return DrainResult.Drained;
                    }
                    if (!await _outbox.RenewAsync(lease, LeaseTime, cancellationToken))
                    {
                        return DrainResult.Busy; // it expired and another publisher took over: it drains the rest
                    }
                    continue;
                }
                var head = pending[0];
                if (delivery.Outcome == DeliveryOutcome.Rejected)
                {
                    await _outbox.RecordFailureAsync(head, delivery.Error ?? "rejected", cancellationToken);
                    if (head.Attempts >= _options.MaxAttempts)
                    {
                        LogDeadLettered(_logger, head.Id, repository.Value, head.Attempts, delivery.Error);
                        await _outbox.DeadLetterAsync(head, delivery.Error ?? "rejected", cancellationToken);
                        continue;
                    }
                }
                Defer(repository, delivery);
                deferred = true;
                return DrainResult.Deferred;
            }
        }
        finally
        {
            if (!released)
            {
                await _outbox.ReleaseAsync(lease, CancellationToken.None);
            }
            _draining.TryRemove(key, out _);
            if (!deferred && !_notices.TryRemove(new KeyValuePair<string, long>(key, seen)) && Notices(key) != seen)
            {
                // A change notified while this drain was ending (or had lost its lease): its notice found the lease
                // held by this drain and left it to it. (A deferred drain's timer reads the outbox again anyway.)
                Notify(repository);
            }
        }
    }

    private long Notices(string key) => _notices.TryGetValue(key, out var count) ? count : 0;

    /// <summary>Tries the repository again after a backoff that doubles with each failure, or the sink's <c>Retry-After</c> when longer.</summary>
    private void Defer(RepositoryName repository, Delivery delivery)
    {
        var key = TableKeys.Repository(repository);
        var failures = _deferred.TryGetValue(key, out var previous) ? previous.Failures + 1 : 1;
        previous.Timer?.Dispose();
        var backoff = TimeSpan.FromTicks(Math.Min(_options.RetryMax.Ticks, _options.RetryBase.Ticks * (1L << Math.Min(failures - 1, 20))));
        var wait = delivery.RetryAfter is { } asked && asked > backoff ? TimeSpan.FromTicks(Math.Min(asked.Ticks, _options.RetryMax.Ticks * 5)) : backoff;
        LogDeferred(_logger, repository.Value, wait, delivery.Error);
        var timer = _time.CreateTimer(_ => Notify(repository), null, wait, Timeout.InfiniteTimeSpan);
        _deferred[key] = (failures, timer);
    }

    private void Succeeded(RepositoryName repository)
    {
        if (_deferred.TryRemove(TableKeys.Repository(repository), out var deferred))
        {
            deferred.Timer.Dispose();
        }
    }

    public override void Dispose()
    {
        foreach (var (_, (_, timer)) in _deferred)
        {
            timer.Dispose();
        }
        foreach (var (_, timer) in _waiting)
        {
            timer.Dispose();
        }
        base.Dispose();
    }

    [LoggerMessage(EventId = LogEvents.Events + 1, Level = LogLevel.Warning, Message = "events of {Repository}: publishing failed, retrying in {Wait}: {Error}")]
    private static partial void LogDeferred(ILogger logger, string repository, TimeSpan wait, string? error);

    [LoggerMessage(EventId = LogEvents.Events + 2, Level = LogLevel.Error, Message = "event {Id} of {Repository} dead-lettered after {Attempts} rejections: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, string id, string repository, int attempts, string? error);

    [LoggerMessage(EventId = LogEvents.Events + 3, Level = LogLevel.Warning, Message = "events of {Repository}: the outbox could not be read or moved; the sweep tries again")]
    private static partial void LogDrainFailed(ILogger logger, string repository, Exception exception);
}
