using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Storage.Tags;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Lifecycle;

/// <summary>One move as <c>GET /v2/&lt;name&gt;/_history/tags/&lt;tag&gt;</c> lists it.</summary>
public sealed record ListedMove(string Action, string? Digest, string? Previous, string? Actor);

/// <summary>Reads a tag's history through the HTTP extension.</summary>
public static class TagHistory
{
    public static async Task<List<ListedMove>> GetAsync(HttpClient client, string repository, string tag)
    {
        var response = await client.GetAsync($"/v2/{repository}/_history/tags/{tag}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(repository, json.RootElement.GetProperty("name").GetString());
        Assert.Equal(tag, json.RootElement.GetProperty("tag").GetString());
        return [.. json.RootElement.GetProperty("history").EnumerateArray().Select(move => new ListedMove(
            move.GetProperty("action").GetString()!, Text(move, "digest"), Text(move, "previous"), Text(move, "actor")))];
    }

    /// <summary>What <paramref name="tag"/> points at in storage now (an instance's read cache may be a second behind a CLI's change).</summary>
    public static async Task<string?> CurrentAsync(RegistryFixture registry, string repository, string tag)
    {
        Assert.True(RepositoryName.TryParse(repository, out var name));
        Assert.True(Tag.TryParse(tag, out var parsed));
        return (await registry.Services.GetRequiredService<TagStore>().ReadAsync(name, parsed, CancellationToken.None)).Digest?.Value;
    }

    private static string? Text(JsonElement move, string name) => move.TryGetProperty(name, out var value) ? value.GetString() : null;
}
