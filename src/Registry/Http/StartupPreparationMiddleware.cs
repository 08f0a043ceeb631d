using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Registry.Startup;

namespace Registry.Http;

/// <summary>
/// Holds each request until <see cref="StartupPreparation"/> is done, unless its endpoint answers without storage
/// (<see cref="StartupPreparationEndpoints.ServedBeforePrepared{TBuilder}"/>) or no endpoint matched. When the
/// preparation fails, the <see cref="StartupNotPreparedException"/> reaches <c>OciFaultMiddleware</c>, which answers
/// 503 UNAVAILABLE with Retry-After.
/// </summary>
public sealed class StartupPreparationMiddleware(RequestDelegate next, StartupPreparation preparation)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (preparation.IsPrepared || context.GetEndpoint() is not { } endpoint
            || endpoint.Metadata.GetMetadata<ServedBeforePreparedMetadata>() is not null)
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

/// <summary>Marks the endpoints that need nothing from <see cref="StartupPreparation"/>.</summary>
public static class StartupPreparationEndpoints
{
    /// <summary>
    /// Lets requests to these endpoints through before storage is prepared: they must read no storage and use neither
    /// the signing key nor the owner token, or wait for <see cref="StartupPreparation.EnsureAsync"/> themselves.
    /// </summary>
    public static TBuilder ServedBeforePrepared<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ServedBeforePreparedMetadata.Instance);
}

internal sealed class ServedBeforePreparedMetadata
{
    public static readonly ServedBeforePreparedMetadata Instance = new();
}
