using Azure.Storage.Blobs.Specialized;
using Registry.Hashing;

namespace Registry.Storage.Uploads;

/// <summary>What one request staged.</summary>
public sealed record StagedChunk(byte[] Nonce, int BlockCount, long Length);

/// <summary>The request needs more blocks than the upload has left.</summary>
internal sealed class BlockLimitExceededException(string message) : Exception(message);

/// <summary>No staging block came free within <see cref="UploadOptions.StagingWait"/>: nothing was read or staged.</summary>
internal sealed class StagingMemoryFullException(string message) : Exception(message);

/// <summary>
/// Streams a request body into a block blob: reads it in bounded blocks, hashes each block as it is read, and
/// stages up to <see cref="MaxInFlight"/> blocks at once. The blocks come from <see cref="StagingBuffers"/>: the first
/// one is waited for, the others are taken only when free, so memory per upload is one to <see cref="MaxInFlight"/>
/// blocks whatever the body's size, and memory across uploads stays within the budget.
/// </summary>
public static class BlockStager
{
    public const int BlockSize = 4 * 1024 * 1024;
    private const int MaxInFlight = 3;

    /// <summary>
    /// Stages <paramref name="body"/> to the end. Throws <see cref="StagingMemoryFullException"/> before reading
    /// anything when no block comes free in time, and <see cref="BlockLimitExceededException"/> when it would need
    /// more than <paramref name="blocksAvailable"/> blocks; any exception means nothing was recorded, and the blocks
    /// staged so far are orphans that expire.
    /// </summary>
    public static async Task<StagedChunk> StageAsync(
        StagingBuffers buffers, BlockBlobClient blob, Stream body, IContentHash hash, int blocksAvailable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        byte[]? buffer = await buffers.RentAsync(cancellationToken)
            ?? throw new StagingMemoryFullException("this registry instance is receiving as many uploads as its memory for them allows");
        var nonce = BlockList.NewNonce();
        var inFlight = new Queue<(Task Task, byte[] Buffer)>();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long length = 0;
        var blocks = 0;
        try
        {
            while (true)
            {
                var filled = await FillAsync(body, buffer, cancellationToken);
                if (filled == 0)
                {
                    break;
                }
                if (blocks >= blocksAvailable)
                {
                    throw new BlockLimitExceededException(
                        $"the upload would exceed {BlockList.MaxBlocks} blocks of {BlockSize / (1024 * 1024)} MiB or {BlockList.MaxChunks} chunks; send larger chunks");
                }
                hash.Append(buffer.AsSpan(0, filled));
                var id = BlockList.BlockId(nonce, blocks);
                inFlight.Enqueue((StageOneAsync(blob, id, buffer, filled, failed.Token), buffer));
                buffer = null;
                blocks++;
                length += filled;
                if (filled < BlockSize)
                {
                    break;
                }
                // The next block: another one while the budget has one free, else the oldest staged one's, once staged.
                buffer = (inFlight.Count < MaxInFlight ? buffers.TryRent() : null) ?? await CompleteOldestAsync(inFlight);
            }
            while (inFlight.Count > 0)
            {
                buffers.Return(await CompleteOldestAsync(inFlight));
            }
            return new StagedChunk(nonce, blocks, length);
        }
        catch
        {
            await failed.CancelAsync();
            while (inFlight.Count > 0)
            {
                var (task, staging) = inFlight.Dequeue();
                try
                {
                    await task;
                }
                catch (Exception)
                {
                    // The first failure is the one rethrown below; the others are its consequences.
                }
                buffers.Return(staging);
            }
            throw;
        }
        finally
        {
            if (buffer is not null)
            {
                buffers.Return(buffer);
            }
        }
    }

    /// <summary>Waits for the oldest block to be staged and hands back its buffer, which nothing reads any more.</summary>
    private static async Task<byte[]> CompleteOldestAsync(Queue<(Task Task, byte[] Buffer)> inFlight)
    {
        var (task, buffer) = inFlight.Peek();
        await task;
        inFlight.Dequeue();
        return buffer;
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
