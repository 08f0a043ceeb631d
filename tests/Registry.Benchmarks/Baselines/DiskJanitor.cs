using Azure.Storage.Blobs;
using Registry.Benchmarks.Load;

namespace Registry.Benchmarks.Baselines;

/// <summary>
/// Deletes the GiB-sized layers a workload pushed once it has measured them, so a full run does not fill the disk
/// (a dozen GiB per workload otherwise). Only layers the harness made and never reads again are deleted; the
/// registries' own records of them are left dangling, which no later workload touches.
/// </summary>
internal static class DiskJanitor
{
    /// <summary>Our registry's committed data blobs of at least <paramref name="minimumSize"/> bytes (the container is <c>registry</c>).</summary>
    public static async Task DeleteOurLargeBlobsAsync(string connectionString, long minimumSize, CancellationToken cancellationToken)
    {
        var container = new BlobServiceClient(connectionString).GetBlobContainerClient("registry");
        await foreach (var item in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "data/", cancellationToken: cancellationToken))
        {
            if (item.Properties.ContentLength >= minimumSize)
            {
                await container.DeleteBlobIfExistsAsync(item.Name, cancellationToken: cancellationToken);
            }
        }
    }

    /// <summary>Distribution's copy of a layer: <c>blobs/sha256/&lt;2 hex&gt;/&lt;hex&gt;/data</c>.</summary>
    public static void DeleteDistributionBlob(DistributionProcess distribution, GeneratedLayer layer)
    {
        var hex = layer.Digest["sha256:".Length..];
        var directory = Path.Combine(distribution.BlobDirectory, "sha256", hex[..2], hex);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
