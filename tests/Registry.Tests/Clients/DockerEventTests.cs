using Registry.Events;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>A real docker push, and the webhook a local subscriber would run: it receives ImagePushed with the digest docker printed.</summary>
[Collection(RealClientsGroup.Name)]
public sealed class DockerEventTests(RegistryProcess registry)
{
    [Fact]
    public async Task DockerPush_ReachesAWebhookAsImagePushed_WithTheDigestDockerPrinted()
    {
        await using var receiver = await EventReceiver.StartAsync();
        await using var instance = await ExtraRegistry.StartAsync(registry.Storage,
            ["--Jobs:InProcess=false", $"--Events:Webhooks:0:Url={receiver.Url}", "--Events:AllowPrivateTargets=true"]);
        var docker = await DockerEngine.StartAsync();
        var address = instance.BaseAddress.Authority;
        await docker.LoginAsync(address);
        var reference = $"{address}/events/docker:1.0";
        await docker.BuildSmallImageAsync(reference);

        var digest = await docker.PushAsync(reference);

        var events = await receiver.WaitForAsync(all => all.Any(e => Target(e, "digest") == digest));
        var pushed = events.First(e => Target(e, "digest") == digest);
        Assert.Equal(RegistryEvents.ImagePushed, pushed.GetProperty("type").GetString());
        Assert.Equal("events/docker", Target(pushed, "repository"));
        Assert.Equal("1.0", Target(pushed, "tag"));
        Assert.StartsWith("docker/", pushed.GetProperty("data").GetProperty("request").GetProperty("useragent").GetString(), StringComparison.Ordinal);
    }

    private static string? Target(System.Text.Json.JsonElement e, string property) =>
        e.GetProperty("data").GetProperty("target").TryGetProperty(property, out var value) ? value.GetString() : null;
}
