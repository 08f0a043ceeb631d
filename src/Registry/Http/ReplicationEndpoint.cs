using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Diagnostics;
using Registry.Events;
using Registry.Jobs;
using Registry.Replication;

namespace Registry.Http;

/// <summary>
/// <c>POST /_replication/events</c>: how a replica run without the Functions host receives the primary's events. The
/// primary delivers them as to any webhook (<c>Events:Webhooks</c>, with <c>Secret</c> = this replica's
/// <c>Replication:EventSecret</c>); a batch whose signature does not match is refused with 401 and never read further.
/// The batch is applied before the answer, so an event is acknowledged only once it is in the replica: 200 when applied,
/// 503 with <c>Retry-After</c> when it could not be now (the primary's publisher retries, as a queue would), 400 when it
/// holds no registry event (dead-lettered by the primary after its attempts). Mapped only when the secret is set.
/// </summary>
public static partial class ReplicationEndpoint
{
    public const string Path = "/_replication/events";

    /// <summary>A webhook batch holds one repository's pending events: far below this.</summary>
    private const int MaxBatchBytes = 4 * 1024 * 1024;

    public static IEndpointRouteBuilder MapReplicationEvents(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<ReplicationOptions>>().Value;
        if (options.IsReplica && options.EventSecret is { Length: > 0 })
        {
            endpoints.MapPost(Path, ReceiveAsync).WithoutRequestBudget();
        }
        return endpoints;
    }

    private static async Task ReceiveAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var secret = services.GetRequiredService<IOptions<ReplicationOptions>>().Value.EventSecret!;
        RequestBodyLimit.Set(context, MaxBatchBytes);
        byte[] body;
        using (var buffer = new MemoryStream())
        {
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            body = buffer.ToArray();
        }
        var signature = context.Request.Headers[WebhookSink.SignatureHeader].ToString();
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(WebhookSink.Sign(body, secret))))
        {
            await PlainAsync(context, StatusCodes.Status401Unauthorized, $"{WebhookSink.SignatureHeader} does not match this replica's Replication:EventSecret");
            return;
        }
        List<ReplicationEvent>? events;
        string? problem;
        try
        {
            using var document = JsonDocument.Parse(body);
            events = ReplicationJob.Parse(document.RootElement, out problem);
        }
        catch (JsonException e)
        {
            (events, problem) = (null, e.Message);
        }
        if (events is null)
        {
            await PlainAsync(context, StatusCodes.Status400BadRequest, problem ?? "not a registry event");
            return;
        }
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ReplicationEndpoint));
        try
        {
            var report = await services.GetRequiredService<ReplicationJob>().ApplyAsync(events, context.RequestAborted);
            LogApplied(logger, events.Count, report.Summary);
            await PlainAsync(context, StatusCodes.Status200OK, report.Summary);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            LogDeferred(logger, events.Count, e);
            context.Response.Headers.RetryAfter = "5";
            await PlainAsync(context, StatusCodes.Status503ServiceUnavailable, $"not applied now: {e.GetType().Name}: {e.Message}");
        }
    }

    private static async Task PlainAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(text + "\n", context.RequestAborted);
    }

    [LoggerMessage(EventId = LogEvents.Replication + 1, Level = LogLevel.Information, Message = "replicated {Count} events: {Summary}")]
    private static partial void LogApplied(ILogger logger, int count, string summary);

    [LoggerMessage(EventId = LogEvents.Replication + 2, Level = LogLevel.Warning, Message = "{Count} events not replicated now; the primary retries them")]
    private static partial void LogDeferred(ILogger logger, int count, Exception exception);
}
