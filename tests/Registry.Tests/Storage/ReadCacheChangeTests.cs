using Microsoft.Extensions.Options;
using Registry.Storage;

namespace Registry.Tests.Storage;

/// <summary>
/// Changes through one instance and its read cache: a lone change is cached as written; of two changes of one
/// repository that overlap, neither is (the order they finish in is not the order storage committed them); a read
/// begun before a change never puts its older answer back.
/// </summary>
public sealed class ReadCacheChangeTests : IDisposable
{
    private readonly ReadCache _cache = new(Options.Create(new ReadCacheOptions()), TimeProvider.System);

    public void Dispose() => _cache.Dispose();

    private string? Cached(string row) => _cache.TryGet<string>(CachedKind.Tag, "repo", row, out var value) ? value : null;

    [Fact]
    public void LoneChange_IsCachedAsWritten()
    {
        var stamp = _cache.BeginChange(CachedKind.Tag, "repo", "tag:a");
        _cache.PutAfter(stamp, CachedKind.Tag, "repo", "tag:a", "new");
        Assert.Equal("new", Cached("tag:a"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OverlappingChanges_OfOneRepository_LeaveNothingCached_WhicheverFinishesFirst(bool firstFinishesFirst)
    {
        _cache.Put(CachedKind.Tag, "repo", "tag:a", "old");
        var first = _cache.BeginChange(CachedKind.Tag, "repo", "tag:a");
        var second = _cache.BeginChange(CachedKind.Tag, "repo", "tag:a");
        Assert.Null(Cached("tag:a"));
        if (firstFinishesFirst)
        {
            _cache.PutAfter(first, CachedKind.Tag, "repo", "tag:a", "first");
            _cache.PutAfter(second, CachedKind.Tag, "repo", "tag:a", "second");
        }
        else
        {
            _cache.PutAfter(second, CachedKind.Tag, "repo", "tag:a", "second");
            _cache.PutAfter(first, CachedKind.Tag, "repo", "tag:a", "first");
        }
        Assert.Null(Cached("tag:a"));
    }

    [Fact]
    public void ReadBegunBeforeAChange_CannotPutItsOlderAnswerBack()
    {
        var read = _cache.Begin("repo");
        var change = _cache.BeginChange(CachedKind.Tag, "repo", "tag:a");
        _cache.PutAfter(change, CachedKind.Tag, "repo", "tag:a", "new");
        _cache.Set(read, CachedKind.Tag, "repo", "tag:a", "old");
        Assert.Equal("new", Cached("tag:a"));

        // A read begun after the change started but answered before it finished does not stop the change's entry.
        var other = _cache.BeginChange(CachedKind.Tag, "repo", "tag:b");
        var during = _cache.Begin("repo");
        _cache.Set(during, CachedKind.Tag, "repo", "tag:b", "old");
        _cache.PutAfter(other, CachedKind.Tag, "repo", "tag:b", "new");
        Assert.Equal("new", Cached("tag:b"));
    }
}
