using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Registry.Startup;
using Registry.Storage;

namespace Registry.Telemetry;

/// <summary>
/// <c>GET /health</c>, without credentials: 200 when both Blob and Table storage answer within
/// <see cref="Deadline"/> and the start's <see cref="StoragePreparation"/> is done (it waits for a running attempt
/// within the same deadline, and starts a new one after a failure), otherwise 503. Each probe costs one container
/// read and one point read of an entity that never exists; the body names which part failed and nothing else.
/// </summary>
public static partial class HealthEndpoint
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/health", [HttpMethods.Get, HttpMethods.Head], CheckAsync).ServedBeforeStoragePrepared();
        return endpoints;
    }

    private static async Task CheckAsync(HttpContext context)
    {
        var clients = context.RequestServices.GetRequiredService<StorageClients>();
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(HealthEndpoint));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(Deadline);
        var blob = ProbeAsync("blob", async ct => await clients.Container.ExistsAsync(ct), logger, deadline.Token);
        var table = ProbeAsync("table", async ct => await clients.Repositories.GetEntityIfExistsAsync<TableEntity>(
            "~health", "probe", ["PartitionKey"], ct), logger, deadline.Token);
        var prepared = PreparedAsync(context.RequestServices.GetRequiredService<StoragePreparation>(), deadline.Token);
        var (blobOk, tableOk, preparedOk) = (await blob, await table, await prepared);
        var healthy = blobOk && tableOk && preparedOk;
        context.Response.StatusCode = healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.CacheControl = "no-store";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", healthy ? "healthy" : "unhealthy");
        json.WriteStartObject("storage");
        json.WriteString("blob", blobOk ? "ok" : "unreachable");
        json.WriteString("table", tableOk ? "ok" : "unreachable");
        json.WriteBoolean("prepared", preparedOk);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static async Task<bool> ProbeAsync(string service, Func<CancellationToken, Task> probe, ILogger logger, CancellationToken cancellationToken)
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

    /// <summary>Whether preparation is done or finishes before the deadline; its failure was logged where it happened.</summary>
    private static async Task<bool> PreparedAsync(StoragePreparation preparation, CancellationToken cancellationToken)
    {
        try
        {
            await preparation.EnsureAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is StorageNotPreparedException or OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "health probe of {Service} storage failed")]
    private static partial void LogProbeFailed(ILogger logger, string service, Exception exception);
}
