using Azure.Core;
using Azure.Core.Pipeline;

namespace Registry.Tests.Fixtures;

/// <summary>A storage pipeline policy that fails every call with an I/O error while <see cref="Failing"/> is set.</summary>
public sealed class StorageOutage : HttpPipelineSynchronousPolicy
{
    private volatile TaskCompletionSource? _refusedBatch;
    private volatile bool _failing;

    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    /// <summary>Completes when the next entity-group transaction (a Table <c>$batch</c>) from now on has been failed.</summary>
    public Task NextRefusedBatch()
    {
        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _refusedBatch = next;
        return next.Task;
    }

    public override void OnSendingRequest(HttpMessage message)
    {
        if (_failing)
        {
            if (message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal))
            {
                _refusedBatch?.TrySetResult();
            }
            throw new IOException("injected storage outage");
        }
    }
}
