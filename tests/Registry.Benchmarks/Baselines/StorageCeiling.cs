using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Registry.Benchmarks.Load;

namespace Registry.Benchmarks.Baselines;

/// <summary>
/// The push ceiling: the same bytes written straight into the same Azurite with the Azure SDK, the way our registry
/// writes them (StageBlock of 4 MiB blocks, 3 in flight, then CommitBlockList), from this process. No HTTP hop
/// through a registry and no hashing: what the storage allows.
/// </summary>
internal sealed class StorageCeiling(string connectionString)
{
    public const int BlockSize = 4 * 1024 * 1024;
    public const int InFlight = 3;

    private readonly BlobContainerClient _container = new BlobServiceClient(connectionString).GetBlobContainerClient("bench-ceiling");

    public async Task PrepareAsync(CancellationToken cancellationToken) =>
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

    /// <summary>Uploads <paramref name="layer"/> as one block blob and deletes it again afterwards (untimed by the caller's choice).</summary>
    public async Task UploadAsync(GeneratedLayer layer, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlockBlobClient($"ceiling/{Guid.NewGuid():N}");
        var generator = new ByteGenerator(layer.Seed);
        var buffers = Enumerable.Range(0, InFlight).Select(_ => new byte[BlockSize]).ToArray();
        var inFlight = new Queue<Task>();
        var ids = new List<string>();
        for (long offset = 0; offset < layer.Length; offset += BlockSize)
        {
            if (inFlight.Count == InFlight)
            {
                await inFlight.Dequeue();
            }
            var buffer = buffers[ids.Count % InFlight];
            var length = (int)Math.Min(BlockSize, layer.Length - offset);
            generator.Fill(buffer.AsSpan(0, length));
            var id = Convert.ToBase64String(BitConverter.GetBytes((long)ids.Count));
            ids.Add(id);
            inFlight.Enqueue(StageAsync(blob, id, buffer, length, cancellationToken));
        }
        await Task.WhenAll(inFlight);
        await blob.CommitBlockListAsync(ids, cancellationToken: cancellationToken);
    }

    /// <summary>Deletes every blob the ceiling wrote, to spare the disk between rounds.</summary>
    public async Task DeleteAllAsync(CancellationToken cancellationToken)
    {
        await foreach (var item in _container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "ceiling/", cancellationToken: cancellationToken))
        {
            await _container.DeleteBlobIfExistsAsync(item.Name, cancellationToken: cancellationToken);
        }
    }

    private static async Task StageAsync(BlockBlobClient blob, string id, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(buffer, 0, length, writable: false);
        await blob.StageBlockAsync(id, content, cancellationToken: cancellationToken);
    }
}
