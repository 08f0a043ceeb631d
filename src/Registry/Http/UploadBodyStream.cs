using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Storage.Uploads;

namespace Registry.Http;

/// <summary>Why an upload body ended before the client finished it.</summary>
public enum BodyStall
{
    /// <summary>It did not: the body ended as the client sent it (or is still being read).</summary>
    None,

    /// <summary>No byte arrived for <see cref="UploadOptions.BodyIdleTimeout"/> while the registry waited for one.</summary>
    Idle,

    /// <summary>Bytes came slower than Kestrel's minimum request body data rate.</summary>
    TooSlow,
}

/// <summary>
/// An upload's request body that ends where the client stops sending. When a read has waited
/// <see cref="UploadOptions.BodyIdleTimeout"/> without a byte, it is cancelled and returns 0, the end of the body, and
/// <see cref="Stall"/> says so; Kestrel's minimum data rate ends it the same way. The stager then stages what arrived,
/// as at any body's end, and the handler answers 408 instead of 202.
///
/// <para>Only time spent waiting for the client counts: the timer runs while a read waits and stops when it returns,
/// so slow staging between reads never ends a body, and a read answered from bytes already received
/// (<see cref="PipeReader.TryRead"/>) costs no timer call. The timer cancels through
/// <see cref="PipeReader.CancelPendingRead"/>, which leaves Kestrel's reader usable, where a cancelled token would
/// leave it mid-read.</para>
/// </summary>
public sealed class UploadBodyStream : Stream
{
    private readonly PipeReader _reader;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeProvider _time;
    private ITimer? _timer;
    private volatile bool _timedOut;

    public UploadBodyStream(PipeReader reader, TimeSpan idleTimeout, TimeProvider time)
    {
        _reader = reader;
        _idleTimeout = idleTimeout;
        _time = time;
    }

    /// <summary>The request's body, with the configured idle timeout and the registry's clock.</summary>
    public static UploadBodyStream Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var services = context.RequestServices;
        var idleTimeout = services.GetRequiredService<IOptions<UploadOptions>>().Value.BodyIdleTimeout;
        return new UploadBodyStream(context.Request.BodyReader, idleTimeout, services.GetRequiredService<TimeProvider>());
    }

    public BodyStall Stall { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Stall != BodyStall.None)
        {
            return ValueTask.FromResult(0);
        }
        try
        {
            if (_reader.TryRead(out var result) && Copy(result, buffer) is { } copied)
            {
                return ValueTask.FromResult(copied);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
        {
            Stall = BodyStall.TooSlow;
            return ValueTask.FromResult(0);
        }
        return WaitAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("upload bodies are read asynchronously");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _timer?.Dispose();
        }
        base.Dispose(disposing);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> WaitAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        _timer ??= _time.CreateTimer(static body => ((UploadBodyStream)body!).OnIdle(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        while (true)
        {
            ReadResult result;
            _timer.Change(_idleTimeout, Timeout.InfiniteTimeSpan);
            try
            {
                result = await _reader.ReadAsync(cancellationToken);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
            {
                Stall = BodyStall.TooSlow;
                return 0;
            }
            finally
            {
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
            if (Copy(result, buffer) is { } copied)
            {
                return copied;
            }
        }
    }

    /// <summary>
    /// Takes what <paramref name="result"/> holds into <paramref name="buffer"/>: the bytes copied, 0 at the body's end
    /// or once it stalled, or null when the read gave nothing (a cancellation that was not the timer's, or one that bytes
    /// overtook) and the caller must read again.
    /// </summary>
    private int? Copy(ReadResult result, Memory<byte> buffer)
    {
        var available = result.Buffer;
        if (available.IsEmpty)
        {
            _reader.AdvanceTo(available.Start);
            if (result.IsCanceled && _timedOut)
            {
                Stall = BodyStall.Idle;
                return 0;
            }
            return result.IsCompleted ? 0 : null;
        }
        // Bytes arrived: whatever the timer did meanwhile, the client was not idle.
        _timedOut = false;
        var length = (int)Math.Min(available.Length, buffer.Length);
        var taken = available.Slice(0, length);
        taken.CopyTo(buffer.Span);
        _reader.AdvanceTo(taken.End);
        return length;
    }

    private void OnIdle()
    {
        _timedOut = true;
        _reader.CancelPendingRead();
    }
}
