using Azure;
using Azure.Storage.Blobs.Models;

namespace Registry.Storage.Blobs;

/// <summary>Reads a slice of a committed blob, for the ranges the registry serves itself (Blob storage cannot serve them).</summary>
public sealed class BlobRanges(StorageClients clients)
{
    /// <summary>Copies bytes <paramref name="start"/> to <paramref name="end"/> (inclusive) of <paramref name="blobName"/> to <paramref name="destination"/>.</summary>
    public async Task CopyAsync(string blobName, long start, long end, Stream destination, CancellationToken cancellationToken)
    {
        var download = await clients.Container.GetBlobClient(blobName).DownloadStreamingAsync(new BlobDownloadOptions
        {
            Range = new HttpRange(start, end - start + 1),
        }, cancellationToken);
        await using var source = download.Value.Content;
        await source.CopyToAsync(destination, cancellationToken);
    }
}
