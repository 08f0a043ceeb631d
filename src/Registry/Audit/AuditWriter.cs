using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Registry.Startup;
using Registry.Storage.Audit;

namespace Registry.Audit;

/// <summary>
/// Writes the audit records of requests in batches, off the request path: a record is queued when its response is
/// complete, and the queue is written every <see cref="Linger"/> as one Table transaction per day and hundred rows.
/// A pull therefore costs no storage call of its own, and a burst of thousands of pulls costs tens. The queue holds
/// at most <see cref="Capacity"/> records; past that, records are dropped and counted in the log rather than
/// slowing requests. Stopping the host writes what is queued. A crash loses at most the last <see cref="Linger"/>.
/// </summary>
public sealed partial class AuditWriter(AuditLog log, StoragePreparation preparation, ILogger<AuditWriter> logger) : BackgroundService
{
    public const int Capacity = 10_000;
    public static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(250);
    private const int MaxPerWrite = 1000;

    private readonly Channel<AuditEntry> _queue = Channel.CreateBounded<AuditEntry>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    /// <summary>Queues <paramref name="entry"/>; never waits. False when the queue is full and the record was dropped.</summary>
    public bool Enqueue(AuditEntry entry)
    {
        if (_queue.Writer.TryWrite(entry))
        {
            return true;
        }
        LogDropped(logger, entry.Action, entry.Path);
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        var batch = new List<AuditEntry>(MaxPerWrite);
        // Ends once StopAsync completed the queue and every record in it was written.
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            if (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(Linger, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    // stopping: write what is queued now
                }
            }
            while (batch.Count < MaxPerWrite && reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }
            try
            {
                // The audit table exists once storage is prepared: on a fresh local storage, denials of the first
                // requests are queued before it is.
                await preparation.EnsureAsync(CancellationToken.None);
                await log.AppendBatchAsync(batch, CancellationToken.None);
            }
            catch (Exception e) when (e is Azure.RequestFailedException or IOException or AggregateException or TaskCanceledException
                or InvalidOperationException or StorageNotPreparedException)
            {
                LogWriteFailed(logger, batch.Count, e);
            }
            batch.Clear();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "audit queue full: record of {Action} {Path} dropped")]
    private static partial void LogDropped(ILogger logger, string action, string path);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "{Count} audit records could not be written")]
    private static partial void LogWriteFailed(ILogger logger, int count, Exception exception);
}
