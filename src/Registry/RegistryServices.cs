using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Audit;
using Registry.Auth;
using Registry.Collection;
using Registry.Events;
using Registry.Diagnostics;
using Registry.Http;
using Registry.Jobs;
using Registry.Startup;
using Registry.Storage;
using Registry.Storage.Audit;
using Registry.Storage.Blobs;
using Registry.Storage.Events;
using Registry.Storage.Manifests;
using Registry.Storage.References;
using Registry.Storage.Reviews;
using Registry.Replication;
using Registry.Retention;
using Registry.Storage.Policies;
using Registry.Storage.Quotas;
using Registry.Storage.Tags;
using Registry.Storage.Uploads;

namespace Registry;

/// <summary>Wires the registry into an ASP.NET Core application, whatever hosts it.</summary>
public static class RegistryServices
{
    public static IServiceCollection AddRegistry(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<StorageOptions>(configuration.GetSection(StorageOptions.Section));
        services.Configure<AuthOptions>(configuration.GetSection(AuthOptions.Section));
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<AuthOptions>().ValidateOnStart();
        services.Configure<AuditOptions>(configuration.GetSection(AuditOptions.Section));
        services.Configure<ReadCacheOptions>(configuration.GetSection(ReadCacheOptions.Section));
        services.AddOptions<EventsOptions>().Bind(configuration.GetSection(EventsOptions.Section))
            .PostConfigure(o => o.Source ??= configuration["Registry:PublicUrl"] is { Length: > 0 } url ? url.TrimEnd('/') : "registry")
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<EventsOptions>, EventsOptionsValidator>();
        services.AddOptions<CollectionOptions>().Bind(configuration.GetSection(CollectionOptions.Section))
            .Validate(o => o.Grace >= CollectionOptions.MinimumGrace,
                $"GarbageCollection:Grace must be at least {CollectionOptions.MinimumGrace}: deleted content must outlive every request and cached read that may still use it")
            .Validate(o => o.UnusedBlobGrace >= o.Grace, "GarbageCollection:UnusedBlobGrace must be at least GarbageCollection:Grace")
            .ValidateOnStart();
        services.AddOptions<SoftDeleteOptions>().Bind(configuration.GetSection(SoftDeleteOptions.Section))
            .Validate(o => o.SoftDeleteWindow >= TimeSpan.Zero, "Lifecycle:SoftDeleteWindow must not be negative (0 turns soft delete off)")
            .ValidateOnStart();
        services.Configure<ReplicationOptions>(configuration.GetSection(ReplicationOptions.Section));
        services.Configure<DeleteOptions>(configuration.GetSection(DeleteOptions.Section));
        services.AddOptions<UploadOptions>().Bind(configuration.GetSection(UploadOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<UploadOptions>, UploadOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<RegistryMetrics>();
        // Every storage client picks up the registered pipeline policies (tests add fault injection the same way).
        services.AddSingleton<Azure.Core.Pipeline.HttpPipelinePolicy, StorageCallMetrics>();
        services.AddSingleton<StorageClients>();
        services.AddSingleton<StorageProbe>();
        services.AddSingleton<SasUrlIssuer>();
        services.AddSingleton<BlobRanges>();
        services.AddSingleton<ReadCache>();
        services.AddSingleton<GarbageReviews>();
        services.AddSingleton<Outbox>();
        services.AddSingleton<ContentIndex>();
        services.AddSingleton<ManifestUses>();
        services.AddSingleton<StorageQuotas>();
        services.AddSingleton<QuotaAdmission>();
        services.AddOptions<QuotaOptions>().Bind(configuration.GetSection(QuotaOptions.Section)).ValidateOnStart();
        services.AddSingleton<BlobLinks>();
        services.AddSingleton<StagingBuffers>();
        services.AddSingleton<BlobUploads>();
        services.AddSingleton<ImmutableTags>();
        services.AddSingleton<RepositoryLocks>();
        services.AddSingleton<TagStore>();
        services.AddSingleton<ManifestStore>();
        services.AddSingleton<DeletedManifests>();
        services.AddSingleton<SoftDeletes>();
        services.AddSingleton<Catalog>();
        services.AddSingleton<SigningKeys>();
        services.AddSingleton<AccessTokens>();
        services.AddSingleton<RegistryTokens>();
        services.AddSingleton<TokenDirectory>();
        services.AddSingleton<PublicEndpoint>();
        services.AddSingleton<AccessPolicy>();
        services.AddSingleton<AccessGate>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<EntraIdentities>();
        services.AddSingleton<AnonymousPullRules>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<AuditWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<AuditWriter>());
        // After the audit writer: hosts stop their services in reverse, so a preparation still running is cancelled
        // before the writer's last batch waits for it.
        services.AddSingleton<StartupPreparation>();
        services.AddHostedService(provider => provider.GetRequiredService<StartupPreparation>());
        services.AddSingleton<EventSinks>();
        services.AddSingleton<EventDispatcher>();
        services.AddHostedService(provider => provider.GetRequiredService<EventDispatcher>());
        services.AddSingleton<GarbageCollector>();
        services.AddSingleton<RepositoryRows>();
        services.AddSingleton<UsageCensus>();
        services.AddSingleton<RepositoryRemoval>();
        services.AddSingleton<RetentionPolicies>();
        services.AddSingleton<RetentionRunner>();
        services.AddSingleton<IScheduledJob, UploadCleanupJob>();
        services.AddSingleton<IScheduledJob, GarbageCollectionJob>();
        services.AddSingleton<IScheduledJob, EventSweepJob>();
        services.AddSingleton<IScheduledJob, RetentionJob>();
        services.AddSingleton<IScheduledJob, UsageJob>();
        services.AddSingleton<BlobCopies>();
        services.AddSingleton<PrimaryRegistry>();
        services.AddSingleton<ImageReplicator>();
        services.AddSingleton<ReplicaFallback>();
        services.AddSingleton<ReplicationVerifier>();
        services.AddSingleton<ReplicationQueueReader>();
        services.AddSingleton<ReplicationStatusReader>();
        services.AddSingleton<CredentialMirror>();
        services.AddSingleton<PrimaryForwarder>();
        services.AddSingleton<IScheduledJob, CredentialMirrorJob>();
        services.AddSingleton<ReplicationJob>();
        return services;
    }

    /// <summary>
    /// Adds request telemetry, auditing, the error mapping, the wait for the start's preparation and the routes (<c>/v2/</c>,
    /// the token endpoint, <c>/health</c>).
    /// </summary>
    public static WebApplication UseRegistry(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<RequestTelemetryMiddleware>();
        app.UseMiddleware<AuditMiddleware>();
        app.UseMiddleware<OciFaultMiddleware>();
        app.UseMiddleware<StartupPreparationMiddleware>();
        app.MapRegistry();
        app.MapTokenEndpoint();
        app.MapHealth();
        app.MapReplicationEvents();
        return app;
    }
}
