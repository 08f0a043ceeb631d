using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Replication;
using Registry.Storage.Blobs;

namespace Registry.Http;

/// <summary><c>/v2/&lt;name&gt;/blobs/&lt;digest&gt;</c>: HEAD from Table alone, GET as a redirect to a read-only SAS URL, DELETE of the link.</summary>
public static class BlobHandlers
{
    public static async Task GetAsync(HttpContext context, RepositoryName name, string reference)
    {
        if (!TryDigest(reference, out var digest, out var error))
        {
            await OciResponses.WriteErrorAsync(context, error);
            return;
        }
        var blob = await context.RequestServices.GetRequiredService<BlobLinks>().FindAsync(name, digest, context.RequestAborted);
        var response = context.Response;
        if (blob is null)
        {
            if (await context.RequestServices.GetRequiredService<ReplicaFallback>().FindBlobAsync(name, digest, context.RequestAborted) is { } atPrimary)
            {
                // Not replicated yet: the primary's bytes (its SAS serves ranges itself).
                response.Headers[OciResponses.DockerContentDigest] = digest.Value;
                if (HttpMethods.IsHead(context.Request.Method))
                {
                    response.ContentType = "application/octet-stream";
                    response.ContentLength = atPrimary.Blob.Size;
                    return;
                }
                response.StatusCode = StatusCodes.Status307TemporaryRedirect;
                response.Headers.Location = atPrimary.Url.AbsoluteUri;
                return;
            }
            await OciResponses.ErrorAsync(context, Failure.BlobUnknown, $"{digest} is not in repository {name}");
            return;
        }
        response.Headers[OciResponses.DockerContentDigest] = digest.Value;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            response.ContentType = "application/octet-stream";
            response.ContentLength = blob.Size;
            response.Headers.AcceptRanges = "bytes";
            return;
        }
        var range = ByteRanges.Resolve(context.Request.Headers.Range, blob.Size);
        if (range.Answer == RangeAnswer.Unsatisfiable)
        {
            response.Headers.ContentRange = $"bytes */{blob.Size}";
            await OciResponses.ErrorAsync(context, Failure.RangeUnsatisfiable,
                $"the requested range is not within the blob's {blob.Size} bytes, or asks for more than {ByteRanges.MaxRanges} ranges");
            return;
        }
        if (range.Answer == RangeAnswer.ServedHere)
        {
            // Streaming a large range to a slow client is not storage being slow: the budget waits.
            using (RequestBudget.Pause(context))
            {
                await RangeResponses.WriteAsync(context, context.RequestServices.GetRequiredService<BlobRanges>(), blob.BlobName, blob.Size, range.Ranges);
            }
            return;
        }
        var url = await context.RequestServices.GetRequiredService<SasUrlIssuer>().ReadUrlAsync(blob.BlobName, context.RequestAborted);
        response.StatusCode = StatusCodes.Status307TemporaryRedirect;
        response.Headers.Location = url.AbsoluteUri;
    }

    public static async Task DeleteAsync(HttpContext context, RepositoryName name, string reference)
    {
        if (!TryDigest(reference, out var digest, out var error))
        {
            await OciResponses.WriteErrorAsync(context, error);
            return;
        }
        if ((await context.RequestServices.GetRequiredService<BlobLinks>().UnlinkAsync(name, digest, context.RequestAborted)).Error is { } refused)
        {
            await OciResponses.WriteErrorAsync(context, refused);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }

    /// <summary>Parses a digest from the request; the error says DIGEST_INVALID or UNSUPPORTED.</summary>
    public static bool TryDigest(string? text, out Digest digest, out OciError error)
    {
        var parsed = Digest.TryParse(text, out digest);
        error = parsed == DigestParse.Valid ? null! : new ManifestReference(null, null, parsed).Problem;
        return parsed == DigestParse.Valid;
    }
}
