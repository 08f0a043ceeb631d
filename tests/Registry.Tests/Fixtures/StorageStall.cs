using Azure.Core;
using Azure.Core.Pipeline;

namespace Registry.Tests.Fixtures;

/// <summary>
/// A storage pipeline policy that stalls calls as a storage process stopped with SIGSTOP does: while <see cref="Stall"/>
/// is on, each call it selects is held until <see cref="Release"/> or until the call's own cancellation token fires,
/// and never fails by itself. Registered as an <see cref="HttpPipelinePolicy"/> it sits next to the transport, so that
/// token is the one the transport would see: cancelled by the try's share of the call's deadline or by the caller.
/// </summary>
public sealed class StorageStall : HttpPipelinePolicy
{
    private readonly Lock _lock = new();
    private TaskCompletionSource? _released;
    private TaskCompletionSource _held = NewSignal();
    private Func<Request, bool> _which = _ => true;
    private int _heldCount;

    /// <summary>Calls held since the last <see cref="Stall"/>.</summary>
    public int HeldCount => Volatile.Read(ref _heldCount);

    /// <summary>Completes when the first call is held after the last <see cref="Stall"/>.</summary>
    public Task FirstHeld
    {
        get
        {
            lock (_lock)
            {
                return _held.Task;
            }
        }
    }

    /// <summary>
    /// Holds every call <paramref name="which"/> selects (all when null) from now on. Calling it again while stalled only
    /// changes the selection: what is held stays held.
    /// </summary>
    public void Stall(Func<Request, bool>? which = null)
    {
        lock (_lock)
        {
            _which = which ?? (_ => true);
            if (_released is null)
            {
                _released = NewSignal();
                _held = NewSignal();
                _heldCount = 0;
            }
        }
    }

    /// <summary>Lets every held call go on, and stops holding new ones.</summary>
    public void Release()
    {
        TaskCompletionSource? released;
        lock (_lock)
        {
            released = _released;
            _released = null;
        }
        released?.TrySetResult();
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        if (Holds(message) is { } released)
        {
            await released.WaitAsync(message.CancellationToken);
        }
        await ProcessNextAsync(message, pipeline);
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Holds(message)?.Wait(message.CancellationToken);
        ProcessNext(message, pipeline);
    }

    private Task? Holds(HttpMessage message)
    {
        TaskCompletionSource held;
        Task released;
        lock (_lock)
        {
            if (_released is null || !_which(message.Request))
            {
                return null;
            }
            released = _released.Task;
            held = _held;
            _heldCount++;
        }
        held.TrySetResult();
        return released;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
