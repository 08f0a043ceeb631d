using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Diagnostics;
using Registry.Oci;
using Registry.Startup;
using Registry.Storage;

namespace Registry.Http;

/// <summary>
/// Turns the failures that are not the client's fault, and not a bug, into OCI errors: storage unavailable or
/// too slow (a call past its deadline, see <see cref="Storage.StorageRetryPolicy"/>; the request past its
/// <see cref="RequestBudget"/>, which starts here), or not prepared at start (<see cref="StartupNotPreparedException"/>)
/// → 503 with Retry-After; a body that broke off or overran its limit → 400/413. A client that went away gets nothing.
/// Anything else is a bug and stays a 500.
/// </summary>
public sealed partial class OciFaultMiddleware(
    RequestDelegate next, IOptions<StorageOptions> options, TimeProvider time, ILogger<OciFaultMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var clientGone = context.RequestAborted;
        using var budget = context.GetEndpoint()?.Metadata.GetMetadata<WithoutRequestBudgetMetadata>() is null
            ? RequestBudget.Start(context, options.Value.RequestBudget, time)
            : null;
        try
        {
            await next(context);
        }
        catch (Exception e) when (clientGone.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            LogClientGone(logger, context.Request.Method, context.Request.Path);
        }
        catch (OperationCanceledException) when (budget is { Expired: true })
        {
            LogBudgetSpent(logger, context.Request.Method, context.Request.Path, budget.Budget);
            await WriteUnavailableAsync(context);
        }
        catch (BadHttpRequestException e)
        {
            LogBadBody(logger, context.Request.Method, context.Request.Path, e.Message);
            await WriteIfPossibleAsync(context, e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? new OciError(Failure.BodyTooLarge, "the request body is larger than this endpoint accepts")
                : new OciError(e.StatusCode == StatusCodes.Status408RequestTimeout ? Failure.UploadBodyIdle : Failure.BodyUnreadable, $"the request body could not be read: {e.Message}"));
        }
        catch (Exception e) when (IsStorageUnavailable(e))
        {
            LogStorageUnavailable(logger, context.Request.Method, context.Request.Path, e);
            await WriteUnavailableAsync(context);
        }
        finally
        {
            context.RequestAborted = clientGone;
        }
    }

    private static Task WriteUnavailableAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "5";
        return WriteIfPossibleAsync(context, new OciError(Failure.Unavailable));
    }

    private static bool IsStorageUnavailable(Exception e) => e switch
    {
        RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500,
        // IOException: a try that broke off, when it was not retried (see StorageRetryPolicy).
        TimeoutException or TaskCanceledException or IOException or System.Net.Http.HttpRequestException or StartupNotPreparedException => true,
        // What the SDK throws once its retries are spent: every try failed, on the network or with a 5xx.
        AggregateException a => a.InnerExceptions.All(inner => inner is IOException || IsStorageUnavailable(inner)),
        _ => false,
    };

    private static async Task WriteIfPossibleAsync(HttpContext context, OciError error)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }
        await OciResponses.WriteErrorAsync(context, error);
    }

    [LoggerMessage(EventId = LogEvents.Faults + 1, Level = LogLevel.Debug, Message = "{Method} {Path}: the client went away")]
    private static partial void LogClientGone(ILogger logger, string method, PathString path);

    [LoggerMessage(EventId = LogEvents.Faults + 2, Level = LogLevel.Information, Message = "{Method} {Path}: unreadable request body: {Reason}")]
    private static partial void LogBadBody(ILogger logger, string method, PathString path, string reason);

    [LoggerMessage(EventId = LogEvents.Faults + 3, Level = LogLevel.Warning, Message = "{Method} {Path}: storage unavailable")]
    private static partial void LogStorageUnavailable(ILogger logger, string method, PathString path, Exception exception);

    [LoggerMessage(EventId = LogEvents.Faults + 4, Level = LogLevel.Warning, Message = "{Method} {Path}: not answered within the request budget of {Budget}")]
    private static partial void LogBudgetSpent(ILogger logger, string method, PathString path, TimeSpan budget);
}
