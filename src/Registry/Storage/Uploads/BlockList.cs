using System.Buffers.Binary;

namespace Registry.Storage.Uploads;

/// <summary>
/// The block list of an upload, kept compactly in its session entity. Every request that carries bytes
/// stages its blocks under a fresh random 8-byte nonce: block id = base64(nonce ‖ index as 4 bytes), 16
/// characters, the same length for every block as Blob storage requires. The session records one 12-byte
/// segment (nonce, block count) per request, so a request that lost a race or died half way leaves blocks
/// that no session names; they expire uncommitted after 7 days.
/// </summary>
public static class BlockList
{
    private const int NonceSize = 8;
    private const int SegmentSize = NonceSize + sizeof(int);

    /// <summary>Most requests that may carry bytes into one upload: what a 64 KiB Table property holds.</summary>
    public const int MaxChunks = 5000;

    /// <summary>Most blocks a block blob can commit.</summary>
    public const int MaxBlocks = 50_000;

    public static byte[] NewNonce() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(NonceSize);

    public static int ChunkCount(byte[] segments) => segments.Length / SegmentSize;

    public static int BlockCount(byte[] segments)
    {
        var total = 0;
        for (var offset = 0; offset + SegmentSize <= segments.Length; offset += SegmentSize)
        {
            total += BinaryPrimitives.ReadInt32BigEndian(segments.AsSpan(offset + NonceSize));
        }
        return total;
    }

    public static byte[] Append(byte[] segments, byte[] nonce, int blockCount)
    {
        if (nonce.Length != NonceSize)
        {
            throw new ArgumentException("A nonce is 8 bytes.", nameof(nonce));
        }
        var result = new byte[segments.Length + SegmentSize];
        segments.CopyTo(result, 0);
        nonce.CopyTo(result, segments.Length);
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(segments.Length + NonceSize), blockCount);
        return result;
    }

    public static string BlockId(ReadOnlySpan<byte> nonce, int index)
    {
        Span<byte> raw = stackalloc byte[SegmentSize];
        nonce.CopyTo(raw);
        BinaryPrimitives.WriteInt32BigEndian(raw[NonceSize..], index);
        return Convert.ToBase64String(raw);
    }

    /// <summary>Every block id, in upload order.</summary>
    public static List<string> BlockIds(byte[] segments)
    {
        var ids = new List<string>(BlockCount(segments));
        for (var offset = 0; offset + SegmentSize <= segments.Length; offset += SegmentSize)
        {
            var nonce = segments.AsSpan(offset, NonceSize);
            var count = BinaryPrimitives.ReadInt32BigEndian(segments.AsSpan(offset + NonceSize));
            for (var i = 0; i < count; i++)
            {
                ids.Add(BlockId(nonce, i));
            }
        }
        return ids;
    }
}
