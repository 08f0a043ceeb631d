using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Diagnostics;

namespace Registry.Storage.Uploads;

/// <summary>
/// The memory that every upload request of this instance stages its blocks in: at most
/// <see cref="UploadOptions.StagingMemoryBytes"/>, in whole blocks of <see cref="BlockStager.BlockSize"/>.
///
/// <para>A request takes its first block with <see cref="RentAsync"/>, which waits at most
/// <see cref="UploadOptions.StagingWait"/> for one to come free and gives null when none did (the upload is then
/// refused). Further blocks, for staging in parallel, come from <see cref="TryRent"/> only when one is free at that
/// moment, so a request that holds a block always makes progress and no request ever waits for a second one. Blocks
/// freed while requests wait go to them first, in order.</para>
///
/// <para>Returned blocks are kept for the next uploads, so the blocks in use and kept never exceed the budget however
/// bursts follow each other. Once no block has been in use for <see cref="UploadOptions.StagingTrimAfter"/>, all but
/// <see cref="MaxIdleBlocks"/> are dropped and, when that dropped at least <see cref="CollectAfterDroppedBlocks"/>, one
/// aggressive collection gives their memory back to the operating system. Why the collection and why the delay, as
/// measured: the GC keeps dropped arrays' space committed even after a full collection (150 dropped blocks: 228 of 234 MB still
/// resident; an aggressive collection: 82 MB, in 48 ms with 50 MB live), and each idle storage connection refers to the
/// last block it sent until the SDK's HTTP client closes it, after one minute idle
/// (<c>SocketsHttpHandler.PooledConnectionIdleTimeout</c>); <see cref="UploadOptions.StagingTrimAfter"/> is twice that.</para>
/// </summary>
public sealed partial class StagingBuffers : IDisposable
{
    public const int MaxIdleBlocks = 8;
    public const int CollectAfterDroppedBlocks = 16;

    private readonly SemaphoreSlim _free;
    private readonly ConcurrentStack<byte[]> _idle = new();
    private readonly ITimer _trim;
    private readonly TimeSpan _wait;
    private readonly TimeSpan _trimAfter;
    private readonly TimeProvider _time;
    private readonly ILogger<StagingBuffers> _logger;
    private int _idleCount;

    public StagingBuffers(IOptions<UploadOptions> options, TimeProvider time, ILogger<StagingBuffers> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Capacity = (int)Math.Clamp(options.Value.StagingMemoryBytes / BlockStager.BlockSize, 1, int.MaxValue);
        _free = new SemaphoreSlim(Capacity, Capacity);
        _wait = options.Value.StagingWait;
        _trimAfter = options.Value.StagingTrimAfter;
        _time = time;
        _logger = logger;
        _trim = time.CreateTimer(static buffers => ((StagingBuffers)buffers!).Trim(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How many blocks the budget holds.</summary>
    public int Capacity { get; }

    /// <summary>Bytes of blocks that requests hold now.</summary>
    public long BytesInUse => (long)(Capacity - _free.CurrentCount) * BlockStager.BlockSize;

    /// <summary>Bytes of returned blocks kept for reuse: with <see cref="BytesInUse"/>, never more than the budget.</summary>
    public long BytesIdle => (long)Volatile.Read(ref _idleCount) * BlockStager.BlockSize;

    /// <summary>
    /// A block for a request's first read, waiting at most <see cref="UploadOptions.StagingWait"/> for one; null when
    /// none came free in that time. Throws <see cref="OperationCanceledException"/> when the request is aborted.
    /// </summary>
    public async ValueTask<byte[]?> RentAsync(CancellationToken cancellationToken)
    {
        if (!_free.Wait(0, CancellationToken.None) && !await WaitAsync(cancellationToken))
        {
            LogFull(_logger, BytesInUse, _wait);
            return null;
        }
        return Take();
    }

    /// <summary>A further block if one is free now, else null; never waits.</summary>
    public byte[]? TryRent() => _free.Wait(0) ? Take() : null;

    /// <summary>Gives back a block from <see cref="RentAsync"/> or <see cref="TryRent"/>; once, and only once nothing reads it any more.</summary>
    public void Return(byte[] block)
    {
        ArgumentNullException.ThrowIfNull(block);
        _idle.Push(block);
        Interlocked.Increment(ref _idleCount);
        _free.Release();
        if (_free.CurrentCount == Capacity)
        {
            _trim.Change(_trimAfter, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        _trim.Dispose();
        _free.Dispose();
    }

    /// <summary>Once the budget has been unused for <see cref="UploadOptions.StagingTrimAfter"/>: drops the idle blocks beyond <see cref="MaxIdleBlocks"/>.</summary>
    private void Trim()
    {
        var dropped = 0;
        while (_free.CurrentCount == Capacity && Volatile.Read(ref _idleCount) > MaxIdleBlocks && _idle.TryPop(out _))
        {
            Interlocked.Decrement(ref _idleCount);
            dropped++;
        }
        if (dropped >= CollectAfterDroppedBlocks)
        {
            LogTrimmed(_logger, (long)dropped * BlockStager.BlockSize);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    private async Task<bool> WaitAsync(CancellationToken cancellationToken)
    {
        if (_wait <= TimeSpan.Zero)
        {
            return false;
        }
        using var timeout = new CancellationTokenSource(_wait, _time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _free.WaitAsync(either.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private byte[] Take()
    {
        if (_idle.TryPop(out var block))
        {
            Interlocked.Decrement(ref _idleCount);
            return block;
        }
        return GC.AllocateUninitializedArray<byte>(BlockStager.BlockSize);
    }

    [LoggerMessage(EventId = LogEvents.Staging + 1, Level = LogLevel.Information,
        Message = "an upload was refused: the staging memory (Uploads:StagingMemoryBytes) was all in use, {BytesInUse} bytes, for {Wait}")]
    private static partial void LogFull(ILogger logger, long bytesInUse, TimeSpan wait);

    [LoggerMessage(EventId = LogEvents.Staging + 2, Level = LogLevel.Information,
        Message = "upload staging memory unused for a while: {Bytes} bytes of idle blocks given back")]
    private static partial void LogTrimmed(ILogger logger, long bytes);
}
