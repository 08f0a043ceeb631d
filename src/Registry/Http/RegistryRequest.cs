using Microsoft.AspNetCore.Http;
using Registry.Auth;

namespace Registry.Http;

/// <summary>
/// What the dispatcher learned about a <c>/v2/</c> request, kept as a request feature so the route is parsed once and
/// access decided once: telemetry and audit read the route, handlers the caller and what it may do beyond its own
/// repository (a mount's source, the catalog's repositories).
/// </summary>
public sealed class RegistryRequest
{
    private RegistryRequest(RegistryRoute? route) => Route = route;

    /// <summary>The parsed path after <c>/v2/</c>; null when it matches no endpoint.</summary>
    public RegistryRoute? Route { get; }

    /// <summary>The caller, once access was decided.</summary>
    public Caller? Caller { get; set; }

    /// <summary>For an upload start with <c>mount</c> and <c>from</c>: whether the caller may pull from the source.</summary>
    public bool MaySourceMount { get; set; }

    /// <summary>For the catalog: which repositories the caller may see.</summary>
    public Func<string, bool> MaySee { get; set; } = static _ => false;

    /// <summary>Parses <paramref name="path"/> (after <c>/v2/</c>) once and keeps it on the request.</summary>
    public static RegistryRequest Start(HttpContext context, string path)
    {
        var request = new RegistryRequest(RegistryRoute.Parse(path));
        context.Features.Set(request);
        return request;
    }

    /// <summary>The request's route: the one the dispatcher parsed, or parsed here from the path when it did not run.</summary>
    public static RegistryRoute? RouteOf(HttpContext context)
    {
        if (context.Features.Get<RegistryRequest>() is { } known)
        {
            return known.Route;
        }
        return context.Request.Path.StartsWithSegments("/v2", out var rest) && rest.Value is { Length: > 1 } tail
            ? RegistryRoute.Parse(tail[1..])
            : null;
    }
}
