using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Registry.Diagnostics;

namespace Registry.Storage;

/// <summary>What a health probe found: whether each storage service answered.</summary>
public sealed record StorageHealth(bool Blob, bool Table);

/// <summary>
/// Probes both storage services at once: one container read and one point read of an entity that never exists.
/// Any failure of a probe, within the caller's deadline, is the answer that the service is unreachable; it is logged.
/// </summary>
public sealed partial class StorageProbe(StorageClients clients, ILogger<StorageProbe> logger)
{
    public async Task<StorageHealth> ProbeAsync(CancellationToken cancellationToken)
    {
        var blob = ProbeAsync("blob", async ct => await clients.Container.ExistsAsync(ct), cancellationToken);
        var table = ProbeAsync("table", async ct => await clients.RepositoriesTable.GetEntityIfExistsAsync<TableEntity>(
            "~health", "probe", ["PartitionKey"], ct), cancellationToken);
        return new StorageHealth(await blob, await table);
    }

    private async Task<bool> ProbeAsync(string service, Func<CancellationToken, Task> probe, CancellationToken cancellationToken)
    {
        try
        {
            await probe(cancellationToken);
            return true;
        }
#pragma warning disable CA1031 // any failure of the probe is the answer: storage is not reachable
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogProbeFailed(logger, service, e);
            return false;
        }
    }

    [LoggerMessage(EventId = LogEvents.StorageProbe + 1, Level = LogLevel.Warning, Message = "health probe of {Service} storage failed")]
    private static partial void LogProbeFailed(ILogger logger, string service, Exception exception);
}
