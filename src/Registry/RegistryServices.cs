using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Registry.Audit;
using Registry.Auth;
using Registry.Http;
using Registry.Storage;
using Registry.Storage.Blobs;
using Registry.Storage.Manifests;
using Registry.Storage.Uploads;

namespace Registry;

/// <summary>Wires the registry into an ASP.NET Core application, whatever hosts it.</summary>
public static class RegistryServices
{
    public static IServiceCollection AddRegistry(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<StorageOptions>(configuration.GetSection(StorageOptions.Section));
        services.Configure<AuthOptions>(configuration.GetSection(AuthOptions.Section));
        services.Configure<AuditOptions>(configuration.GetSection(AuditOptions.Section));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<StorageClients>();
        services.AddSingleton<SasUrlIssuer>();
        services.AddSingleton<ContentIndex>();
        services.AddSingleton<BlobLinks>();
        services.AddSingleton<BlobUploads>();
        services.AddSingleton<ManifestStore>();
        services.AddSingleton<Catalog>();
        services.AddSingleton<SigningKeys>();
        services.AddSingleton<AccessTokens>();
        services.AddSingleton<RegistryTokens>();
        services.AddSingleton<PublicEndpoint>();
        services.AddSingleton<AccessControl>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<EntraIdentities>();
        services.AddSingleton<AnonymousPullRules>();
        services.AddSingleton<AuditLog>();
        return services;
    }

    /// <summary>Adds the error mapping and the <c>/v2/</c> routes.</summary>
    public static WebApplication UseRegistry(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<AuditMiddleware>();
        app.UseMiddleware<OciFaultMiddleware>();
        app.MapRegistry();
        app.MapTokenEndpoint();
        return app;
    }
}
