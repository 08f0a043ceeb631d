using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Registry.Diagnostics;
using Registry.Http;
using Registry.Jobs;

namespace Registry.Host.Triggers;

/// <summary>
/// The non-HTTP functions as the Functions host invokes a custom handler: <c>POST /&lt;function name&gt;</c> with an
/// <see cref="InvocationRequest"/>, answered with an <see cref="InvocationResponse"/>. Mapped only under the host: it
/// listens on 127.0.0.1 and forwards outside requests only to the HTTP functions' routes, so these paths are never
/// reachable from outside. Standalone, <see cref="Scheduling.InProcessScheduler"/> runs the same jobs instead.
/// </summary>
public static partial class TriggerEndpoints
{
    /// <summary>The largest envelope accepted: a queue message is at most 64 KiB, a timer's data far less.</summary>
    private const int MaxEnvelopeBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapFunctionTriggers(this IEndpointRouteBuilder endpoints, IEnumerable<IScheduledJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        foreach (var job in jobs)
        {
            endpoints.MapPost("/" + job.Name, (HttpContext context, ILogger<InvocationRequest> logger) => RunScheduledAsync(context, job, logger))
                .WithoutRequestBudget();
        }
        endpoints.MapPost("/" + ReplicationJob.Name,
                (HttpContext context, ReplicationJob replication, ILogger<InvocationRequest> logger) => ReplicateAsync(context, replication, logger))
            .WithoutRequestBudget();
        return endpoints;
    }

    private static async Task RunScheduledAsync(HttpContext context, IScheduledJob job, ILogger logger)
    {
        if (await ReadAsync(context) is null)
        {
            await AnswerAsync(context, StatusCodes.Status400BadRequest, ["the body is not a Functions invocation envelope {Data, Metadata}"], null);
            return;
        }
        JobReport report;
        try
        {
            report = await job.RunAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogJobFailed(logger, job.Name, e);
            await AnswerAsync(context, StatusCodes.Status500InternalServerError, [$"{job.Name} failed: {e.GetType().Name}: {e.Message}"], null);
            return;
        }
        LogJobRan(logger, job.Name, report.Status, report.Summary);
        await AnswerAsync(context, StatusCodes.Status200OK, [$"{job.Name}: {report.Summary}"], report);
    }

    private static async Task ReplicateAsync(HttpContext context, ReplicationJob replication, ILogger logger)
    {
        var request = await ReadAsync(context);
        if (request?.Data is not { } data || !data.TryGetValue("message", out var message))
        {
            await AnswerAsync(context, StatusCodes.Status400BadRequest, ["the invocation carries no Data.message"], null);
            return;
        }
        // The host passes a queue message as a string, or as the JSON itself when the message was JSON.
        var text = message.ValueKind == JsonValueKind.String ? message.GetString() ?? "" : message.GetRawText();
        JobReport? report;
        try
        {
            report = await replication.HandleAsync(text, context.RequestAborted);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not applied now (the replica's storage failed, the primary kept changing): the host retries the message,
            // then moves it to the poison queue (which keeps the event for an operator).
            LogJobFailed(logger, ReplicationJob.Name, e);
            await AnswerAsync(context, StatusCodes.Status500InternalServerError, [$"{ReplicationJob.Name} failed: {e.GetType().Name}: {e.Message}"], null);
            return;
        }
        if (report is null)
        {
            await AnswerAsync(context, StatusCodes.Status400BadRequest, ["the queue message is not a registry event; the host will retry it and then poison it"], null);
            return;
        }
        LogJobRan(logger, ReplicationJob.Name, report.Status, report.Summary);
        await AnswerAsync(context, StatusCodes.Status200OK, [$"{ReplicationJob.Name}: {report.Summary}"], report);
    }

    private static async Task<InvocationRequest?> ReadAsync(HttpContext context)
    {
        RequestBodyLimit.Set(context, MaxEnvelopeBytes);
        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, InvocationJson.Default.InvocationRequest, context.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task AnswerAsync(HttpContext context, int status, IReadOnlyList<string> logs, JobReport? report)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new InvocationResponse([], logs, report),
            InvocationJson.Default.InvocationResponse, context.RequestAborted);
    }

    [LoggerMessage(EventId = LogEvents.Triggers + 1, Level = LogLevel.Information, Message = "{Job}: {Status}: {Summary}")]
    private static partial void LogJobRan(ILogger logger, string job, string status, string summary);

    [LoggerMessage(EventId = LogEvents.Triggers + 2, Level = LogLevel.Error, Message = "{Job} failed")]
    private static partial void LogJobFailed(ILogger logger, string job, Exception exception);
}
