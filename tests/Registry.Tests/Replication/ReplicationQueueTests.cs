using System.Text.Json;
using Registry.Replication;
using Registry.Storage;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Replication;

/// <summary>The queue <c>replication status</c> reads is the one the deployed trigger drains, found where the app's storage is.</summary>
public sealed class ReplicationQueueTests
{
    [Fact]
    public void QueueName_IsTheOneTheReplicateTriggerAndTheTemplateUse()
    {
        using var function = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "Registry.Host", "Functions", "replicate", "function.json")));
        Assert.Equal(ReplicationQueueReader.QueueName, function.RootElement.GetProperty("bindings")[0].GetProperty("queueName").GetString());
        Assert.Contains($"var replicationQueueName = '{ReplicationQueueReader.QueueName}'",
            File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "main.bicep")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://acct.blob.core.windows.net", null, "https://acct.queue.core.windows.net/")]
    [InlineData("https://acct.blob.core.usgovcloudapi.net/", null, "https://acct.queue.core.usgovcloudapi.net/")]
    [InlineData("https://acct.blob.core.windows.net", "https://elsewhere.example/q", "https://elsewhere.example/q")]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1", null, null)]
    public void QueueEndpoint_IsTheSettingElseTheBlobEndpointsAccounts(string blob, string? queue, string? expected)
    {
        var options = new StorageOptions { BlobServiceUri = new Uri(blob), QueueServiceUri = queue is null ? null : new Uri(queue) };

        Assert.Equal(expected, StorageClients.QueueServiceUriOf(options)?.ToString());
    }
}
