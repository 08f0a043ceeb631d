namespace Registry.Tests.Admin;

/// <summary><c>registry-admin audit</c>, and the audit records the CLI's own changes leave.</summary>
[Collection(AdminTestGroup.Name)]
public sealed class AuditCommandTests(AdminStorage storage)
{
    [Fact]
    public async Task AdminChanges_AreAudited_AndReadableByActorAndSince()
    {
        var name = AdminStorage.NewTokenName("aud");
        Assert.Equal(0, (await storage.RunAsync("token", "create", name, "--scope", "app/*=pull")).ExitCode);
        Assert.Equal(0, (await storage.RunAsync("token", "disable", name)).ExitCode);

        var run = await storage.RunAsync("audit", "--since", "1h", "--actor", "cli:" + Environment.UserName);
        Assert.Equal(0, run.ExitCode);
        var ours = run.Lines.Where(l => l.Contains(name, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, ours.Count);
        Assert.Contains("admin:token-create", ours[0], StringComparison.Ordinal);
        Assert.Contains("admin:token-disable", ours[1], StringComparison.Ordinal);

        var future = await storage.RunAsync("audit", "--since", DateTimeOffset.UtcNow.AddMinutes(5).ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Assert.DoesNotContain(future.Lines, l => l.Contains(name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Audit_WithAnUnreadableSince_Exits1()
    {
        var run = await storage.RunAsync("audit", "--since", "yesterday-ish");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("--since", run.Error, StringComparison.Ordinal);
    }
}
