using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Registry.Audit;
using Registry.Storage.Audit;

namespace Registry.Http;

/// <summary>
/// Records pushes, pulls (manifest reads), deletes, token issues and every denial once the response has been sent,
/// through <see cref="AuditWriter"/>'s batches, so the audit write never delays or fails the request it describes.
/// </summary>
public sealed class AuditMiddleware(RequestDelegate next, AuditWriter writer, IOptions<AuditOptions> options, TimeProvider time)
{
    /// <summary>HttpContext item holding the actor's name, set by whoever authenticated the request.</summary>
    public const string ActorKey = "registry.audit.actor";

    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        if (!options.Value.Enabled)
        {
            return;
        }
        var entry = Describe(context);
        if (entry is not null)
        {
            context.Response.OnCompleted(() =>
            {
                writer.Enqueue(entry);
                return Task.CompletedTask;
            });
        }
    }

    private AuditEntry? Describe(HttpContext context)
    {
        var request = context.Request;
        var status = context.Response.StatusCode;
        var denied = status is 401 or 403 or 429;
        string? action = null, repository = null, reference = null;
        if (request.Path.StartsWithSegments("/oauth2"))
        {
            action = "token";
        }
        else if (RegistryRequest.RouteOf(context) is { } route)
        {
            repository = route.Kind == RouteKind.Catalog ? null : route.Name;
            reference = route.Argument.Length > 0 ? route.Argument : null;
            action = (route.Kind, request.Method) switch
            {
                (RouteKind.Manifest, "PUT") => "push",
                (RouteKind.Manifest, "GET") when denied || Random.Shared.NextDouble() < options.Value.PullSampleRate => "pull",
                (RouteKind.Manifest or RouteKind.Blob, "DELETE") => "delete",
                _ when denied => "access",
                _ => null,
            };
        }
        else if (denied)
        {
            action = "access";
        }
        if (action is null)
        {
            return null;
        }
        var actor = context.Items.TryGetValue(ActorKey, out var name) && name is string s ? s : "anonymous";
        return new AuditEntry(
            time.GetUtcNow(), actor, denied ? action + "-denied" : action, repository, reference, status,
            context.Connection.RemoteIpAddress?.ToString(), request.Headers.UserAgent.ToString(), request.Method, request.Path.Value ?? "");
    }
}
