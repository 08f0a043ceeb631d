using System.Text.Json;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Deployment;

/// <summary>
/// infra/main.bicep compiled once, and evaluated with `bicep snapshot` for two parameter sets: without replica
/// regions, and with two (given as azd passes REPLICA_REGIONS: one comma-separated string). A snapshot is the list of resources a deployment would create, with copy loops expanded,
/// conditions applied and every value known before deployment resolved; values only Azure knows (endpoints,
/// client ids) stay ARM expressions.
/// </summary>
internal static class InfraTemplate
{
    public const string SubscriptionId = "11111111-1111-1111-1111-111111111111";
    public const string TestPassword = "deployment-test-password";
    public const string Location = "westeurope";

    /// <summary>What the tests pass as signingKeyPemBase64: not a key, only a value to look for in what is recorded.</summary>
    public const string TestSigningKey = "dGVzdC1zaWduaW5nLWtleS12YWx1ZQ==";
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
        // With a space after the comma, as someone may type it into `azd env set`.
        var regions = string.Join(", ", replicaRegions);
        await File.WriteAllTextAsync(parameters, $"""
            using '{usingPath}'
            param environmentName = 'test'
            param location = '{Location}'
            param replicaRegions = '{regions}'
            param adminPassword = '{TestPassword}'
            param signingKeyPemBase64 = '{(replicaRegions.Length > 0 ? TestSigningKey : "")}'
            """);
        var result = await BicepCli.RunAsync("snapshot", parameters,
            "--subscription-id", SubscriptionId, "--tenant-id", "22222222-2222-2222-2222-222222222222", "--location", Location);
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

    /// <summary>The primary account: the one in the deployment's location (replica regions are elsewhere).</summary>
    public string PrimaryStorageAccountId =>
        Id(Assert.Single(OfType("Microsoft.Storage/storageAccounts"), a => a.GetProperty("location").GetString() == InfraTemplate.Location));

    public IEnumerable<JsonElement> ReplicaStorageAccounts =>
        OfType("Microsoft.Storage/storageAccounts").Where(a => Id(a) != PrimaryStorageAccountId);

    /// <summary>The primary function app: the one azd deploys to, found by the azd-service-name tag.</summary>
    public JsonElement PrimaryApp =>
        Assert.Single(OfType("Microsoft.Web/sites"), s => s.TryGetProperty("tags", out var tags) && tags.TryGetProperty("azd-service-name", out _));

    /// <summary>The replica function apps, by region.</summary>
    public IReadOnlyDictionary<string, JsonElement> ReplicaApps =>
        OfType("Microsoft.Web/sites").Where(s => Id(s) != Id(PrimaryApp)).ToDictionary(s => s.GetProperty("location").GetString()!);

    /// <summary>The id of the one user-assigned identity <paramref name="app"/> runs as.</summary>
    public static string IdentityOf(JsonElement app) =>
        Assert.Single(app.GetProperty("identity").GetProperty("userAssignedIdentities").EnumerateObject()).Name;

    /// <summary>The primary app's settings.</summary>
    public IReadOnlyDictionary<string, string> AppSettings => AppSettingsOf(PrimaryApp);

    public IReadOnlyDictionary<string, string> AppSettingsOf(JsonElement app) =>
        Properties(Assert.Single(OfType("Microsoft.Web/sites/config"), c => Id(c) == Id(app) + "/config/appsettings"))
            .EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
}
