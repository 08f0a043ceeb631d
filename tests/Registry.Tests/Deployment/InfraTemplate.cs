using System.Text.Json;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Deployment;

/// <summary>
/// infra/main.bicep compiled once, and evaluated with `bicep snapshot` for two parameter sets: without replica
/// regions, and with two. A snapshot is the list of resources a deployment would create, with copy loops expanded,
/// conditions applied and every value known before deployment resolved; values only Azure knows (endpoints,
/// client ids) stay ARM expressions.
/// </summary>
internal static class InfraTemplate
{
    public const string SubscriptionId = "11111111-1111-1111-1111-111111111111";
    public const string TestPassword = "deployment-test-password";
    public static readonly string[] ReplicaRegions = ["eastus", "japaneast"];

    public static string InfraDirectory { get; } = Path.Combine(RepoPaths.Root, "infra");

    public static string MainBicep { get; } = Path.Combine(InfraDirectory, "main.bicep");

    private static readonly Lazy<Task<(BicepCli.Result Build, JsonElement Template)>> Compiled = new(CompileAsync);
    private static readonly Lazy<Task<Snapshot>> WithoutReplicasLazy = new(() => SnapshotAsync([]));
    private static readonly Lazy<Task<Snapshot>> WithReplicasLazy = new(() => SnapshotAsync(ReplicaRegions));

    public static async Task<BicepCli.Result> BuildResultAsync() => (await Compiled.Value).Build;

    public static async Task<JsonElement> TemplateAsync() => (await Compiled.Value).Template;

    public static Task<Snapshot> WithoutReplicasAsync() => WithoutReplicasLazy.Value;

    public static Task<Snapshot> WithReplicasAsync() => WithReplicasLazy.Value;

    private static async Task<(BicepCli.Result, JsonElement)> CompileAsync()
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory("bicep-build-").FullName, "main.json");
        var result = await BicepCli.RunAsync("build", MainBicep, "--outfile", output);
        Assert.True(result.ExitCode == 0, $"bicep build failed:\n{result.StandardError}");
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        return (result, document.RootElement.Clone());
    }

    private static async Task<Snapshot> SnapshotAsync(string[] replicaRegions)
    {
        var directory = Directory.CreateTempSubdirectory("bicep-snapshot-").FullName;
        var parameters = Path.Combine(directory, "test.bicepparam");
        // A .bicepparam file must name its template by a relative path.
        var usingPath = Path.GetRelativePath(directory, MainBicep).Replace('\\', '/');
        var regions = string.Join(", ", replicaRegions.Select(r => $"'{r}'"));
        await File.WriteAllTextAsync(parameters, $"""
            using '{usingPath}'
            param environmentName = 'test'
            param location = 'westeurope'
            param replicaRegions = [{regions}]
            param adminPassword = '{TestPassword}'
            """);
        var result = await BicepCli.RunAsync("snapshot", parameters,
            "--subscription-id", SubscriptionId, "--tenant-id", "22222222-2222-2222-2222-222222222222", "--location", "westeurope");
        Assert.True(result.ExitCode == 0, $"bicep snapshot failed:\n{result.StandardError}");
        var text = await File.ReadAllTextAsync(Path.Combine(directory, "test.snapshot.json"));
        using var document = JsonDocument.Parse(text);
        Assert.Empty(document.RootElement.GetProperty("diagnostics").EnumerateArray());
        return new Snapshot(text, [.. document.RootElement.GetProperty("predictedResources").EnumerateArray().Select(r => r.Clone())]);
    }
}

/// <summary>The resources one deployment of the template would create.</summary>
internal sealed record Snapshot(string Text, IReadOnlyList<JsonElement> Resources)
{
    public IEnumerable<JsonElement> OfType(string type) =>
        Resources.Where(r => string.Equals(r.GetProperty("type").GetString(), type, StringComparison.OrdinalIgnoreCase));

    public JsonElement Single(string type) => Assert.Single(OfType(type));

    public static string Id(JsonElement resource) => resource.GetProperty("id").GetString()!;

    public static JsonElement Properties(JsonElement resource) => resource.GetProperty("properties");

    /// <summary>The primary account: the one that holds the replication queue.</summary>
    public string PrimaryStorageAccountId
    {
        get
        {
            var queue = Id(Single("Microsoft.Storage/storageAccounts/queueServices/queues"));
            return queue[..queue.IndexOf("/queueServices/", StringComparison.Ordinal)];
        }
    }

    public IEnumerable<JsonElement> ReplicaStorageAccounts =>
        OfType("Microsoft.Storage/storageAccounts").Where(a => Id(a) != PrimaryStorageAccountId);

    public IReadOnlyDictionary<string, string> AppSettings =>
        Properties(Assert.Single(OfType("Microsoft.Web/sites/config"), c => Id(c).EndsWith("/config/appsettings", StringComparison.Ordinal)))
            .EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
}
