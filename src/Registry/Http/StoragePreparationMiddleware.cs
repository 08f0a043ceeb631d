using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Registry.Startup;

namespace Registry.Http;

/// <summary>
/// Holds each request until <see cref="StoragePreparation"/> is done, unless its endpoint answers without storage
/// (<see cref="StoragePreparationEndpoints.ServedBeforeStoragePrepared{TBuilder}"/>) or no endpoint matched. When the
/// preparation fails, the <see cref="StorageNotPreparedException"/> reaches <c>OciFaultMiddleware</c>, which answers
/// 503 UNAVAILABLE with Retry-After.
/// </summary>
public sealed class StoragePreparationMiddleware(RequestDelegate next, StoragePreparation preparation)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (preparation.IsPrepared || context.GetEndpoint() is not { } endpoint
            || endpoint.Metadata.GetMetadata<ServedBeforeStoragePreparedMetadata>() is not null)
        {
            return next(context);
        }
        return WaitThenNextAsync(context);
    }

    private async Task WaitThenNextAsync(HttpContext context)
    {
        await preparation.EnsureAsync(context.RequestAborted);
        await next(context);
    }
}

/// <summary>Marks the endpoints that need nothing from <see cref="StoragePreparation"/>.</summary>
public static class StoragePreparationEndpoints
{
    /// <summary>
    /// Lets requests to these endpoints through before storage is prepared: they must read no storage and use neither
    /// the signing key nor the owner token, or wait for <see cref="StoragePreparation.EnsureAsync"/> themselves.
    /// </summary>
    public static TBuilder ServedBeforeStoragePrepared<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ServedBeforeStoragePreparedMetadata.Instance);
}

internal sealed class ServedBeforeStoragePreparedMetadata
{
    public static readonly ServedBeforeStoragePreparedMetadata Instance = new();
}
