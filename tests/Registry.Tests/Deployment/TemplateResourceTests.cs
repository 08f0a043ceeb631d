using System.Text.Json;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Deployment;

/// <summary>
/// What `azd provision` would create, read from `bicep snapshot` of infra/main.bicep: hardening, the Flex
/// Consumption apps, the exact role assignments, the app settings the registry reads, and with replica regions the
/// replica apps, the event delivery to each, the shared signing key and the Front Door endpoint in front of them.
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
    private const string StorageBlobDataReader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    private const string StorageTableDataReader = "76199698-9eea-4c19-bc75-cec21354c6b6";
    private const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
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
        "JOBS_UPLOAD_CLEANUP_SCHEDULE",
        "JOBS_GARBAGE_COLLECTION_SCHEDULE",
        "JOBS_RETENTION_SCHEDULE",
        "JOBS_USAGE_SCHEDULE",
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
    public async Task RoleAssignments_AreExactlyTheDataRolesEachIdentityNeeds_EachOnOneResource()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var primary = snapshot.PrimaryStorageAccountId;
        var accountRegion = snapshot.ReplicaStorageAccounts.ToDictionary(Snapshot.Id, a => a.GetProperty("location").GetString()!);
        var topic = Snapshot.Id(snapshot.Single("Microsoft.EventGrid/topics"));
        var secret = Snapshot.Id(snapshot.Single("Microsoft.KeyVault/vaults/secrets"));
        var identityRegion = snapshot.ReplicaApps.ToDictionary(a => Snapshot.IdentityOf(a.Value), a => a.Key);
        var primaryIdentity = Snapshot.IdentityOf(snapshot.PrimaryApp);

        var granted = snapshot.OfType(RoleAssignment).Select(assignment =>
        {
            var id = Snapshot.Id(assignment);
            var scope = id[..id.IndexOf("/providers/Microsoft.Authorization/roleAssignments/", StringComparison.Ordinal)];
            var properties = Snapshot.Properties(assignment);
            var principal = properties.GetProperty("principalId").GetString()!;
            Assert.Equal("ServicePrincipal", properties.GetProperty("principalType").GetString());
            var queueAccount = scope.EndsWith("/queueServices/default/queues/replication", StringComparison.Ordinal)
                ? scope[..scope.IndexOf("/queueServices/", StringComparison.Ordinal)]
                : null;
            var scopeName =
                scope == primary ? "primary account" :
                accountRegion.TryGetValue(scope, out var region) ? $"{region} account" :
                queueAccount is not null && accountRegion.TryGetValue(queueAccount, out var queueRegion) ? $"{queueRegion} replication queue" :
                scope == topic ? "topic" :
                scope == secret ? "signing key" :
                "unexpected scope " + scope;
            return $"{scopeName}: {RoleGuid(properties)} to {PrincipalName(principal, primaryIdentity, identityRegion)}";
        }).Order(StringComparer.Ordinal).ToList();

        var expected = new[]
        {
            $"primary account: {StorageBlobDataOwner} to primary app",
            $"primary account: {StorageBlobDelegator} to primary app",
            $"primary account: {StorageTableDataContributor} to primary app",
            $"primary account: {StorageQueueDataContributor} to primary app",
            $"topic: {EventGridDataSender} to primary app",
            $"signing key: {KeyVaultSecretsUser} to primary app",
        }.Concat(InfraTemplate.ReplicaRegions.SelectMany(region => new[]
        {
            // Its own account: the same roles the primary has on its own (host storage, registry data, queue).
            $"{region} account: {StorageBlobDataOwner} to {region} app",
            $"{region} account: {StorageBlobDelegator} to {region} app",
            $"{region} account: {StorageTableDataContributor} to {region} app",
            $"{region} account: {StorageQueueDataContributor} to {region} app",
            // The primary's account: read only. Blob Data Reader includes Get User Delegation Key.
            $"primary account: {StorageBlobDataReader} to {region} app",
            $"primary account: {StorageTableDataReader} to {region} app",
            $"signing key: {KeyVaultSecretsUser} to {region} app",
            $"{region} replication queue: {StorageQueueDataMessageSender} to topic",
        })).Order(StringComparer.Ordinal);
        Assert.Equal(expected, granted);
    }

    [Fact]
    public async Task ReplicaIdentities_HoldNoRoleThatWritesThePrimaryAccount()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var primary = snapshot.PrimaryStorageAccountId;
        var replicaIdentities = snapshot.ReplicaApps.Values.Select(Snapshot.IdentityOf).ToList();

        var onPrimary = snapshot.OfType(RoleAssignment)
            .Where(a => Snapshot.Id(a).StartsWith(primary + "/providers/Microsoft.Authorization/roleAssignments/", StringComparison.Ordinal))
            .Where(a => replicaIdentities.Any(identity => Snapshot.Properties(a).GetProperty("principalId").GetString()!.Contains($"'{identity}'", StringComparison.Ordinal)))
            .Select(a => RoleGuid(Snapshot.Properties(a)))
            .ToList();

        Assert.Equal(2 * InfraTemplate.ReplicaRegions.Length, onPrimary.Count);
        Assert.All(onPrimary, role => Assert.Contains(role, new[] { StorageBlobDataReader, StorageTableDataReader }));
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
        Assert.Equal("0 15 * * * *", settings["JOBS_USAGE_SCHEDULE"]);
        Assert.Equal("0 * * * * *", settings["JOBS_EVENTS_SCHEDULE"]);
        Assert.Equal("0 * * * * *", settings["JOBS_REPLICATE_CREDENTIALS_SCHEDULE"]);
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
        // The public URL is the host name Azure assigned the app, read after it exists (no Front Door without replicas).
        Assert.Matches(@"^\[coalesce\(null\(\), format\('https://\{0\}', reference\('[^']*/Microsoft\.Web/sites/func-[a-z0-9]+', '[^']+'\)\.defaultHostName\)\)\]$", settings["Registry__PublicUrl"]);
        Assert.Equal("[parameters('adminPassword')]", settings["Auth__AdminPassword"]);
    }

    [Fact]
    public async Task FunctionJsonBindings_FindEverySettingConnectionAndQueueTheyNameInTheTemplate_InEveryApp()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var functions = Directory.GetFiles(Path.Combine(RepoPaths.Root, "src", "Registry.Host", "Functions"), "function.json", SearchOption.AllDirectories);
        Assert.NotEmpty(functions);
        var apps = snapshot.OfType("Microsoft.Web/sites").ToList();
        Assert.Equal(1 + InfraTemplate.ReplicaRegions.Length, apps.Count);

        // Every app runs the same package, so every function.json must find what it names in every app.
        foreach (var (app, file) in apps.SelectMany(app => functions.Select(file => (app, file))))
        {
            var settings = snapshot.AppSettingsOf(app);
            // The queue a trigger reads is in the app's own account, the one its ReplicationQueue connection names.
            var ownAccount = Assert.Single(snapshot.OfType("Microsoft.Storage/storageAccounts"),
                a => a.GetProperty("location").GetString() == app.GetProperty("location").GetString());
            var queues = snapshot.OfType("Microsoft.Storage/storageAccounts/queueServices/queues")
                .Where(q => Snapshot.Id(q).StartsWith(Snapshot.Id(ownAccount) + "/", StringComparison.Ordinal))
                .Select(q => Snapshot.Id(q).Split('/')[^1]).ToHashSet();
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
    public async Task AdminPasswordAndSigningKey_NeverAppearInWhatTheDeploymentRecords()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var template = await InfraTemplate.TemplateAsync();

        foreach (var (value, parameter) in new[] { (InfraTemplate.TestPassword, "adminPassword"), (InfraTemplate.TestSigningKey, "signingKeyPemBase64") })
        {
            Assert.DoesNotContain(value, snapshot.Text, StringComparison.Ordinal);
            Assert.Equal("securestring", template.GetProperty("parameters").GetProperty(parameter).GetProperty("type").GetString());
            Assert.All(template.GetProperty("outputs").EnumerateObject(),
                output => Assert.DoesNotContain(parameter, output.Value.GetRawText(), StringComparison.Ordinal));
        }
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
    public async Task WithoutReplicaRegions_ThereIsOneAppAndAccount_AndNoSubscriptionKeyVaultOrFrontDoor()
    {
        var snapshot = await InfraTemplate.WithoutReplicasAsync();

        Assert.Single(snapshot.OfType(StorageAccount));
        Assert.Single(snapshot.OfType("Microsoft.Web/sites"));
        Assert.Empty(snapshot.OfType("Microsoft.EventGrid/topics/eventSubscriptions"));
        Assert.DoesNotContain(snapshot.OfType(RoleAssignment), a => RoleGuid(Snapshot.Properties(a)) == StorageQueueDataMessageSender);
        Assert.DoesNotContain(snapshot.Resources, r => r.GetProperty("type").GetString()!.StartsWith("Microsoft.KeyVault/", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(snapshot.Resources, r => r.GetProperty("type").GetString()!.StartsWith("Microsoft.Cdn/", StringComparison.OrdinalIgnoreCase));
        // The signing key stays in table `auth`, where the one app creates it.
        Assert.DoesNotContain("Auth__SigningKeyPem", snapshot.AppSettings.Keys);
    }

    [Fact]
    public async Task WithReplicaRegions_EachRegionGetsAnAccountWithTheContainersTablesAndReplicationQueue()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var replicas = snapshot.ReplicaStorageAccounts.ToList();

        Assert.Equal(InfraTemplate.ReplicaRegions.Order(StringComparer.Ordinal),
            replicas.Select(r => r.GetProperty("location").GetString()!).Order(StringComparer.Ordinal));
        foreach (var replica in replicas.Select(Snapshot.Id))
        {
            Assert.Equal(
                [$"{replica}/blobServices/default/containers/app-package", $"{replica}/blobServices/default/containers/registry"],
                snapshot.OfType("Microsoft.Storage/storageAccounts/blobServices/containers").Select(Snapshot.Id)
                    .Where(id => id.StartsWith(replica + "/", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
            Assert.Contains(snapshot.OfType("Microsoft.Storage/storageAccounts/queueServices/queues"),
                q => Snapshot.Id(q) == $"{replica}/queueServices/default/queues/replication");
            Assert.Equal(
                new[] { "audit", "auth", "blobs", "policies", "repositories" }.Select(t => $"{replica}/tableServices/default/tables/{t}"),
                snapshot.OfType("Microsoft.Storage/storageAccounts/tableServices/tables").Select(Snapshot.Id)
                    .Where(id => id.StartsWith(replica + "/", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task WithReplicaRegions_TheTopicDeliversCloudEventsToEachReplicasOwnQueueWithItsOwnIdentity()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var subscriptions = snapshot.OfType("Microsoft.EventGrid/topics/eventSubscriptions").ToList();
        var replicaAccounts = snapshot.ReplicaStorageAccounts.Select(Snapshot.Id).Order(StringComparer.Ordinal);

        Assert.Equal("SystemAssigned", snapshot.Single("Microsoft.EventGrid/topics").GetProperty("identity").GetProperty("type").GetString());
        var destinations = subscriptions.Select(subscription =>
        {
            var properties = Snapshot.Properties(subscription);
            var delivery = properties.GetProperty("deliveryWithResourceIdentity");
            var destination = delivery.GetProperty("destination");
            Assert.Equal("CloudEventSchemaV1_0", properties.GetProperty("eventDeliverySchema").GetString());
            Assert.Equal("SystemAssigned", delivery.GetProperty("identity").GetProperty("type").GetString());
            Assert.Equal("StorageQueue", destination.GetProperty("endpointType").GetString());
            Assert.Equal("replication", destination.GetProperty("properties").GetProperty("queueName").GetString());
            return destination.GetProperty("properties").GetProperty("resourceId").GetString()!;
        }).Order(StringComparer.Ordinal);

        // One per replica, none to the primary: the primary publishes the events, it does not apply them.
        Assert.Equal(replicaAccounts, destinations);
    }

    [Fact]
    public async Task WithReplicaRegions_EachReplicaIsTheSameFlexAppInItsRegion_WithItsOwnIdentityAndNoAzdTag()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var primary = snapshot.PrimaryApp;
        var replicas = snapshot.ReplicaApps;
        var plans = snapshot.OfType("Microsoft.Web/serverfarms").ToDictionary(Snapshot.Id);

        Assert.Equal(InfraTemplate.ReplicaRegions.Order(StringComparer.Ordinal), replicas.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1 + replicas.Count, snapshot.OfType("Microsoft.ManagedIdentity/userAssignedIdentities").Count());
        Assert.Equal(1 + replicas.Count, snapshot.OfType("Microsoft.Web/sites").Select(Snapshot.IdentityOf).Distinct().Count());
        foreach (var (region, app) in replicas)
        {
            var properties = Snapshot.Properties(app);
            var plan = plans[properties.GetProperty("serverFarmId").GetString()!];
            Assert.Equal(region, plan.GetProperty("location").GetString());
            // The same plan kind and app definition as the primary (function.bicep, one module for both).
            Assert.Equal(plans[Snapshot.Properties(primary).GetProperty("serverFarmId").GetString()!].GetProperty("sku").GetRawText(), plan.GetProperty("sku").GetRawText());
            Assert.Equal(Snapshot.Properties(primary).GetProperty("functionAppConfig").GetProperty("runtime").GetRawText(),
                properties.GetProperty("functionAppConfig").GetProperty("runtime").GetRawText());
            Assert.Equal(Snapshot.Properties(primary).GetProperty("siteConfig").GetRawText(), properties.GetProperty("siteConfig").GetRawText());
            Assert.True(properties.GetProperty("httpsOnly").GetBoolean());
            Assert.Equal(Snapshot.IdentityOf(app), properties.GetProperty("keyVaultReferenceIdentity").GetString());
            // azd refuses a service tag found on several resources; the replicas get the package from the postdeploy hook.
            Assert.False(app.TryGetProperty("tags", out var tags) && tags.TryGetProperty("azd-service-name", out _));
        }
    }

    [Fact]
    public async Task WithReplicaRegions_EachReplicaReadsThePrimarysStorage_ForwardsWritesToThePrimaryApp_AndPublishesNoEvents()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var primary = snapshot.AppSettings;
        // Module deployment names in the snapshot's expressions: the primary's storage and app, and each replica's.
        const string PrimaryStorage = "format('storage-{0}', uniqueString('storage', deployment().name))";
        const string PrimaryFunction = "format('function-{0}', uniqueString('function', deployment().name))";

        Assert.Equal(ExpectedAppSettings.Append("Auth__SigningKeyPem").Order(StringComparer.Ordinal), primary.Keys.Order(StringComparer.Ordinal));
        foreach (var (region, app) in snapshot.ReplicaApps)
        {
            var settings = snapshot.AppSettingsOf(app);
            var identity = Snapshot.IdentityOf(app);
            Assert.Equal(
                ExpectedAppSettings.Where(name => name != "Events__TopicEndpoint")
                    .Concat(["Auth__SigningKeyPem", "Replication__Primary__BlobServiceUri", "Replication__Primary__TableServiceUri",
                        "Replication__Primary__ManagedIdentityClientId", "Replication__PrimaryUrl"])
                    .Order(StringComparer.Ordinal),
                settings.Keys.Order(StringComparer.Ordinal));
            Assert.Contains(PrimaryStorage, settings["Replication__Primary__BlobServiceUri"], StringComparison.Ordinal);
            Assert.Contains("outputs.blobEndpoint.value", settings["Replication__Primary__BlobServiceUri"], StringComparison.Ordinal);
            Assert.Contains(PrimaryStorage, settings["Replication__Primary__TableServiceUri"], StringComparison.Ordinal);
            Assert.Contains("outputs.tableEndpoint.value", settings["Replication__Primary__TableServiceUri"], StringComparison.Ordinal);
            // The primary is read with the replica's own identity.
            Assert.Equal($"[reference('{identity}', '2024-11-30').clientId]", settings["Replication__Primary__ManagedIdentityClientId"]);
            Assert.Equal(settings["AZURE_CLIENT_ID"], settings["Replication__Primary__ManagedIdentityClientId"]);
            Assert.Equal($"[format('https://{{0}}', reference(resourceId('{InfraTemplate.SubscriptionId}', 'rg-test', 'Microsoft.Resources/deployments', {PrimaryFunction}), '2025-04-01').outputs.defaultHostName.value)]",
                settings["Replication__PrimaryUrl"]);
            // Its own storage, host storage and queue, not the primary's.
            foreach (var own in new[] { "Storage__BlobServiceUri", "Storage__TableServiceUri", "AzureWebJobsStorage__accountName", "ReplicationQueue__queueServiceUri" })
            {
                Assert.DoesNotContain(PrimaryStorage, settings[own], StringComparison.Ordinal);
                Assert.Contains("replicas-", settings[own], StringComparison.Ordinal);
            }
            Assert.Equal("false", settings["Storage__CreateIfMissing"]);
            Assert.Equal(primary["Auth__AdminPassword"], settings["Auth__AdminPassword"]);
            Assert.Equal(primary["JOBS_REPLICATE_CREDENTIALS_SCHEDULE"], settings["JOBS_REPLICATE_CREDENTIALS_SCHEDULE"]);
        }
    }

    [Fact]
    public async Task WithReplicaRegions_EveryAppReadsOneSigningKeyFromKeyVault_AndHandsOutTheFrontDoorUrl()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var vault = snapshot.Single("Microsoft.KeyVault/vaults");
        var secret = snapshot.Single("Microsoft.KeyVault/vaults/secrets");
        var vaultName = Snapshot.Id(vault).Split('/')[^1];
        var secretName = Snapshot.Id(secret).Split('/')[^1];

        Assert.True(Snapshot.Properties(vault).GetProperty("enableRbacAuthorization").GetBoolean());
        Assert.Equal("[base64ToString(parameters('signingKeyPemBase64'))]", Snapshot.Properties(secret).GetProperty("value").GetString());
        foreach (var app in snapshot.OfType("Microsoft.Web/sites"))
        {
            var settings = snapshot.AppSettingsOf(app);
            Assert.Equal($"@Microsoft.KeyVault(VaultName={vaultName};SecretName={secretName})", settings["Auth__SigningKeyPem"]);
            // One realm and issuer for every region: the Front Door endpoint's host name.
            Assert.StartsWith("[coalesce(format('https://{0}', reference(resourceId(", settings["Registry__PublicUrl"], StringComparison.Ordinal);
            Assert.Contains("format('frontDoor-{0}'", settings["Registry__PublicUrl"], StringComparison.Ordinal);
            Assert.Contains(".outputs.hostName.value", settings["Registry__PublicUrl"], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task WithReplicaRegions_FrontDoorStandardRoutesEveryRequestUncachedToTheNearestHealthyRegion()
    {
        var snapshot = await InfraTemplate.WithReplicasAsync();
        var profile = snapshot.Single("Microsoft.Cdn/profiles");
        var endpoint = snapshot.Single("Microsoft.Cdn/profiles/afdEndpoints");
        var group = snapshot.Single("Microsoft.Cdn/profiles/originGroups");
        var route = Snapshot.Properties(snapshot.Single("Microsoft.Cdn/profiles/afdEndpoints/routes"));
        var groupProperties = Snapshot.Properties(group);

        Assert.Equal("Standard_AzureFrontDoor", profile.GetProperty("sku").GetProperty("name").GetString());
        Assert.StartsWith(Snapshot.Id(profile) + "/", Snapshot.Id(endpoint), StringComparison.Ordinal);
        // Latency routing: every origin in one group at the same priority and weight, the fastest one chosen.
        Assert.Equal(0, groupProperties.GetProperty("loadBalancingSettings").GetProperty("additionalLatencyInMilliseconds").GetInt32());
        var probe = groupProperties.GetProperty("healthProbeSettings");
        Assert.Equal("/health", probe.GetProperty("probePath").GetString());
        Assert.Equal("Https", probe.GetProperty("probeProtocol").GetString());
        Assert.Equal("Disabled", groupProperties.GetProperty("sessionAffinityState").GetString());

        var origins = snapshot.OfType("Microsoft.Cdn/profiles/originGroups/origins").ToDictionary(o => Snapshot.Id(o).Split('/')[^1], Snapshot.Properties);
        Assert.Equal(InfraTemplate.ReplicaRegions.Append("primary").Order(StringComparer.Ordinal), origins.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("format('function-{0}'", origins["primary"].GetProperty("hostName").GetString(), StringComparison.Ordinal);
        foreach (var (region, i) in InfraTemplate.ReplicaRegions.Select((r, i) => (r, i)))
        {
            Assert.Contains($"format('replicas-{{0}}-{{1}}', {i}, ", origins[region].GetProperty("hostName").GetString(), StringComparison.Ordinal);
        }
        Assert.All(origins.Values, origin =>
        {
            Assert.EndsWith(".outputs.defaultHostName.value]", origin.GetProperty("hostName").GetString(), StringComparison.Ordinal);
            // App Service routes by Host, so each app must be sent its own host name.
            Assert.Equal(origin.GetProperty("hostName").GetString(), origin.GetProperty("originHostHeader").GetString());
            Assert.Equal(1, origin.GetProperty("priority").GetInt32());
            Assert.Equal(1000, origin.GetProperty("weight").GetInt32());
            Assert.True(origin.GetProperty("enforceCertificateNameCheck").GetBoolean());
        });

        Assert.Equal(Snapshot.Id(group), route.GetProperty("originGroup").GetProperty("id").GetString());
        Assert.Equal(["/*"], route.GetProperty("patternsToMatch").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(["Https"], route.GetProperty("supportedProtocols").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal("HttpsOnly", route.GetProperty("forwardingProtocol").GetString());
        Assert.Equal("Enabled", route.GetProperty("linkToDefaultDomain").GetString());
        // Nothing cached at the edge: every answer depends on the caller's token, and tags move.
        Assert.False(route.TryGetProperty("cacheConfiguration", out _));
    }

    private static string RoleGuid(JsonElement roleAssignmentProperties)
    {
        var definition = roleAssignmentProperties.GetProperty("roleDefinitionId").GetString()!;
        Assert.StartsWith($"/subscriptions/{InfraTemplate.SubscriptionId}/providers/Microsoft.Authorization/roleDefinitions/", definition, StringComparison.Ordinal);
        return definition[(definition.LastIndexOf('/') + 1)..];
    }

    private static string PrincipalName(string principal, string primaryIdentity, IReadOnlyDictionary<string, string> identityRegion)
    {
        if (principal.Contains("Microsoft.EventGrid/topics/", StringComparison.Ordinal) && principal.EndsWith(".identity.principalId]", StringComparison.Ordinal))
        {
            return "topic";
        }
        if (principal == $"[reference('{primaryIdentity}', '2024-11-30').principalId]")
        {
            return "primary app";
        }
        var replica = identityRegion.Where(i => principal == $"[reference('{i.Key}', '2024-11-30').principalId]").Select(i => i.Value).ToList();
        return replica.Count == 1 ? $"{replica[0]} app" : "unexpected principal " + principal;
    }
}
