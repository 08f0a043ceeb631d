using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Registry.Oci;

namespace Registry.Http;

/// <summary>
/// The OCI Distribution routes. <c>/v2/</c> answers the version check; everything below it goes through one
/// catch-all that parses the path from the right (<see cref="RegistryRoute"/>) and hands it to a named handler.
/// </summary>
public static class RegistryEndpoints
{
    public static IEndpointRouteBuilder MapRegistry(this IEndpointRouteBuilder endpoints)
    {
        var v2 = endpoints.MapGroup("/v2");
        v2.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], ApiVersion);
        v2.MapMethods("/{**path}", [HttpMethods.Get, HttpMethods.Head, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Post, HttpMethods.Delete], DispatchAsync);
        return endpoints;
    }

    /// <summary><c>GET /v2/</c>: the registry speaks Distribution API v2.</summary>
    public static Task ApiVersion(HttpContext context)
    {
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = 2;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.Body.WriteAsync("{}"u8.ToArray()).AsTask();
    }

    private static Task DispatchAsync(HttpContext context, string path)
    {
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        var route = RegistryRoute.Parse(path);
        var method = context.Request.Method;
        if (route is null)
        {
            return OciResponses.ErrorAsync(context, OciErrorCode.NameUnknown, "no such endpoint", 404);
        }
        if (route.Kind == RouteKind.Catalog)
        {
            return HttpMethods.IsGet(method) ? ListingHandlers.CatalogAsync(context) : MethodNotAllowed(context);
        }
        var isRead = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        if (!RepositoryName.TryParse(route.Name, out var name))
        {
            return isRead
                ? OciResponses.ErrorAsync(context, OciErrorCode.NameUnknown, "invalid repository name", 404)
                : OciResponses.ErrorAsync(context, OciErrorCode.NameInvalid, $"repository names match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)* and are at most {RepositoryName.MaxLength} characters");
        }
        return (route.Kind, method) switch
        {
            (RouteKind.Tags, "GET") => ListingHandlers.TagsAsync(context, name),
            (RouteKind.Referrers, "GET") => ListingHandlers.ReferrersAsync(context, name, route.Argument),
            (RouteKind.Manifest, "GET" or "HEAD") => ManifestHandlers.GetAsync(context, name, route.Argument),
            (RouteKind.Manifest, "PUT") => ManifestHandlers.PutAsync(context, name, route.Argument),
            (RouteKind.Manifest, "DELETE") => ManifestHandlers.DeleteAsync(context, name, route.Argument),
            (RouteKind.Blob, "GET" or "HEAD") => BlobHandlers.GetAsync(context, name, route.Argument),
            (RouteKind.Blob, "DELETE") => BlobHandlers.DeleteAsync(context, name, route.Argument),
            (RouteKind.UploadStart, "POST") => UploadHandlers.StartAsync(context, name),
            (RouteKind.Upload, "PATCH") => UploadHandlers.PatchAsync(context, name, route.Argument),
            (RouteKind.Upload, "PUT") => UploadHandlers.PutAsync(context, name, route.Argument),
            (RouteKind.Upload, "GET") => UploadHandlers.StatusAsync(context, name, route.Argument),
            (RouteKind.Upload, "DELETE") => UploadHandlers.CancelAsync(context, name, route.Argument),
            _ => MethodNotAllowed(context),
        };
    }

    private static Task MethodNotAllowed(HttpContext context) =>
        OciResponses.ErrorAsync(context, OciErrorCode.Unsupported, $"{context.Request.Method} is not supported on this endpoint", 405);
}
