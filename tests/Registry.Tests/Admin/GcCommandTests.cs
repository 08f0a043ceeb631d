namespace Registry.Tests.Admin;

/// <summary>
/// <c>registry-admin gc</c> runs the registry's own collector over the configured storage (what it collects is shown by
/// the collection tests): a dry run says what it would delete, and a run what it deleted.
/// </summary>
[Collection(AdminTestGroup.Name)]
public sealed class GcCommandTests(AdminStorage storage)
{
    [Fact]
    public async Task Gc_DryRunAndRun_PrintTheTableHeaderAndASummary()
    {
        var dry = await storage.RunAsync("gc", "--dry-run");
        Assert.Equal(0, dry.ExitCode);
        Assert.Equal("kind\trepository\tdigest\tbytes\treason", dry.Lines[0]);
        Assert.StartsWith("would delete ", dry.Error, StringComparison.Ordinal);

        var run = await storage.RunAsync("gc");
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("deleted ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_PrintsAHeaderAndTheTotals_AndRepoDeleteOfAnEmptyRepositoryDeletesNothing()
    {
        var usage = await storage.RunAsync("usage");
        Assert.Equal(0, usage.ExitCode);
        Assert.Equal("repository\ttags\tmanifests\tblobs\tlogical-bytes", usage.Lines[0]);
        Assert.StartsWith("(stored, whole registry)", usage.Lines[^1], StringComparison.Ordinal);

        var delete = await storage.RunAsync("repo", "delete", "nobody/here");
        Assert.Equal(0, delete.ExitCode);
        Assert.Equal("deleted 0 manifests, 0 blob links, 0 uploads of nobody/here", delete.Lines[0]);
        Assert.Equal(1, (await storage.RunAsync("repo", "delete", "Not/A/Name")).ExitCode);
        Assert.Equal(1, (await storage.RunAsync("usage", "--repo", "bad pattern")).ExitCode);
    }
}
