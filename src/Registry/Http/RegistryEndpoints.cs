using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Registry.Auth;
using Registry.Oci;
using Registry.Replication;
using Registry.Startup;
using Registry.Storage.Policies;

namespace Registry.Http;

/// <summary>
/// The OCI Distribution routes. <c>/v2/</c> answers the version check; everything below it goes through one
/// catch-all that parses the path from the right (<see cref="RegistryRoute"/>) and hands it to a named handler.
/// </summary>
public static class RegistryEndpoints
{
    /// <summary>Query parameters a request may repeat: a PUT of a manifest by digest names each tag with one <c>tag</c>.</summary>
    private static readonly IReadOnlySet<string> MultiValuedQuery = new HashSet<string>(StringComparer.Ordinal) { "tag" };

    public static IEndpointRouteBuilder MapRegistry(this IEndpointRouteBuilder endpoints)
    {
        var v2 = endpoints.MapGroup("/v2");
        v2.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], ApiVersion).ServedBeforePrepared();
        v2.MapMethods("/{**path}", [HttpMethods.Get, HttpMethods.Head, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Post, HttpMethods.Delete], DispatchAsync);
        return endpoints;
    }

    /// <summary>
    /// <c>GET /v2/</c>: the registry speaks Distribution API v2 (to any authenticated caller). Without credentials it
    /// answers the challenge from memory, even while storage is still being prepared: the first answer of a cold start.
    /// </summary>
    public static async Task ApiVersion(HttpContext context)
    {
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        if (!StringValues.IsNullOrEmpty(context.Request.Headers.Authorization))
        {
            // Credentials are checked against the owner token and the signing key.
            await context.RequestServices.GetRequiredService<StartupPreparation>().EnsureAsync(context.RequestAborted);
        }
        if (!await context.RequestServices.GetRequiredService<AccessGate>().AuthenticateAsync(context))
        {
            return;
        }
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = 2;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync("{}"u8.ToArray());
        }
    }

    private static async Task DispatchAsync(HttpContext context, string path)
    {
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        var request = RegistryRequest.Start(context, path);
        var route = request.Route;
        var method = context.Request.Method;
        if (route is null)
        {
            await OciResponses.ErrorAsync(context, Failure.NameUnknown, "no such endpoint");
            return;
        }
        // The query string is read once, strictly, for every route; handlers take their parameters from it.
        var query = RequestParameters.FromQuery(context.Request, MultiValuedQuery, out var problem);
        if (query is null)
        {
            await OciResponses.WriteErrorAsync(context, QueryError(problem!));
            return;
        }
        if (context.Request.Headers.Accept.Any(value => RequestParameters.HasControlCharacter(value)))
        {
            // Kestrel has already refused NUL and non-ASCII bytes; an Accept that merely lists other types is the
            // manifest handler's 404.
            await OciResponses.ErrorAsync(context, Failure.Unsupported, "the Accept header contains a control character");
            return;
        }
        var gate = context.RequestServices.GetRequiredService<AccessGate>();
        var policy = context.RequestServices.GetRequiredService<AccessPolicy>();
        if (route.Kind == RouteKind.Catalog)
        {
            if (!HttpMethods.IsGet(method))
            {
                await MethodNotAllowed(context);
                return;
            }
            // Any signed-in caller may list; the owner sees every repository, anyone else only those they may pull.
            var caller = await policy.WithAnonymousPullAsync(await gate.IdentifyAsync(context), context.RequestAborted);
            var listing = policy.Enabled && caller.Name is null
                ? AccessDecision.Refuse(caller, new ResourceAccess("registry", "catalog", [Actions.All]))
                : AccessDecision.Allow(caller);
            if (await gate.ApplyAsync(context, listing))
            {
                request.Caller = caller;
                request.MaySee = policy.AllowsCatalog(caller) ? static _ => true : repository => policy.Allows(caller, repository, Actions.Pull);
                await ListingHandlers.CatalogAsync(context, query);
            }
            return;
        }
        var isRead = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        if (!RepositoryName.TryParse(route.Name, out var name))
        {
            await (isRead
                ? OciResponses.ErrorAsync(context, Failure.NameUnknown, "invalid repository name")
                : OciResponses.ErrorAsync(context, Failure.NameInvalid, $"repository names match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)* and are at most {RepositoryName.MaxLength} characters"));
            return;
        }
        if (HttpMethods.IsDelete(method) && route.Kind is RouteKind.Manifest or RouteKind.Blob
            && !context.RequestServices.GetRequiredService<IOptions<DeleteOptions>>().Value.DeletesEnabled)
        {
            await OciResponses.ErrorAsync(context, Failure.MethodNotAllowed, "deletes are disabled on this registry (Registry:DeletesEnabled=false)");
            return;
        }
        if (!isRead && context.RequestServices.GetRequiredService<IOptions<ReplicationOptions>>().Value.IsReplica)
        {
            // Only replication writes a replica's storage; what clients write goes to the primary, which checks access.
            var forwarder = context.RequestServices.GetRequiredService<PrimaryForwarder>();
            if (forwarder.Enabled)
            {
                await forwarder.ForwardAsync(context);
                return;
            }
            await OciResponses.ErrorAsync(context, Failure.MethodNotAllowed,
                "this registry is a read replica and knows no Replication:PrimaryUrl to forward writes to: push and delete at the primary");
            return;
        }
        if (!isRead && !(route.Kind == RouteKind.Upload && HttpMethods.IsDelete(method))
            && await context.RequestServices.GetRequiredService<RepositoryLocks>().MatchAsync(name, context.RequestAborted) is { } locked)
        {
            // Cancelling an upload stays allowed: it frees what the session holds and writes nothing.
            await OciResponses.ErrorAsync(context, Failure.Denied, RepositoryLocks.Refusal(name, locked));
            return;
        }
        Func<Task>? handler = (route.Kind, method) switch
        {
            (RouteKind.Tags, "GET") => () => ListingHandlers.TagsAsync(context, name, query),
            (RouteKind.Referrers, "GET") => () => ListingHandlers.ReferrersAsync(context, name, route.Argument, query),
            (RouteKind.TagHistory, "GET") => () => ListingHandlers.TagHistoryAsync(context, name, route.Argument, query),
            (RouteKind.Manifest, "GET" or "HEAD") => () => ManifestHandlers.GetAsync(context, name, route.Argument),
            (RouteKind.Manifest, "PUT") => () => ManifestHandlers.PutAsync(context, name, route.Argument, query),
            (RouteKind.Manifest, "DELETE") => () => ManifestHandlers.DeleteAsync(context, name, route.Argument),
            (RouteKind.Blob, "GET" or "HEAD") => () => BlobHandlers.GetAsync(context, name, route.Argument),
            (RouteKind.Blob, "DELETE") => () => BlobHandlers.DeleteAsync(context, name, route.Argument),
            (RouteKind.UploadStart, "POST") => () => UploadHandlers.StartAsync(context, name, query),
            (RouteKind.Upload, "PATCH") => () => UploadHandlers.PatchAsync(context, name, route.Argument),
            (RouteKind.Upload, "PUT") => () => UploadHandlers.PutAsync(context, name, route.Argument, query),
            (RouteKind.Upload, "GET") => () => UploadHandlers.StatusAsync(context, name, route.Argument),
            (RouteKind.Upload, "DELETE") => () => UploadHandlers.CancelAsync(context, name, route.Argument),
            _ => null,
        };
        if (handler is null)
        {
            await MethodNotAllowed(context);
            return;
        }
        // Authorization comes before any storage read: a refused request learns nothing about what exists.
        var decision = await policy.DecideAsync(await gate.IdentifyAsync(context), name.Value, RequiredActions(route.Kind, method), context.RequestAborted);
        if (!await gate.ApplyAsync(context, decision))
        {
            return;
        }
        request.Caller = decision.Caller;
        if (route.Kind == RouteKind.UploadStart && query["mount"] is not null && RepositoryName.TryParse(query["from"], out var source))
        {
            // A mount also needs pull on its source; without it the spec's fallback is a plain upload, never a link.
            var withAnonymous = await policy.WithAnonymousPullAsync(decision.Caller, context.RequestAborted);
            request.MaySourceMount = policy.Allows(withAnonymous, source.Value, Actions.Pull);
        }
        await handler();
    }

    /// <summary>
    /// What a request needs on its repository: listings need metadata-read (which pull implies), content reads pull,
    /// writes pull and push, deletes delete.
    /// </summary>
    private static string[] RequiredActions(RouteKind kind, string method) => (kind, method) switch
    {
        (RouteKind.Tags or RouteKind.Referrers, _) => [Actions.MetadataRead],
        (RouteKind.Manifest or RouteKind.Blob, "DELETE") => [Actions.Delete],
        (RouteKind.Manifest, "PUT") or (RouteKind.UploadStart or RouteKind.Upload, _) => [Actions.Pull, Actions.Push],
        _ => [Actions.Pull],
    };

    /// <summary>
    /// A query string <see cref="RequestParameters"/> refuses, as the OCI code of the parameter at fault: a digest
    /// (<c>digest</c>, <c>mount</c>) is DIGEST_INVALID, a repository (<c>from</c>) NAME_INVALID, anything else
    /// UNSUPPORTED (the OCI list has no code for a malformed parameter).
    /// </summary>
    private static OciError QueryError(ParameterProblem problem) => problem.Name switch
    {
        "digest" or "mount" => new OciError(Failure.DigestInvalid, problem.Detail),
        "from" => new OciError(Failure.NameInvalid, problem.Detail),
        _ => new OciError(Failure.Unsupported, problem.Detail),
    };

    private static Task MethodNotAllowed(HttpContext context) =>
        OciResponses.ErrorAsync(context, Failure.MethodNotAllowed, $"{context.Request.Method} is not supported on this endpoint");
}
