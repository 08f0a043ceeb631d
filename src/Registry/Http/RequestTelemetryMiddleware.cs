using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Registry.Diagnostics;

namespace Registry.Http;

/// <summary>
/// Gives every request its correlation id and records how long it took. The id is the W3C trace id of the request's
/// activity (so it joins the Functions host's trace when the host sent <c>traceparent</c>), or a fresh one; it is
/// the request's <see cref="HttpContext.TraceIdentifier"/>, the <c>X-Correlation-Id</c> response header and the
/// <c>correlationId</c> of any OCI error body, so a user's error report leads straight to the logs.
/// </summary>
public sealed class RequestTelemetryMiddleware(RequestDelegate next, RegistryMetrics metrics, TimeProvider time)
{
    public const string CorrelationHeader = "X-Correlation-Id";

    public async Task InvokeAsync(HttpContext context)
    {
        var id = Activity.Current?.TraceId is { } trace && trace != default
            ? trace.ToHexString()
            : ActivityTraceId.CreateRandom().ToHexString();
        context.TraceIdentifier = id;
        context.Response.Headers[CorrelationHeader] = id;
        var started = time.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            metrics.RecordRequest(RouteOf(context), context.Request.Method, context.Response.StatusCode, time.GetElapsedTime(started));
        }
    }

    /// <summary>A low-cardinality name for what the path addresses: <c>manifest</c>, <c>blob</c>, <c>upload</c>, <c>token</c>...</summary>
    public static string RouteOf(HttpContext context)
    {
        var value = context.Request.Path.Value ?? "";
        if (value.StartsWith("/v2/", StringComparison.Ordinal))
        {
            return value.Length == 4 ? "base" : RegistryRequest.RouteOf(context)?.Kind switch
            {
                RouteKind.Catalog => "catalog",
                RouteKind.Tags => "tags",
                RouteKind.Manifest => "manifest",
                RouteKind.Referrers => "referrers",
                RouteKind.TagHistory => "tag-history",
                RouteKind.Blob => "blob",
                RouteKind.UploadStart or RouteKind.Upload => "upload",
                _ => "unknown",
            };
        }
        return value switch
        {
            "/v2" => "base",
            "/health" => "health",
            _ when value.StartsWith("/oauth2/", StringComparison.Ordinal) => "token",
            _ => "other",
        };
    }
}
