using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Blobs;
using Registry.Storage.Uploads;

namespace Registry.Http;

/// <summary>
/// <c>/v2/&lt;name&gt;/blobs/uploads/</c>: start (with monolithic <c>?digest=</c> and cross-repository <c>?mount=</c>),
/// PATCH chunks, the completing PUT, status and cancel.
/// </summary>
public static class UploadHandlers
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
                await OciResponses.ErrorAsync(context, OciErrorCode.NameInvalid, $"from '{fromText}' is not a repository name");
                return;
            }
            if (fromText is not null && context.Features.Get<RegistryRequest>()!.MaySourceMount)
            {
                var mounted = await context.RequestServices.GetRequiredService<BlobLinks>().MountAsync(name, from, mountDigest, ct);
                if (mounted is not null)
                {
                    Created(context, name, mounted.Digest);
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
            Outcome<BlobInfo> whole;
            using (RequestBudget.Pause(context))
            {
                whole = await uploads.UploadWholeAsync(name, digest, context.Request.Body, context.Request.ContentLength, ct);
            }
            await CreatedOrErrorAsync(context, name, whole);
            return;
        }

        var session = await uploads.StartAsync(name, ct);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
        OciResponses.SetUploadHeaders(context.Response, name.Value, UploadId(session), session.Offset);
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
                await OciResponses.ErrorAsync(context, OciErrorCode.SizeInvalid, $"Content-Length {length} disagrees with Content-Range '{rangeHeader}'");
                return null;
            }
            declared = rangeLength;
        }
        AllowLargeBody(context);
        Outcome<UploadEntity> appended;
        using (RequestBudget.Pause(context))
        {
            appended = await context.RequestServices.GetRequiredService<BlobUploads>().AppendAsync(session, request.Body, declared, context.RequestAborted);
        }
        if (appended.Succeeded)
        {
            return appended.Value;
        }
        if (appended.Error.Status == StatusCodes.Status416RangeNotSatisfiable)
        {
            var current = await context.RequestServices.GetRequiredService<BlobUploads>().FindAsync(name, UploadId(session), context.RequestAborted);
            if (current is not null)
            {
                OciResponses.SetUploadHeaders(context.Response, name.Value, UploadId(session), current.Offset);
            }
        }
        await OciResponses.WriteErrorAsync(context, appended.Error);
        return null;
    }

    private static async Task RangeNotSatisfiableAsync(HttpContext context, RepositoryName name, UploadEntity session, string detail)
    {
        OciResponses.SetUploadHeaders(context.Response, name.Value, UploadId(session), session.Offset);
        await OciResponses.ErrorAsync(context, OciErrorCode.BlobUploadInvalid, detail, StatusCodes.Status416RangeNotSatisfiable);
    }

    private static async Task<UploadEntity?> FindAsync(HttpContext context, RepositoryName name, string uploadId)
    {
        var session = await context.RequestServices.GetRequiredService<BlobUploads>().FindAsync(name, uploadId, context.RequestAborted);
        if (session is null)
        {
            await OciResponses.ErrorAsync(context, OciErrorCode.BlobUploadUnknown, $"no upload {uploadId} in progress in repository {name}");
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

    private static string UploadId(UploadEntity session) => session.RowKey[TableKeys.UploadPrefix.Length..];

    private static bool HasBody(HttpRequest request) =>
        request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    /// <summary>
    /// Upload routes take bodies of any size (they are streamed); every other route keeps Kestrel's limit. The time
    /// spent streaming one is not counted in the request's budget (<see cref="RequestBudget.Pause"/>).
    /// </summary>
    private static void AllowLargeBody(HttpContext context)
    {
        var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
        {
            feature.MaxRequestBodySize = null;
        }
    }
}
