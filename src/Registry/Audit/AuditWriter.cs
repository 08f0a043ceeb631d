using System.Threading.Channels;
using Azure;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Registry.Diagnostics;
using Registry.Startup;
using Registry.Storage.Audit;

namespace Registry.Audit;

/// <summary>
/// Writes the audit records of requests in batches, off the request path: a record is queued when its response is
/// complete, and the queue is written every <see cref="Linger"/> as one Table transaction per day and hundred rows.
/// A pull therefore costs no storage call of its own, and a burst of thousands of pulls costs tens.
///
/// <para>While storage is unavailable the records stay queued, in order, and are written when it returns: a failed
/// write is tried again after a backoff that starts at <see cref="FirstRetryDelay"/> and doubles up to
/// <see cref="MaxRetryDelay"/>. A batch is written again as the same rows (<see cref="AuditBatch"/>), so one that storage
/// took although its answer was lost is not stored twice. A batch storage refuses for good (a 4xx other than 404, 408,
/// 429) is dropped and counted in the log, so it cannot hold up the others. The queue holds at most
/// <see cref="Capacity"/> records, queued or waiting for a retry; past that, new records are dropped and counted in the
/// log rather than slowing requests.</para>
///
/// <para>Stopping the host writes what is queued, retrying as long as the host's shutdown time allows; what is still
/// unwritten then is counted in the log. A crash loses what is queued.</para>
/// </summary>
public sealed partial class AuditWriter(AuditLog log, StartupPreparation preparation, TimeProvider time, ILogger<AuditWriter> logger)
    : BackgroundService
{
    public const int Capacity = 10_000;
    public static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);
    private const int MaxPerWrite = 1000;

    private readonly Channel<AuditEntry> _queue = Channel.CreateUnbounded<AuditEntry>(new UnboundedChannelOptions { SingleReader = true });

    // Cancelled when the host's shutdown time is over: the last writes give up then.
    private readonly CancellationTokenSource _shutdownOver = new();

    // Records queued or waiting for a retry; at most Capacity.
    private int _held;

    /// <summary>Records queued or waiting for a retry.</summary>
    internal int Held => Volatile.Read(ref _held);

    /// <summary>Queues <paramref name="entry"/>; never waits. False when the queue is full and the record was dropped.</summary>
    public bool Enqueue(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (Interlocked.Increment(ref _held) <= Capacity && _queue.Writer.TryWrite(entry))
        {
            return true;
        }
        Interlocked.Decrement(ref _held);
        LogDropped(logger, entry.Action, entry.Path);
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        var waiting = new Queue<AuditBatch>();
        var retryDelay = TimeSpan.Zero;
        // Ends once StopAsync completed the queue and every record in it was written, or the shutdown time is over.
        while (waiting.Count > 0 || await reader.WaitToReadAsync(CancellationToken.None))
        {
            await PauseAsync(retryDelay, stoppingToken);
            var fresh = new List<AuditEntry>(MaxPerWrite);
            while (fresh.Count < MaxPerWrite && reader.TryRead(out var entry))
            {
                fresh.Add(entry);
            }
            foreach (var batch in AuditLog.Batches(fresh))
            {
                waiting.Enqueue(batch);
            }
            if (await WriteAsync(waiting))
            {
                retryDelay = TimeSpan.Zero;
                continue;
            }
            if (_shutdownOver.IsCancellationRequested)
            {
                LogLost(logger, Held);
                return;
            }
            retryDelay = retryDelay == TimeSpan.Zero ? FirstRetryDelay : TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, MaxRetryDelay.Ticks));
            LogWriteFailed(logger, waiting.Sum(b => b.Count), retryDelay);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await using var shutdownOver = cancellationToken.Register(_shutdownOver.Cancel);
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _shutdownOver.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Waits <see cref="Linger"/> for more records to join a write, or <paramref name="retryDelay"/> after a failed one.
    /// Once the host is stopping, only the retry delay is waited, and only until the shutdown time is over.
    /// </summary>
    private async Task PauseAsync(TimeSpan retryDelay, CancellationToken stoppingToken)
    {
        var stopping = stoppingToken.IsCancellationRequested;
        if (stopping && retryDelay == TimeSpan.Zero)
        {
            return;
        }
        try
        {
            await Task.Delay(retryDelay == TimeSpan.Zero ? Linger : retryDelay, time, stopping ? _shutdownOver.Token : stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // stopping (or its time is over): write what is queued now
        }
    }

    /// <summary>Writes the waiting batches, oldest first; false when storage is unavailable and some are still waiting.</summary>
    private async Task<bool> WriteAsync(Queue<AuditBatch> waiting)
    {
        while (waiting.TryPeek(out var batch))
        {
            try
            {
                // The audit table exists once storage is prepared: on a fresh local storage, denials of the first
                // requests are queued before it is.
                await preparation.EnsureAsync(_shutdownOver.Token);
                await log.WriteAsync(batch, _shutdownOver.Token);
            }
            catch (RequestFailedException e) when (e.Status is >= 400 and < 500 and not (404 or 408 or 429))
            {
                LogRefused(logger, batch.Count, e.Status, e);
            }
            catch (Exception e) when (e is RequestFailedException or IOException or AggregateException or TimeoutException
                or OperationCanceledException or StartupNotPreparedException)
            {
                LogUnavailable(logger, e);
                return false;
            }
            waiting.Dequeue();
            Interlocked.Add(ref _held, -batch.Count);
        }
        return true;
    }

    [LoggerMessage(EventId = LogEvents.AuditWriter + 1, Level = LogLevel.Warning, Message = "audit queue full: record of {Action} {Path} dropped")]
    private static partial void LogDropped(ILogger logger, string action, string path);

    [LoggerMessage(EventId = LogEvents.AuditWriter + 2, Level = LogLevel.Warning, Message = "{Count} audit records could not be written yet; next try in {Delay}")]
    private static partial void LogWriteFailed(ILogger logger, int count, TimeSpan delay);

    [LoggerMessage(EventId = LogEvents.AuditWriter + 3, Level = LogLevel.Error, Message = "{Count} audit records were lost: storage did not take them before the host's shutdown time was over")]
    private static partial void LogLost(ILogger logger, int count);

    [LoggerMessage(EventId = LogEvents.AuditWriter + 4, Level = LogLevel.Error, Message = "{Count} audit records were refused by storage ({Status}) and dropped")]
    private static partial void LogRefused(ILogger logger, int count, int status, Exception exception);

    [LoggerMessage(EventId = LogEvents.AuditWriter + 5, Level = LogLevel.Debug, Message = "audit write failed: storage unavailable")]
    private static partial void LogUnavailable(ILogger logger, Exception exception);
}
