using System.Text.Json;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Deployment;

/// <summary>
/// What `azd provision` would create, read from `bicep snapshot` of infra/main.bicep: hardening, the Flex
/// Consumption app, the exact role assignments, the app settings the registry reads, and the replica path.
/// </summary>
public sealed class TemplateResourceTests
{
    private const string StorageAccount = "Microsoft.Storage/storageAccounts";
    private const string RoleAssignment = "Microsoft.Authorization/roleAssignments";

    // Built-in role definition ids (the same in every tenant).
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string StorageBlobDelegator = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageQueueDataMessageSender = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a";
    private const string EventGridDataSender = "d5a91429-5739-47e2-a06b-3470a27159e7";
    private static readonly string[] ForbiddenRoles =
    [
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", // Owner
        "b24988ac-6180-42a0-ab88-20f7382dd24c", // Contributor
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", // User Access Administrator
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168", // Role Based Access Control Administrator
    ];

    private static readonly string[] ExpectedAppSettings =
    [
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "AZURE_CLIENT_ID",
        "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT",
        "Registry__PublicUrl",
        "Storage__BlobServiceUri",
        "Storage__TableServiceUri",
        "Storage__ManagedIdentityClientId",
        "Storage__CreateIfMissing",
        "Auth__AdminPassword",
        "Events__TopicEndpoint",
        "Replication__BlobServiceUris",
        "Replication__TableServiceUris",
        "JOBS_UPLOAD_CLEANUP_SCHEDULE",
        "JOBS_GARBAGE_COLLECTION_SCHEDULE",
        "JOBS_RETENTION_SCHEDULE",
        "JOBS_EVENTS_SCHEDULE",
        "JOBS_REPLICATE_CREDENTIALS_SCHEDULE",
        "ReplicationQueue__queueServiceUri",
        "ReplicationQueue__credential",
        "ReplicationQueue__clientId",
    ];

    [Fact]
    public async Task EveryStorageAccount_AllowsOnlyEntraIdOverHttpsWithTls12AndNoPublicBlobs()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var accounts = snapshot.OfType(StorageAccount).ToList();

        Assert.Equal(1 + InfraTemplate.ReplicaRegions.Length, accounts.Count);
        Assert.All(accounts, account =>
        {
            var properties = Snapshot.Properties(account);
            Assert.Equal("StorageV2", account.GetProperty("kind").GetString());
            Assert.False(properties.GetProperty("allowSharedKeyAccess").GetBoolean());
            Assert.True(properties.GetProperty("supportsHttpsTrafficOnly").GetBoolean());
            Assert.Equal("TLS1_2", properties.GetProperty("minimumTlsVersion").GetString());
            Assert.False(properties.GetProperty("allowBlobPublicAccess").GetBoolean());
            Assert.True(properties.GetProperty("defaultToOAuthAuthentication").GetBoolean());
        });
    }

    [Fact]
    public async Task FunctionApp_IsAFlexConsumptionCustomHandler_HttpsOnlyWithTls12AndNoFtps()
    {
        var snapshot = await InfraTemplate.WithoutReplicasAsync();
        var plan = snapshot.Single("Microsoft.Web/serverfarms");
        var app = snapshot.Single("Microsoft.Web/sites");
        var properties = Snapshot.Properties(app);
        var config = properties.GetProperty("functionAppConfig");
        var identityId = Snapshot.Id(snapshot.Single("Microsoft.ManagedIdentity/userAssignedIdentities"));

        Assert.Equal("FC1", plan.GetProperty("sku").GetProperty("name").GetString());
        Assert.Equal("FlexConsumption", plan.GetProperty("sku").GetProperty("tier").GetString());
        Assert.Equal(Snapshot.Id(plan), properties.GetProperty("serverFarmId").GetString());
        Assert.True(properties.GetProperty("httpsOnly").GetBoolean());
        Assert.Equal("1.2", properties.GetProperty("siteConfig").GetProperty("minTlsVersion").GetString());
        Assert.Equal("Disabled", properties.GetProperty("siteConfig").GetProperty("ftpsState").GetString());
        Assert.Equal("custom", config.GetProperty("runtime").GetProperty("name").GetString());
        Assert.Equal("1.0", config.GetProperty("runtime").GetProperty("version").GetString());
        Assert.Equal(2048, config.GetProperty("scaleAndConcurrency").GetProperty("instanceMemoryMB").GetInt32());
        Assert.Equal(100, config.GetProperty("scaleAndConcurrency").GetProperty("maximumInstanceCount").GetInt32());
        var deploymentStorage = config.GetProperty("deployment").GetProperty("storage");
        Assert.Equal("blobContainer", deploymentStorage.GetProperty("type").GetString());
        Assert.Contains("deploymentContainerUrl", deploymentStorage.GetProperty("value").GetString(), StringComparison.Ordinal);
        Assert.Equal("UserAssignedIdentity", deploymentStorage.GetProperty("authentication").GetProperty("type").GetString());
        Assert.Equal(identityId, deploymentStorage.GetProperty("authentication").GetProperty("userAssignedIdentityResourceId").GetString());
        Assert.Equal("UserAssigned", app.GetProperty("identity").GetProperty("type").GetString());
        Assert.Equal([identityId], app.GetProperty("identity").GetProperty("userAssignedIdentities").EnumerateObject().Select(p => p.Name));
        // azd deploy finds the app for the `registry` service by this tag.
        Assert.Equal("registry", app.GetProperty("tags").GetProperty("azd-service-name").GetString());
        Assert.All(snapshot.OfType("Microsoft.Web/sites/basicPublishingCredentialsPolicies"),
            policy => Assert.False(Snapshot.Properties(policy).GetProperty("allow").GetBoolean()));
    }

    [Fact]
    public async Task RoleAssignments_AreExactlyTheDataRolesTheAppAndTopicNeed_EachOnOneResource()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var primary = snapshot.PrimaryStorageAccountId;
        var replicas = snapshot.ReplicaStorageAccounts.Select(Snapshot.Id).ToHashSet();
        var topic = Snapshot.Id(snapshot.Single("Microsoft.EventGrid/topics"));
        var queue = Snapshot.Id(snapshot.Single("Microsoft.Storage/storageAccounts/queueServices/queues"));

        var granted = snapshot.OfType(RoleAssignment).Select(assignment =>
        {
            var id = Snapshot.Id(assignment);
            var scope = id[..id.IndexOf("/providers/Microsoft.Authorization/roleAssignments/", StringComparison.Ordinal)];
            var properties = Snapshot.Properties(assignment);
            var principal = properties.GetProperty("principalId").GetString()!;
            Assert.Equal("ServicePrincipal", properties.GetProperty("principalType").GetString());
            var scopeName =
                scope == primary ? "primary account" :
                replicas.Contains(scope) ? "replica account" :
                scope == topic ? "topic" :
                scope == queue ? "replication queue" :
                "unexpected scope " + scope;
            var principalName =
                principal.Contains("Microsoft.ManagedIdentity/userAssignedIdentities/", StringComparison.Ordinal) && principal.EndsWith(".principalId]", StringComparison.Ordinal) ? "app" :
                principal.Contains("Microsoft.EventGrid/topics/", StringComparison.Ordinal) && principal.EndsWith(".identity.principalId]", StringComparison.Ordinal) ? "topic" :
                "unexpected principal " + principal;
            return $"{scopeName}: {RoleGuid(properties)} to {principalName}";
        }).Order(StringComparer.Ordinal).ToList();

        string[] perReplica = [
            $"replica account: {StorageBlobDataContributor} to app",
            $"replica account: {StorageBlobDelegator} to app",
            $"replica account: {StorageTableDataContributor} to app",
        ];
        var expected = new[]
        {
            $"primary account: {StorageBlobDataOwner} to app",
            $"primary account: {StorageBlobDelegator} to app",
            $"primary account: {StorageTableDataContributor} to app",
            $"primary account: {StorageQueueDataContributor} to app",
            $"topic: {EventGridDataSender} to app",
            $"replication queue: {StorageQueueDataMessageSender} to topic",
        }.Concat(InfraTemplate.ReplicaRegions.SelectMany(_ => perReplica)).Order(StringComparer.Ordinal);
        Assert.Equal(expected, granted);
    }

    [Fact]
    public async Task RoleAssignments_NeverGrantOwnerContributorOrAccessAdministration_NorAtSubscriptionOrResourceGroupScope()
    {
        foreach (var snapshot in new[] { await InfraTemplate.WithoutReplicasAsync(), await InfraTemplate.WithReplicasAsync() })
        {
            var assignments = snapshot.OfType(RoleAssignment).ToList();
            Assert.NotEmpty(assignments);
            Assert.All(assignments, assignment =>
            {
                Assert.DoesNotContain(RoleGuid(Snapshot.Properties(assignment)), ForbiddenRoles);
                var id = Snapshot.Id(assignment);
                var scope = id[..id.IndexOf("/providers/Microsoft.Authorization/roleAssignments/", StringComparison.Ordinal)];
                // A subscription (/subscriptions/x) or resource group (/subscriptions/x/resourceGroups/y) scope
                // names no provider; every scope here must be a resource.
                Assert.StartsWith($"/subscriptions/{InfraTemplate.SubscriptionId}/resourceGroups/rg-test/providers/", scope, StringComparison.Ordinal);
            });
        }
    }

    [Fact]
    public async Task AppSettings_AreExactlyTheNamesTheRegistryAndTheFunctionsHostRead()
    {
        var settings = (await InfraTemplate.WithoutReplicasAsync()).AppSettings;

        Assert.Equal(ExpectedAppSettings.Order(StringComparer.Ordinal), settings.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("managedidentity", settings["ReplicationQueue__credential"]);
        Assert.Equal("false", settings["Storage__CreateIfMissing"]);
        Assert.Equal(10L * 1024 * 1024 * 1024, long.Parse(settings["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("0 0 * * * *", settings["JOBS_UPLOAD_CLEANUP_SCHEDULE"]);
        Assert.Equal("0 30 3 * * *", settings["JOBS_GARBAGE_COLLECTION_SCHEDULE"]);
        Assert.Equal("0 0 3 * * *", settings["JOBS_RETENTION_SCHEDULE"]);
        Assert.Equal("0 * * * * *", settings["JOBS_EVENTS_SCHEDULE"]);
        Assert.Equal("0 * * * * *", settings["JOBS_REPLICATE_CREDENTIALS_SCHEDULE"]);
        Assert.Equal("", settings["Replication__BlobServiceUris"]);
        Assert.Equal("", settings["Replication__TableServiceUris"]);
        foreach (var clientId in new[] { "AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID", "Storage__ManagedIdentityClientId", "ReplicationQueue__clientId" })
        {
            Assert.Matches(@"^\[reference\('[^']*/Microsoft\.ManagedIdentity/userAssignedIdentities/id-[a-z0-9]+', '[^']+'\)\.clientId\]$", settings[clientId]);
        }
        Assert.Contains("outputs.name.value", settings["AzureWebJobsStorage__accountName"], StringComparison.Ordinal);
        Assert.Contains("outputs.blobEndpoint.value", settings["Storage__BlobServiceUri"], StringComparison.Ordinal);
        Assert.Contains("outputs.tableEndpoint.value", settings["Storage__TableServiceUri"], StringComparison.Ordinal);
        Assert.Contains("outputs.queueEndpoint.value", settings["ReplicationQueue__queueServiceUri"], StringComparison.Ordinal);
        Assert.Contains("outputs.endpoint.value", settings["Events__TopicEndpoint"], StringComparison.Ordinal);
        Assert.Contains("Microsoft.Insights/components/", settings["APPLICATIONINSIGHTS_CONNECTION_STRING"], StringComparison.Ordinal);
        // The public URL is the host name Azure assigned the app, read after it exists.
        Assert.Matches(@"^\[format\('https://\{0\}', reference\('[^']*/Microsoft\.Web/sites/func-[a-z0-9]+', '[^']+'\)\.defaultHostName\)\]$", settings["Registry__PublicUrl"]);
        Assert.Equal("[parameters('adminPassword')]", settings["Auth__AdminPassword"]);
    }

    [Fact]
    public async Task FunctionJsonBindings_FindEverySettingConnectionAndQueueTheyNameInTheTemplate()
    {
        var snapshot = await InfraTemplate.WithoutReplicasAsync();
        var settings = snapshot.AppSettings;
        var queues = snapshot.OfType("Microsoft.Storage/storageAccounts/queueServices/queues").Select(q => Snapshot.Id(q).Split('/')[^1]).ToHashSet();
        var functions = Directory.GetFiles(Path.Combine(RepoPaths.Root, "src", "Registry.Host", "Functions"), "function.json", SearchOption.AllDirectories);
        Assert.NotEmpty(functions);

        foreach (var file in functions)
        {
            using var function = JsonDocument.Parse(await File.ReadAllTextAsync(file));
            foreach (var binding in function.RootElement.GetProperty("bindings").EnumerateArray())
            {
                foreach (var property in binding.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String))
                {
                    var value = property.Value.GetString()!;
                    // %NAME% in a binding is resolved from app settings when the host loads the function.
                    if (value.Length > 2 && value.StartsWith('%') && value.EndsWith('%'))
                    {
                        Assert.True(settings.ContainsKey(value[1..^1]), $"{file}: {property.Name} reads app setting {value[1..^1]}, which the template does not set");
                    }
                }
                if (binding.TryGetProperty("connection", out var connection))
                {
                    // An identity-based connection is a group of settings named <connection>__<property>.
                    Assert.True(settings.Keys.Any(k => k.StartsWith(connection.GetString() + "__", StringComparison.Ordinal)),
                        $"{file}: connection {connection.GetString()} has no {connection.GetString()}__* app settings in the template");
                }
                if (binding.GetProperty("type").GetString() == "queueTrigger")
                {
                    Assert.Contains(binding.GetProperty("queueName").GetString()!, queues);
                }
            }
        }
    }

    [Fact]
    public async Task AdminPassword_NeverAppearsInWhatTheDeploymentRecords()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var template = await InfraTemplate.TemplateAsync();

        Assert.DoesNotContain(InfraTemplate.TestPassword, snapshot.Text, StringComparison.Ordinal);
        Assert.Equal("securestring", template.GetProperty("parameters").GetProperty("adminPassword").GetProperty("type").GetString());
        Assert.All(template.GetProperty("outputs").EnumerateObject(),
            output => Assert.DoesNotContain("adminPassword", output.Value.GetRawText(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task PrimaryAccount_HoldsTheRegistryAndDeploymentContainers_TheTables_AndTheReplicationQueue()
    {
        var snapshot = await InfraTemplate.WithoutReplicasAsync();
        var primary = snapshot.PrimaryStorageAccountId;

        Assert.Equal(
            [$"{primary}/blobServices/default/containers/app-package", $"{primary}/blobServices/default/containers/registry"],
            snapshot.OfType("Microsoft.Storage/storageAccounts/blobServices/containers").Select(Snapshot.Id).Order(StringComparer.Ordinal));
        Assert.All(snapshot.OfType("Microsoft.Storage/storageAccounts/blobServices/containers"),
            container => Assert.Equal("None", Snapshot.Properties(container).GetProperty("publicAccess").GetString()));
        Assert.Equal(
            new[] { "audit", "auth", "blobs", "policies", "repositories" }.Select(t => $"{primary}/tableServices/default/tables/{t}"),
            snapshot.OfType("Microsoft.Storage/storageAccounts/tableServices/tables").Select(Snapshot.Id).Order(StringComparer.Ordinal));
        Assert.Equal($"{primary}/queueServices/default/queues/replication",
            Snapshot.Id(snapshot.Single("Microsoft.Storage/storageAccounts/queueServices/queues")));
    }

    [Fact]
    public async Task EventGridTopic_TakesCloudEventsFromEntraIdPublishersOnly()
    {
        var topic = (await InfraTemplate.WithoutReplicasAsync()).Single("Microsoft.EventGrid/topics");
        var properties = Snapshot.Properties(topic);

        Assert.True(properties.GetProperty("disableLocalAuth").GetBoolean());
        Assert.Equal("CloudEventSchemaV1_0", properties.GetProperty("inputSchema").GetString());
    }

    [Fact]
    public async Task WithoutReplicaRegions_ThereIsOneStorageAccountAndNoEventSubscription()
    {
        var snapshot = await InfraTemplate.WithoutReplicasAsync();

        Assert.Single(snapshot.OfType(StorageAccount));
        Assert.Empty(snapshot.OfType("Microsoft.EventGrid/topics/eventSubscriptions"));
        Assert.DoesNotContain(snapshot.OfType(RoleAssignment), a => RoleGuid(Snapshot.Properties(a)) == StorageQueueDataMessageSender);
    }

    [Fact]
    public async Task WithReplicaRegions_EachRegionGetsAHardenedAccountWithTheRegistryContainerAndTables()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var replicas = snapshot.ReplicaStorageAccounts.ToList();

        Assert.Equal(InfraTemplate.ReplicaRegions.Order(StringComparer.Ordinal),
            replicas.Select(r => r.GetProperty("location").GetString()!).Order(StringComparer.Ordinal));
        foreach (var replica in replicas.Select(Snapshot.Id))
        {
            Assert.Contains(snapshot.OfType("Microsoft.Storage/storageAccounts/blobServices/containers"),
                c => Snapshot.Id(c) == $"{replica}/blobServices/default/containers/registry");
            Assert.Equal(
                new[] { "audit", "auth", "blobs", "policies", "repositories" }.Select(t => $"{replica}/tableServices/default/tables/{t}"),
                snapshot.OfType("Microsoft.Storage/storageAccounts/tableServices/tables").Select(Snapshot.Id)
                    .Where(id => id.StartsWith(replica + "/", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        }
        var settings = snapshot.AppSettings;
        Assert.Equal(InfraTemplate.ReplicaRegions.Length, CountOf("outputs.blobEndpoint.value", settings["Replication__BlobServiceUris"]));
        Assert.Equal(InfraTemplate.ReplicaRegions.Length, CountOf("outputs.tableEndpoint.value", settings["Replication__TableServiceUris"]));
        Assert.StartsWith("[join(", settings["Replication__BlobServiceUris"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithReplicaRegions_TheTopicDeliversCloudEventsToTheReplicationQueueWithItsOwnIdentity()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var subscription = Snapshot.Properties(snapshot.Single("Microsoft.EventGrid/topics/eventSubscriptions"));
        var delivery = subscription.GetProperty("deliveryWithResourceIdentity");
        var destination = delivery.GetProperty("destination");

        Assert.Equal("CloudEventSchemaV1_0", subscription.GetProperty("eventDeliverySchema").GetString());
        Assert.Equal("SystemAssigned", delivery.GetProperty("identity").GetProperty("type").GetString());
        Assert.Equal("SystemAssigned", snapshot.Single("Microsoft.EventGrid/topics").GetProperty("identity").GetProperty("type").GetString());
        Assert.Equal("StorageQueue", destination.GetProperty("endpointType").GetString());
        Assert.Equal(snapshot.PrimaryStorageAccountId, destination.GetProperty("properties").GetProperty("resourceId").GetString());
        Assert.Equal("replication", destination.GetProperty("properties").GetProperty("queueName").GetString());
    }

    private static string RoleGuid(JsonElement roleAssignmentProperties)
    {
        var definition = roleAssignmentProperties.GetProperty("roleDefinitionId").GetString()!;
        Assert.StartsWith($"/subscriptions/{InfraTemplate.SubscriptionId}/providers/Microsoft.Authorization/roleDefinitions/", definition, StringComparison.Ordinal);
        return definition[(definition.LastIndexOf('/') + 1)..];
    }

    private static int CountOf(string needle, string text) =>
        (text.Length - text.Replace(needle, "", StringComparison.Ordinal).Length) / needle.Length;
}
