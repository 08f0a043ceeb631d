using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Registry.Startup;
using Registry.Storage;

namespace Registry.Http;

/// <summary>
/// <c>GET /health</c>, without credentials: 200 when both Blob and Table storage answer within
/// <see cref="Deadline"/> and the start's <see cref="StartupPreparation"/> is done (it waits for a running attempt
/// within the same deadline, and starts a new one after a failure), otherwise 503. Each probe costs one container
/// read and one point read of an entity that never exists; the body names which part failed and nothing else.
/// </summary>
public static class HealthEndpoint
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/health", [HttpMethods.Get, HttpMethods.Head], CheckAsync).ServedBeforePrepared();
        return endpoints;
    }

    private static async Task CheckAsync(HttpContext context)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(Deadline);
        var storage = context.RequestServices.GetRequiredService<StorageProbe>().ProbeAsync(deadline.Token);
        var prepared = PreparedAsync(context.RequestServices.GetRequiredService<StartupPreparation>(), deadline.Token);
        var ((blobOk, tableOk), preparedOk) = (await storage, await prepared);
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

    /// <summary>Whether preparation is done or finishes before the deadline; its failure was logged where it happened.</summary>
    private static async Task<bool> PreparedAsync(StartupPreparation preparation, CancellationToken cancellationToken)
    {
        try
        {
            await preparation.EnsureAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is StartupNotPreparedException or OperationCanceledException)
        {
            return false;
        }
    }
}
