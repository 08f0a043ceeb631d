namespace Registry.Tests.Admin;

/// <summary>
/// <c>registry-admin events</c> and <c>events replay</c> over the CLI's storage: the listing's shape, and replay refusing
/// a private target unless allowed (what they list and send is the outbox the event tests fill).
/// </summary>
[Collection(AdminTestGroup.Name)]
public sealed class EventCommandTests(AdminStorage storage)
{
    [Fact]
    public async Task Events_ListsWithAHeader_AndReplayChecksItsTarget()
    {
        var list = await storage.RunAsync("events", "--since", "2h");
        Assert.Equal(0, list.ExitCode);
        Assert.Equal("time\tstate\ttype\trepository\treference\tid\tattempts\tlast-error", list.Lines[0]);

        var refused = await storage.RunAsync("events", "replay", "--since", "1h", "--to", "https://169.254.169.254/hook");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("internal address", refused.Error, StringComparison.Ordinal);

        var empty = await storage.RunAsync("events", "replay", "--since", "1h", "--to", "http://127.0.0.1:9/hook", "--allow-private");
        Assert.Equal(0, empty.ExitCode);
        Assert.Equal("replayed 0 events", empty.Lines[0]);
        Assert.Equal(1, (await storage.RunAsync("events", "--since", "soon")).ExitCode);
    }
}
