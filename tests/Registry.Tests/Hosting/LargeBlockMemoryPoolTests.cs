using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Registry.Host.Transport;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Hosting;

/// <summary>
/// Kestrel's receive buffers come from <see cref="LargeBlockMemoryPool"/>: whole 64 KiB blocks, reused after they are
/// returned, each returned once however often it is disposed, and never more than a bounded number kept idle.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class LargeBlockMemoryPoolTests(RegistryFixture registry)
{
    [Fact]
    public void TheRegistryHandsKestrelThisPool()
    {
        var factory = registry.Services.GetRequiredService<IMemoryPoolFactory<byte>>();

        Assert.IsType<LargeBlockMemoryPool.Factory>(factory);
        using var pool = factory.Create();
        Assert.Equal(LargeBlockMemoryPool.BlockSize, pool.MaxBufferSize);
    }

    [Fact]
    public void EveryRent_IsAWholeBlock_AndALargerRequestIsRefused()
    {
        using var pool = new LargeBlockMemoryPool();

        using var small = pool.Rent(1);
        using var any = pool.Rent();

        Assert.Equal(LargeBlockMemoryPool.BlockSize, small.Memory.Length);
        Assert.Equal(LargeBlockMemoryPool.BlockSize, any.Memory.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(LargeBlockMemoryPool.BlockSize + 1));
    }

    [Fact]
    public void AReturnedBlock_IsReused_AndADisposedOwnerNoLongerGivesItOut()
    {
        using var pool = new LargeBlockMemoryPool();
        var first = pool.Rent();
        var array = ArrayOf(first);

        first.Dispose();
        first.Dispose();
        using var second = pool.Rent();
        using var third = pool.Rent();

        Assert.Same(array, ArrayOf(second));
        Assert.NotSame(array, ArrayOf(third));
        Assert.Throws<ObjectDisposedException>(() => first.Memory);
    }

    [Fact]
    public void AfterABurst_AtMostTheIdleLimitIsKept()
    {
        using var pool = new LargeBlockMemoryPool();
        var burst = Enumerable.Range(0, LargeBlockMemoryPool.MaxIdleBlocks + 10).Select(_ => pool.Rent()).ToList();
        var arrays = burst.Select(ArrayOf).ToHashSet(ReferenceEqualityComparer.Instance);
        burst.ForEach(owner => owner.Dispose());

        var again = Enumerable.Range(0, LargeBlockMemoryPool.MaxIdleBlocks + 10).Select(_ => pool.Rent()).ToList();
        var reused = again.Count(owner => arrays.Contains(ArrayOf(owner)));
        again.ForEach(owner => owner.Dispose());

        Assert.Equal(LargeBlockMemoryPool.MaxIdleBlocks, reused);
    }

    private static byte[] ArrayOf(System.Buffers.IMemoryOwner<byte> owner) =>
        MemoryMarshal.TryGetArray<byte>(owner.Memory, out var segment) ? segment.Array! : throw new InvalidOperationException("not array-backed");
}
