using System.Buffers;
using Azure.Storage.Blobs.Specialized;
using Registry.Hashing;

namespace Registry.Storage.Uploads;

/// <summary>What one request staged.</summary>
public sealed record StagedChunk(byte[] Nonce, int BlockCount, long Length);

/// <summary>The request needs more blocks than the upload has left.</summary>
public sealed class BlockLimitExceededException(string message) : Exception(message);

/// <summary>
/// Streams a request body into a block blob: reads it in bounded blocks, hashes each block as it is read, and
/// stages up to <see cref="MaxInFlight"/> blocks at once. Memory per upload is at most
/// <see cref="MaxInFlight"/> + 1 blocks, whatever the body's size.
/// </summary>
public static class BlockStager
{
    public const int BlockSize = 4 * 1024 * 1024;
    private const int MaxInFlight = 3;

    private static readonly ArrayPool<byte> Buffers = ArrayPool<byte>.Create(BlockSize, 64);

    /// <summary>
    /// Stages <paramref name="body"/> to the end. Throws <see cref="BlockLimitExceededException"/> when it would need
    /// more than <paramref name="blocksAvailable"/> blocks; any exception means nothing was recorded, and the blocks
    /// staged so far are orphans that expire.
    /// </summary>
    public static async Task<StagedChunk> StageAsync(
        BlockBlobClient blob, Stream body, IContentHash hash, int blocksAvailable, CancellationToken cancellationToken)
    {
        var nonce = BlockList.NewNonce();
        var inFlight = new Queue<(Task Task, byte[] Buffer)>();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long length = 0;
        var blocks = 0;
        try
        {
            while (true)
            {
                var buffer = Buffers.Rent(BlockSize);
                int filled;
                try
                {
                    filled = await FillAsync(body, buffer, cancellationToken);
                }
                catch
                {
                    Buffers.Return(buffer);
                    throw;
                }
                if (filled == 0)
                {
                    Buffers.Return(buffer);
                    break;
                }
                if (blocks >= blocksAvailable)
                {
                    Buffers.Return(buffer);
                    throw new BlockLimitExceededException(
                        $"the upload would exceed {BlockList.MaxBlocks} blocks of {BlockSize / (1024 * 1024)} MiB or {BlockList.MaxChunks} chunks; send larger chunks");
                }
                hash.Append(buffer.AsSpan(0, filled));
                var id = BlockList.BlockId(nonce, blocks);
                inFlight.Enqueue((StageOneAsync(blob, id, buffer, filled, failed.Token), buffer));
                blocks++;
                length += filled;
                while (inFlight.Count >= MaxInFlight)
                {
                    await CompleteOldestAsync(inFlight);
                }
                if (filled < BlockSize)
                {
                    break;
                }
            }
            while (inFlight.Count > 0)
            {
                await CompleteOldestAsync(inFlight);
            }
            return new StagedChunk(nonce, blocks, length);
        }
        catch
        {
            await failed.CancelAsync();
            while (inFlight.Count > 0)
            {
                var (task, buffer) = inFlight.Dequeue();
                try
                {
                    await task;
                }
                catch (Exception)
                {
                    // The first failure is the one rethrown below; the others are its consequences.
                }
                Buffers.Return(buffer);
            }
            throw;
        }
    }

    private static async Task CompleteOldestAsync(Queue<(Task Task, byte[] Buffer)> inFlight)
    {
        var (task, buffer) = inFlight.Peek();
        await task;
        inFlight.Dequeue();
        Buffers.Return(buffer);
    }

    private static async Task StageOneAsync(BlockBlobClient blob, string id, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(buffer, 0, length, writable: false);
        await blob.StageBlockAsync(id, content, cancellationToken: cancellationToken);
    }

    /// <summary>Reads until the buffer is full or the body ends; returns the bytes read.</summary>
    private static async Task<int> FillAsync(Stream body, byte[] buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < BlockSize)
        {
            var read = await body.ReadAsync(buffer.AsMemory(filled, BlockSize - filled), cancellationToken);
            if (read == 0)
            {
                break;
            }
            filled += read;
        }
        return filled;
    }
}
