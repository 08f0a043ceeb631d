using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Registry.Host.Transport;

/// <summary>
/// Kestrel's buffer pool with 64 KiB blocks instead of its own 4 KiB ones. The socket transport receives into one
/// block per read, so a layer push arrives in reads of up to 64 KiB instead of 4 KiB: a fraction of the receive
/// calls, thread hand-offs and window updates (measured in README, "Performance"). Idle connections hold no block
/// (Kestrel waits for data before it rents one); at most <see cref="MaxIdleBlocks"/> returned blocks are kept for
/// reuse and the rest are left to the GC, so the pool shrinks after a burst.
///
/// <para>The blocks are ordinary arrays, not pinned ones (Kestrel's own pool pins): pinned arrays live on the Pinned
/// Object Heap, which is never compacted, so the few blocks kept or in use after a burst held every region they sat in.
/// Measured after 150 uploads stalled with 1 MiB each (README, "Stalled and slow uploads"): 141 MB of pinned heap
/// stayed committed with 8 MB of it live, and the process at 2.3× its resident size before the burst; ordinary
/// arrays are compacted by the staging trim's collection and it came back to 1.2–1.3×. Nothing needs them pinned:
/// on Linux the socket transport receives into a block only once data is there, inside a <c>fixed</c> for the one
/// call; on Windows a receive that has to wait pins its block for that operation (<c>MemoryHandle</c>).</para>
/// </summary>
public sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;
    public const int MaxIdleBlocks = 64;

    private readonly ConcurrentQueue<byte[]> _idle = new();

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        return new Block(this, _idle.TryDequeue(out var array) ? array : GC.AllocateUninitializedArray<byte>(BlockSize));
    }

    protected override void Dispose(bool disposing)
    {
        _idle.Clear();
    }

    private void Return(byte[] array)
    {
        if (_idle.Count < MaxIdleBlocks)
        {
            _idle.Enqueue(array);
        }
    }

    private sealed class Block(LargeBlockMemoryPool pool, byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Block));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } returned)
            {
                pool.Return(returned);
            }
        }
    }

    /// <summary>Hands Kestrel (its transport and its HTTP layer) a pool of this kind wherever it asks for one.</summary>
    public sealed class Factory : IMemoryPoolFactory<byte>
    {
        public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool();
    }
}
