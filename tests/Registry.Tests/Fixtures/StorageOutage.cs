using Azure.Core;
using Azure.Core.Pipeline;

namespace Registry.Tests.Fixtures;

/// <summary>A storage pipeline policy that fails every call with an I/O error while <see cref="Failing"/> is set.</summary>
public sealed class StorageOutage : HttpPipelineSynchronousPolicy
{
    private volatile bool _failing;

    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    public override void OnSendingRequest(HttpMessage message)
    {
        if (_failing)
        {
            throw new IOException("injected storage outage");
        }
    }
}
