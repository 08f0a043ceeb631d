using System.Text;
using Microsoft.AspNetCore.Http;
using Registry.Storage.Blobs;

namespace Registry.Http;

/// <summary>
/// Serves the byte ranges Blob storage cannot (suffix ranges and several ranges at once) by streaming exactly the
/// requested bytes from storage: one range as a 206, several as <c>multipart/byteranges</c>.
/// </summary>
public static class RangeResponses
{
    public static async Task WriteAsync(HttpContext context, BlobRanges blobs, string blobName, long size, IReadOnlyList<(long Start, long End)> ranges)
    {
        var response = context.Response;
        var ct = context.RequestAborted;
        response.StatusCode = StatusCodes.Status206PartialContent;
        if (ranges.Count == 1)
        {
            var (start, end) = ranges[0];
            response.ContentType = "application/octet-stream";
            response.Headers.ContentRange = $"bytes {start}-{end}/{size}";
            response.ContentLength = end - start + 1;
            await blobs.CopyAsync(blobName, start, end, response.Body, ct);
            return;
        }
        var boundary = Guid.NewGuid().ToString("N");
        response.ContentType = $"multipart/byteranges; boundary={boundary}";
        foreach (var (start, end) in ranges)
        {
            var head = $"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes {start}-{end}/{size}\r\n\r\n";
            await response.Body.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
            await blobs.CopyAsync(blobName, start, end, response.Body, ct);
        }
        await response.Body.WriteAsync(Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n"), ct);
    }
}
