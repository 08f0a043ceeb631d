using Registry.Storage.Uploads;

namespace Registry.Tests.Storage;

public sealed class BlockListTests
{
    [Fact]
    public void BlockIds_FollowSegmentsInOrder_AllOfOneLength()
    {
        var n1 = BlockList.NewNonce();
        var n2 = BlockList.NewNonce();
        var segments = BlockList.Append(BlockList.Append([], n1, 3), n2, 2);
        var ids = BlockList.BlockIds(segments);
        Assert.Equal(5, BlockList.BlockCount(segments));
        Assert.Equal(2, BlockList.ChunkCount(segments));
        Assert.Equal(
            [BlockList.BlockId(n1, 0), BlockList.BlockId(n1, 1), BlockList.BlockId(n1, 2), BlockList.BlockId(n2, 0), BlockList.BlockId(n2, 1)],
            ids);
        Assert.Single(ids.Select(i => i.Length).Distinct());
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void MaxChunks_FitInOneTableBinaryProperty()
    {
        var segments = Array.Empty<byte>();
        for (var i = 0; i < BlockList.MaxChunks; i++)
        {
            segments = BlockList.Append(segments, BlockList.NewNonce(), 1);
        }
        Assert.True(segments.Length <= 64 * 1024);
    }
}
