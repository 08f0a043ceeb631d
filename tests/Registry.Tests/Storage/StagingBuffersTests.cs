using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Registry.Storage.Uploads;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Storage;

/// <summary>
/// The staging budget: never more blocks out than it holds, a bounded wait for an upload's first block, freed blocks
/// handed to the uploads waiting for them, reused by the next burst, and no more than a few kept once the budget has
/// been unused for a while.
/// </summary>
public sealed class StagingBuffersTests
{
    private const int Block = BlockStager.BlockSize;

    private static readonly TimeSpan TrimAfter = new UploadOptions().StagingTrimAfter;

    private static StagingBuffers Budget(long bytes, TimeSpan wait, TimeProvider time) =>
        new(Options.Create(new UploadOptions { StagingMemoryBytes = bytes, StagingWait = wait }), time, NullLogger<StagingBuffers>.Instance);

    [Fact]
    public async Task TheBudget_CountsWholeBlocks_AndTryRentNeverGoesPastIt()
    {
        using var budget = Budget(3L * Block - 1, TimeSpan.Zero, new ManualTimers());

        var first = await budget.RentAsync(CancellationToken.None);
        var second = budget.TryRent();

        Assert.Equal(2, budget.Capacity);
        Assert.Equal(Block, first!.Length);
        Assert.NotNull(second);
        Assert.Null(budget.TryRent());
        Assert.Null(await budget.RentAsync(CancellationToken.None));
        Assert.Equal(2L * Block, budget.BytesInUse);
        budget.Return(first);
        budget.Return(second);
        Assert.Equal(0, budget.BytesInUse);
    }

    [Fact]
    public async Task AFullBudget_MakesTheNextUploadWait_AndGivesItTheNextBlockReturned()
    {
        using var budget = Budget(Block, TimeSpan.FromSeconds(30), new ManualTimers());
        var held = await budget.RentAsync(CancellationToken.None);

        var waiting = budget.RentAsync(CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        budget.Return(held!);

        Assert.Same(held, await waiting);
        Assert.Null(budget.TryRent());
        Assert.Equal(Block, budget.BytesInUse);
    }

    [Fact]
    public async Task AWaitLongerThanStagingWait_GivesNull_AndTakesNothing()
    {
        var clock = new ManualTimers();
        using var budget = Budget(Block, TimeSpan.FromSeconds(2), clock);
        var held = await budget.RentAsync(CancellationToken.None);

        var waiting = budget.RentAsync(CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Null(await waiting);
        budget.Return(held!);
        Assert.Equal(0, budget.BytesInUse);
        Assert.NotNull(budget.TryRent());
    }

    [Fact]
    public async Task AnAbortedRequest_StopsWaiting_WithCancellation()
    {
        using var budget = Budget(Block, TimeSpan.FromMinutes(1), new ManualTimers());
        var held = await budget.RentAsync(CancellationToken.None);
        using var aborted = new CancellationTokenSource();

        var waiting = budget.RentAsync(aborted.Token).AsTask();
        await aborted.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        budget.Return(held!);
        Assert.Equal(0, budget.BytesInUse);
    }

    [Fact]
    public void ReturnedBlocksAreReused_AndOnceTheBudgetIsUnusedForTrimAfter_AllButMaxIdleBlocksAreCollected()
    {
        var clock = new ManualTimers();
        using var budget = Budget(32L * Block, TimeSpan.Zero, clock);

        var burst = RentAndReturn(budget, 32);
        Assert.Equal(32L * Block, budget.BytesIdle);
        Assert.All(RentAndReturn(budget, 32), block => Assert.Contains(burst, kept => ReferenceEquals(kept.Target, block.Target)));
        clock.Advance(TrimAfter - TimeSpan.FromSeconds(1));
        Assert.Equal(32L * Block, budget.BytesIdle);
        clock.Advance(TimeSpan.FromSeconds(1));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.Equal(0, budget.BytesInUse);
        Assert.Equal((long)StagingBuffers.MaxIdleBlocks * Block, budget.BytesIdle);
        Assert.Equal(StagingBuffers.MaxIdleBlocks, burst.Count(block => block.IsAlive));
    }

    [Fact]
    public void ABudgetInUse_IsNotTrimmed_AndItsIdleTimeStartsWhenTheLastBlockComesBack()
    {
        var clock = new ManualTimers();
        using var budget = Budget(32L * Block, TimeSpan.Zero, clock);
        RentAndReturn(budget, 32);
        var held = budget.TryRent()!;

        clock.Advance(TrimAfter * 2);
        Assert.Equal(31L * Block, budget.BytesIdle);
        budget.Return(held);
        clock.Advance(TrimAfter - TimeSpan.FromSeconds(1));
        Assert.Equal(32L * Block, budget.BytesIdle);
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal((long)StagingBuffers.MaxIdleBlocks * Block, budget.BytesIdle);
    }

    [Fact]
    public void SettingsOutOfRange_AreAllReported_EachNamingItsSetting()
    {
        var validator = new UploadOptionsValidator();

        var result = validator.Validate(null, new UploadOptions
        {
            BodyIdleTimeout = TimeSpan.Zero,
            StagingMemoryBytes = Block - 1,
            StagingWait = TimeSpan.FromSeconds(-1),
            StagingTrimAfter = TimeSpan.Zero,
        });

        Assert.True(validator.Validate(null, new UploadOptions()).Succeeded);
        Assert.True(result.Failed);
        Assert.Collection(result.Failures!,
            f => Assert.StartsWith("Uploads:BodyIdleTimeout is 00:00:00; set", f, StringComparison.Ordinal),
            f => Assert.StartsWith("Uploads:StagingMemoryBytes is 4194303; set", f, StringComparison.Ordinal),
            f => Assert.StartsWith("Uploads:StagingWait is -00:00:01; set", f, StringComparison.Ordinal),
            f => Assert.StartsWith("Uploads:StagingTrimAfter is 00:00:00; set", f, StringComparison.Ordinal));
    }

    /// <summary>Rents <paramref name="count"/> blocks and returns them all; only weak references leave this frame.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<WeakReference> RentAndReturn(StagingBuffers budget, int count)
    {
        var blocks = Enumerable.Range(0, count).Select(_ => budget.TryRent()!).ToList();
        var references = blocks.Select(block => new WeakReference(block)).ToList();
        blocks.ForEach(budget.Return);
        return references;
    }
}
