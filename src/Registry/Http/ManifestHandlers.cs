using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Registry.Auth;
using Registry.Events;
using Registry.Oci;
using Registry.Replication;
using Registry.Storage.Manifests;
using Registry.Storage.Tags;

namespace Registry.Http;

/// <summary>
/// <c>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</c>: by tag or by digest. A PUT by digest may name tags to point at
/// it (<c>?tag=a&amp;tag=b</c>, the distribution spec's draft form), each answered with an <c>OCI-Tag</c> header.
/// </summary>
public static class ManifestHandlers
{
    /// <summary>The most tags one PUT by digest may name.</summary>
    public const int MaxTagsPerPush = 10;

    public static async Task GetAsync(HttpContext context, RepositoryName name, string reference)
    {
        var store = context.RequestServices.GetRequiredService<ManifestStore>();
        var withContent = HttpMethods.IsGet(context.Request.Method);
        var parsed = ManifestReference.Parse(reference);
        var manifest = parsed switch
        {
            { Tag: { } tag } => await store.FindByTagAsync(name, tag, withContent, context.RequestAborted),
            { Digest: { } digest } => await store.FindByDigestAsync(name, digest, withContent, context.RequestAborted),
            _ => null,
        };
        manifest ??= await context.RequestServices.GetRequiredService<ReplicaFallback>().FindManifestAsync(name, parsed, context.RequestAborted);
        if (manifest is null)
        {
            await OciResponses.ErrorAsync(context, Failure.ManifestUnknown, $"{reference} is not a manifest of repository {name}");
            return;
        }
        if (!Accepts(context.Request.Headers.Accept, manifest.MediaType))
        {
            await OciResponses.ErrorAsync(context, Failure.ManifestUnknown,
                $"the manifest is {manifest.MediaType}, which the request's Accept header does not list");
            return;
        }
        var response = context.Response;
        response.ContentType = manifest.MediaType;
        response.ContentLength = manifest.Size;
        response.Headers[OciResponses.DockerContentDigest] = manifest.Digest.Value;
        response.Headers.ETag = $"\"{manifest.Digest}\"";
        if (withContent)
        {
            await response.Body.WriteAsync(manifest.Content, context.RequestAborted);
        }
    }

    public static async Task PutAsync(HttpContext context, RepositoryName name, string reference, RequestParameters query)
    {
        var parsed = ManifestReference.Parse(reference);
        var (tag, expected) = (parsed.Tag, parsed.Digest);
        if (tag is null && expected is null)
        {
            await OciResponses.WriteErrorAsync(context,
                reference.StartsWith("sha256:", StringComparison.Ordinal) || reference.StartsWith("sha512:", StringComparison.Ordinal)
                    ? parsed.Problem
                    : new OciError(Failure.ManifestInvalid, "the reference is neither a tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}) nor a sha256/sha512 digest"));
            return;
        }
        if (QueryTags(query, tag) is not { } tags)
        {
            await OciResponses.ErrorAsync(context, Failure.ManifestInvalid, TagsProblem(query, tag));
            return;
        }

        var body = await ReadBoundedAsync(context);
        if (body is null)
        {
            await OciResponses.ErrorAsync(context, Failure.ManifestTooLarge,
                $"a manifest may be at most {ManifestParser.MaxManifestBytes} bytes");
            return;
        }
        var digest = Digest.Compute(body, expected?.Algorithm ?? Digest.Sha256);
        if (expected is { } e && e != digest)
        {
            await OciResponses.ErrorAsync(context, Failure.DigestInvalid, $"the manifest's digest is {digest}, not {e}");
            return;
        }
        var document = ManifestParser.Parse(body, context.Request.ContentType, out var problems);
        if (document is null)
        {
            await OciResponses.ErrorAsync(context, Failure.ManifestInvalid, string.Join("; ", problems.Take(20)));
            return;
        }
        var store = context.RequestServices.GetRequiredService<ManifestStore>();
        var (origin, createOnly) = (RequestOrigin.Of(context), MayOnlyCreateTags(context, name));
        var stored = await store.PutAsync(name, tag ?? (tags.Count > 0 ? tags[0] : null), digest, document, body, origin, context.RequestAborted, createOnly);
        // Further tags of a PUT by digest, in order: one that is refused stops the rest, and its error names it.
        var refused = stored.Error;
        foreach (var more in tags.Skip(1))
        {
            if (refused is not null)
            {
                break;
            }
            refused = (await store.RetagAsync(name, more, digest, TagMoveActions.Push, origin, context.RequestAborted, createOnly)).Error;
        }
        if (stored.Succeeded)
        {
            context.RequestServices.GetRequiredService<EventDispatcher>().Notify(name);
        }
        if (refused is not null)
        {
            await OciResponses.WriteErrorAsync(context, refused);
            return;
        }
        var response = context.Response;
        foreach (var named in tags)
        {
            response.Headers.Append("OCI-Tag", named.Value);
        }
        response.StatusCode = StatusCodes.Status201Created;
        response.ContentLength = 0;
        response.Headers.Location = $"/v2/{name}/manifests/{digest}";
        response.Headers[OciResponses.DockerContentDigest] = digest.Value;
        if (document.Subject is { } subject)
        {
            response.Headers["OCI-Subject"] = subject.Digest.Value;
        }
    }

    /// <summary>The tags a PUT names in its query: none for a PUT by tag; null when one is malformed or there are too many.</summary>
    private static List<Tag>? QueryTags(RequestParameters query, Tag? byTag)
    {
        var texts = query.All("tag");
        if (texts.Count > 0 && (byTag is not null || texts.Count > MaxTagsPerPush))
        {
            return null;
        }
        var tags = new List<Tag>();
        foreach (var text in texts)
        {
            if (!Tag.TryParse(text, out var parsed))
            {
                return null;
            }
            tags.Add(parsed);
        }
        return [.. tags.Distinct()];
    }

    private static string TagsProblem(RequestParameters query, Tag? byTag) =>
        byTag is not null ? $"?tag= names tags for a PUT by digest; this PUT is by tag {byTag}"
        : query.All("tag").Count > MaxTagsPerPush ? $"a PUT may name at most {MaxTagsPerPush} tags"
        : $"?tag= must be tags ([a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}): {string.Join(", ", query.All("tag").Where(t => !Tag.TryParse(t, out _)))} is not";

    /// <summary>Whether the caller holds create but not push on the repository (RELIABILITY row 47): then it may create tags, never move one.</summary>
    private static bool MayOnlyCreateTags(HttpContext context, RepositoryName name)
    {
        var policy = context.RequestServices.GetRequiredService<AccessPolicy>();
        return policy.Enabled && context.Features.Get<RegistryRequest>()?.Caller is { } caller && !policy.Allows(caller, name.Value, Actions.Push);
    }

    public static async Task DeleteAsync(HttpContext context, RepositoryName name, string reference)
    {
        var store = context.RequestServices.GetRequiredService<ManifestStore>();
        var parsed = ManifestReference.Parse(reference);
        var refused = parsed switch
        {
            { Tag: { } tag } => (await context.RequestServices.GetRequiredService<TagStore>().UntagAsync(name, tag, RequestOrigin.Of(context), context.RequestAborted)).Error,
            { Digest: { } digest } => (await store.DeleteAsync(name, digest, RequestOrigin.Of(context), context.RequestAborted)).Error,
            _ => parsed.Problem,
        };
        if (refused is not null)
        {
            await OciResponses.WriteErrorAsync(context, refused);
            return;
        }
        context.RequestServices.GetRequiredService<EventDispatcher>().Notify(name);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }

    /// <summary>Reads the body, stopping after the limit + 1 bytes; null when it is over the limit.</summary>
    private static async Task<byte[]?> ReadBoundedAsync(HttpContext context)
    {
        const int limit = ManifestParser.MaxManifestBytes;
        if (context.Request.ContentLength > limit)
        {
            return null;
        }
        // This read stops at the limit itself.
        RequestBodyLimit.Set(context, null);
        var buffer = new byte[Math.Min(context.Request.ContentLength ?? 64 * 1024, limit) + 1];
        var filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                if (buffer.Length > limit)
                {
                    return null;
                }
                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, limit + 1));
            }
            var read = await context.Request.Body.ReadAsync(buffer.AsMemory(filled), context.RequestAborted);
            if (read == 0)
            {
                break;
            }
            filled += read;
        }
        return filled == buffer.Length ? buffer : buffer[..filled];
    }

    /// <summary>True when the Accept header is absent, has a wildcard, or lists <paramref name="mediaType"/>.</summary>
    private static bool Accepts(Microsoft.Extensions.Primitives.StringValues accept, string mediaType)
    {
        if (accept.Count == 0)
        {
            return true;
        }
        foreach (var header in accept)
        {
            foreach (var item in (header ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var type = ManifestParser.StripParameters(item);
                if (type is "*/*" or "application/*" || string.Equals(type, mediaType, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }
        return false;
    }
}
