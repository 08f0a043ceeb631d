using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Diagnostics;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Blobs;
using Registry.Storage.Uploads;

namespace Registry.Http;

/// <summary>
/// <c>/v2/&lt;name&gt;/blobs/uploads/</c>: start (with monolithic <c>?digest=</c> and cross-repository <c>?mount=</c>),
/// PATCH chunks, the completing PUT, status and cancel.
///
/// <para>Bodies are read through <see cref="UploadBodyStream"/>: one that stalls is ended with 408, and what arrived
/// before the stall stays staged. When no staging memory comes free (<see cref="StagingBuffers"/>), the upload is
/// refused with 429 and Retry-After before a byte of it is read; Kestrel then drains what the client still sends, for at
/// most its 5 s, so the client reads the answer instead of a reset.</para>
/// </summary>
public static partial class UploadHandlers
{
    public static async Task StartAsync(HttpContext context, RepositoryName name, RequestParameters query)
    {
        var uploads = context.RequestServices.GetRequiredService<BlobUploads>();
        var ct = context.RequestAborted;

        if (query["mount"] is { } mount)
        {
            // A malformed mount is refused rather than quietly turned into an upload: the client asked for something else.
            if (!BlobHandlers.TryDigest(mount, out var mountDigest, out var mountError))
            {
                await OciResponses.WriteErrorAsync(context, mountError);
                return;
            }
            var fromText = query["from"];
            RepositoryName from = default;
            if (fromText is not null && !RepositoryName.TryParse(fromText, out from))
            {
                await OciResponses.ErrorAsync(context, Failure.NameInvalid, $"from '{fromText}' is not a repository name");
                return;
            }
            if (fromText is not null && context.Features.Get<RegistryRequest>()!.MaySourceMount)
            {
                var mounted = await context.RequestServices.GetRequiredService<BlobLinks>().MountAsync(name, from, mountDigest, ct);
                if (mounted.Succeeded)
                {
                    Created(context, name, mounted.Value.Digest);
                    return;
                }
                if (mounted.Error.Failure != Failure.BlobUnknown)
                {
                    await OciResponses.WriteErrorAsync(context, mounted.Error);
                    return;
                }
            }
            // Unknown in the source, no source named, or a source the caller may not pull from: the spec's fallback is
            // an ordinary upload session (never 201, never a link).
        }
        else if (query["digest"] is { } digestText)
        {
            if (!BlobHandlers.TryDigest(digestText, out var digest, out var error))
            {
                await OciResponses.WriteErrorAsync(context, error);
                return;
            }
            AllowLargeBody(context);
            using var body = UploadBodyStream.Of(context);
            Outcome<BlobInfo> whole;
            using (RequestBudget.Pause(context))
            {
                whole = await uploads.UploadWholeAsync(name, digest, body, context.Request.ContentLength, ct);
            }
            if (!whole.Succeeded && body.Stall != BodyStall.None)
            {
                await StalledAsync(context, name, null, body.Stall);
                return;
            }
            await CreatedOrErrorAsync(context, name, whole);
            return;
        }

        var session = await uploads.StartAsync(name, ct);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
        OciResponses.SetUploadHeaders(context.Response, name.Value, BlobUploads.IdOf(session), session.Offset);
    }

    public static async Task PatchAsync(HttpContext context, RepositoryName name, string uploadId)
    {
        var session = await FindAsync(context, name, uploadId);
        if (session is null)
        {
            return;
        }
        var appended = await AppendAsync(context, name, session);
        if (appended is null)
        {
            return;
        }
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
        OciResponses.SetUploadHeaders(context.Response, name.Value, uploadId, appended.Offset);
    }

    public static async Task PutAsync(HttpContext context, RepositoryName name, string uploadId, RequestParameters query)
    {
        var session = await FindAsync(context, name, uploadId);
        if (session is null)
        {
            return;
        }
        if (!BlobHandlers.TryDigest(query["digest"], out var digest, out var error))
        {
            await OciResponses.WriteErrorAsync(context, error);
            return;
        }
        if (HasBody(context.Request))
        {
            session = await AppendAsync(context, name, session);
            if (session is null)
            {
                return;
            }
        }
        var completed = await context.RequestServices.GetRequiredService<BlobUploads>().CompleteAsync(name, session, digest, context.RequestAborted);
        await CreatedOrErrorAsync(context, name, completed);
    }

    public static async Task StatusAsync(HttpContext context, RepositoryName name, string uploadId)
    {
        var session = await FindAsync(context, name, uploadId);
        if (session is null)
        {
            return;
        }
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        OciResponses.SetUploadHeaders(context.Response, name.Value, uploadId, session.Offset);
    }

    public static async Task CancelAsync(HttpContext context, RepositoryName name, string uploadId)
    {
        var session = await FindAsync(context, name, uploadId);
        if (session is null)
        {
            return;
        }
        await context.RequestServices.GetRequiredService<BlobUploads>().CancelAsync(session, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>Checks the chunk's Content-Range against the session, then streams the body in. Null when an error was written.</summary>
    private static async Task<UploadEntity?> AppendAsync(HttpContext context, RepositoryName name, UploadEntity session)
    {
        var request = context.Request;
        long? declared = request.ContentLength;
        var rangeHeader = request.Headers.ContentRange.ToString();
        if (rangeHeader.Length > 0)
        {
            if (!ByteRanges.TryParseContentRange(rangeHeader, out var start, out var end) || start != session.Offset)
            {
                await RangeNotSatisfiableAsync(context, name, session,
                    $"Content-Range '{rangeHeader}' must be '<start>-<end>' with start at the upload's offset {session.Offset}");
                return null;
            }
            var rangeLength = end - start + 1;
            if (declared is { } length && length != rangeLength)
            {
                await OciResponses.ErrorAsync(context, Failure.SizeInvalid, $"Content-Length {length} disagrees with Content-Range '{rangeHeader}'");
                return null;
            }
            declared = rangeLength;
        }
        AllowLargeBody(context);
        var uploads = context.RequestServices.GetRequiredService<BlobUploads>();
        using var body = UploadBodyStream.Of(context);
        Outcome<UploadEntity> appended;
        using (RequestBudget.Pause(context))
        {
            appended = await uploads.AppendAsync(session, body, declared, context.RequestAborted);
        }
        if (body.Stall != BodyStall.None)
        {
            // A chunk without a declared length was recorded up to the stall; one that declared its length and fell
            // short recorded nothing (as a short body does), and the stored session says so.
            var kept = appended.Succeeded ? appended.Value : await uploads.FindAsync(name, BlobUploads.IdOf(session), context.RequestAborted);
            await StalledAsync(context, name, kept, body.Stall);
            return null;
        }
        if (appended.Succeeded)
        {
            return appended.Value;
        }
        if (appended.Error.Failure == Failure.UploadOutOfOrder)
        {
            var current = await uploads.FindAsync(name, BlobUploads.IdOf(session), context.RequestAborted);
            if (current is not null)
            {
                OciResponses.SetUploadHeaders(context.Response, name.Value, BlobUploads.IdOf(session), current.Offset);
            }
        }
        await OciResponses.WriteErrorAsync(context, appended.Error);
        return null;
    }

    /// <summary>
    /// Answers a request whose body stalled: 408 <c>BLOB_UPLOAD_INVALID</c>, and, when an upload session is
    /// <paramref name="kept"/>, its Location and the Range of the bytes durably staged, from which to resume.
    /// </summary>
    private static async Task StalledAsync(HttpContext context, RepositoryName name, UploadEntity? kept, BodyStall stall)
    {
        var why = stall == BodyStall.Idle
            ? $"no byte of the request body arrived for {context.RequestServices.GetRequiredService<IOptions<UploadOptions>>().Value.BodyIdleTimeout.TotalSeconds} s"
            : "the request body arrived slower than the minimum data rate";
        var next = kept is null
            ? "nothing of it was kept: send the upload again"
            : $"the upload keeps the {kept.Offset} bytes stored before it: resume with a PATCH from byte {kept.Offset} (the Range header says the same; GET the Location to check)";
        LogStalled(Logger(context), context.Request.Method, context.Request.Path, stall, kept?.Offset);
        // The client sends nothing now: closing spares Kestrel's wait, up to 5 s, for the rest of a body that is not coming.
        context.Response.Headers.Connection = "close";
        if (kept is not null)
        {
            OciResponses.SetUploadHeaders(context.Response, name.Value, BlobUploads.IdOf(kept), kept.Offset);
        }
        await OciResponses.ErrorAsync(context, Failure.UploadBodyIdle, $"{why}, so the request was ended; {next}");
    }

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UploadHandlers));

    private static async Task RangeNotSatisfiableAsync(HttpContext context, RepositoryName name, UploadEntity session, string detail)
    {
        OciResponses.SetUploadHeaders(context.Response, name.Value, BlobUploads.IdOf(session), session.Offset);
        await OciResponses.ErrorAsync(context, Failure.UploadOutOfOrder, detail);
    }

    private static async Task<UploadEntity?> FindAsync(HttpContext context, RepositoryName name, string uploadId)
    {
        var session = await context.RequestServices.GetRequiredService<BlobUploads>().FindAsync(name, uploadId, context.RequestAborted);
        if (session is null)
        {
            await OciResponses.ErrorAsync(context, Failure.BlobUploadUnknown, $"no upload {uploadId} in progress in repository {name}");
        }
        return session;
    }

    private static async Task CreatedOrErrorAsync(HttpContext context, RepositoryName name, Outcome<BlobInfo> outcome)
    {
        if (outcome.Succeeded)
        {
            Created(context, name, outcome.Value.Digest);
        }
        else
        {
            await OciResponses.WriteErrorAsync(context, outcome.Error);
        }
    }

    private static void Created(HttpContext context, RepositoryName name, Digest digest)
    {
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.ContentLength = 0;
        context.Response.Headers.Location = $"/v2/{name}/blobs/{digest}";
        context.Response.Headers[OciResponses.DockerContentDigest] = digest.Value;
    }

    private static bool HasBody(HttpRequest request) =>
        request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    /// <summary>
    /// Upload routes take bodies of any size (they are streamed); every other route keeps Kestrel's limit. The time
    /// spent streaming one is not counted in the request's budget (<see cref="RequestBudget.Pause"/>).
    /// </summary>
    private static void AllowLargeBody(HttpContext context)
    {
        RequestBodyLimit.Set(context, null);
    }

    [LoggerMessage(EventId = LogEvents.Uploads + 1, Level = LogLevel.Information,
        Message = "{Method} {Path}: the request body stalled ({Stall}) and was ended; bytes of the upload kept: {Kept}")]
    private static partial void LogStalled(ILogger logger, string method, PathString path, BodyStall stall, long? kept);
}
