using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Manifests;
using Registry.Storage.Tags;

namespace Registry.Http;

/// <summary>Content discovery: tag lists, the catalog and the referrers API.</summary>
public static class ListingHandlers
{
    /// <summary>Largest page a client gets, whatever <c>n</c> asks for; a larger <c>n</c> is clamped and a Link is sent.</summary>
    public const int MaxPage = 1000;

    public static async Task TagsAsync(HttpContext context, RepositoryName name, RequestParameters query)
    {
        if (ParsePaging(query, out var n, out var last, Tag.MaxLength) is { } invalid)
        {
            await OciResponses.WriteErrorAsync(context, invalid);
            return;
        }
        var tags = context.RequestServices.GetRequiredService<TagStore>();
        var path = $"/v2/{name}/tags/list";
        Func<Task<bool>> unknown = async () => last is null && !await context.RequestServices.GetRequiredService<Catalog>().ExistsAsync(name, context.RequestAborted);
        if (n is not { } limit)
        {
            await WriteListAsync(context, "tags", name.Value, path, null, last, tags.ListAsync(name, last, int.MaxValue, context.RequestAborted), unknown);
            return;
        }
        // One query per page: the page and whether another follows come from the same answer (KeyRange.PageAsync).
        var page = await tags.PageAsync(name, last, limit, context.RequestAborted);
        if (page.Keys.Count == 0 && await unknown())
        {
            await OciResponses.ErrorAsync(context, Failure.NameUnknown, $"repository {name} is not known to the registry");
            return;
        }
        await WritePageAsync(context, "tags", name.Value, path, limit, page.Keys, page.More);
    }

    public static async Task CatalogAsync(HttpContext context, RequestParameters query)
    {
        if (ParsePaging(query, out var n, out var last, RepositoryName.MaxLength) is { } invalid)
        {
            await OciResponses.WriteErrorAsync(context, invalid);
            return;
        }
        var catalog = context.RequestServices.GetRequiredService<Catalog>();
        // Which repositories the caller may see was decided with its access (RegistryEndpoints).
        var maySee = context.Features.Get<RegistryRequest>()!.MaySee;
        var visible = catalog.ListAsync(last, int.MaxValue, context.RequestAborted).Where(maySee);
        await WriteListAsync(context, "repositories", null, "/v2/_catalog", n, last,
            n is { } limit ? visible.Take(limit + 1) : visible, null);
    }

    public static async Task ReferrersAsync(HttpContext context, RepositoryName name, string reference, RequestParameters query)
    {
        if (!BlobHandlers.TryDigest(reference, out var subject, out var error))
        {
            await OciResponses.WriteErrorAsync(context, error);
            return;
        }
        var artifactType = query["artifactType"];
        if (string.IsNullOrEmpty(artifactType))
        {
            artifactType = null;
        }
        else if (!MediaTypes.IsWellFormed(artifactType))
        {
            // Pushes are held to the same grammar, so a filter outside it could only ever match nothing.
            await OciResponses.ErrorAsync(context, Failure.Unsupported,
                $"artifactType must be a media type such as 'application/vnd.example+json' (at most {MediaTypes.MaxLength} characters)");
            return;
        }
        var referrers = await context.RequestServices.GetRequiredService<ManifestStore>()
            .ReferrersAsync(name, subject, artifactType, context.RequestAborted);
        var response = context.Response;
        response.ContentType = MediaTypes.OciIndex;
        if (artifactType is not null)
        {
            response.Headers["OCI-Filters-Applied"] = "artifactType";
        }
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        json.WriteNumber("schemaVersion", 2);
        json.WriteString("mediaType", MediaTypes.OciIndex);
        json.WriteStartArray("manifests");
        foreach (var referrer in referrers)
        {
            json.WriteStartObject();
            json.WriteString("mediaType", referrer.MediaType);
            json.WriteString("digest", referrer.Digest.Value);
            json.WriteNumber("size", referrer.Size);
            if (referrer.ArtifactType is not null)
            {
                json.WriteString("artifactType", referrer.ArtifactType);
            }
            if (referrer.AnnotationsJson is not null)
            {
                json.WritePropertyName("annotations");
                json.WriteRawValue(referrer.AnnotationsJson, skipInputValidation: true);
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>
    /// <c>GET /v2/&lt;name&gt;/_history/tags/&lt;tag&gt;[?n=N]</c>, this registry's extension: the tag's moves, newest first
    /// (at most <c>n</c>, default 100), as <c>{"name","tag","history":[{"action","digest","previous","actor","time"}]}</c>;
    /// <c>digest</c> is absent on a delete, <c>previous</c> on the move that created the tag.
    /// </summary>
    public static async Task TagHistoryAsync(HttpContext context, RepositoryName name, string reference, RequestParameters query)
    {
        if (!Tag.TryParse(reference, out var tag))
        {
            await OciResponses.ErrorAsync(context, Failure.ManifestInvalid, "the reference is not a tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})");
            return;
        }
        if (ParsePaging(query, out var n, out _, Tag.MaxLength) is { } invalid)
        {
            await OciResponses.WriteErrorAsync(context, invalid);
            return;
        }
        var moves = await context.RequestServices.GetRequiredService<TagStore>().HistoryAsync(name, tag, n ?? 100, context.RequestAborted);
        if (moves.Count == 0 && await context.RequestServices.GetRequiredService<TagStore>().FindAsync(name, tag, context.RequestAborted) is null)
        {
            await OciResponses.ErrorAsync(context, Failure.ManifestUnknown, $"{tag} is not a tag of repository {name} and has no history");
            return;
        }
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("name", name.Value);
        json.WriteString("tag", tag.Value);
        json.WriteStartArray("history");
        foreach (var move in moves)
        {
            json.WriteStartObject();
            json.WriteString("action", move.Action);
            if (move.Digest is { } digest)
            {
                json.WriteString("digest", digest.Value);
            }
            if (move.Previous is { } previous)
            {
                json.WriteString("previous", previous.Value);
            }
            if (move.Actor is not null)
            {
                json.WriteString("actor", move.Actor);
            }
            json.WriteString("time", move.At.UtcDateTime);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>
    /// Streams <c>{"name":…,"&lt;field&gt;":[…]}</c> from <paramref name="items"/>, which yields one item past the page
    /// when there is a next page; then a <c>Link: &lt;…&gt;; rel="next"</c> header is sent. Items are written as
    /// they arrive, so memory stays at one storage page however long the list.
    /// </summary>
    private static async Task WriteListAsync(
        HttpContext context, string field, string? name, string path, int? n, string? last,
        IAsyncEnumerable<string> items, Func<Task<bool>>? unknownWhenEmpty)
    {
        await using var enumerator = items.GetAsyncEnumerator(context.RequestAborted);
        var hasFirst = await enumerator.MoveNextAsync();
        if (!hasFirst && unknownWhenEmpty is not null && await unknownWhenEmpty())
        {
            await OciResponses.ErrorAsync(context, Failure.NameUnknown, $"repository {name} is not known to the registry");
            return;
        }
        var page = new List<string>();
        if (hasFirst)
        {
            page.Add(enumerator.Current);
        }
        if (n is { } limit)
        {
            // A bounded page: read it (at most MaxPage + 1 items) so the Link header can precede the body.
            while (page.Count <= limit && await enumerator.MoveNextAsync())
            {
                page.Add(enumerator.Current);
            }
            var more = page.Count > limit;
            if (more)
            {
                page.RemoveRange(limit, page.Count - limit);
            }
            await WritePageAsync(context, field, name, path, limit, page, more);
            return;
        }
        context.Response.ContentType = "application/json";
        await using var json = StartList(context.Response, field, name, page);
        if (hasFirst)
        {
            while (await enumerator.MoveNextAsync())
            {
                json.WriteStringValue(enumerator.Current);
                if (json.BytesPending > 16 * 1024)
                {
                    await json.FlushAsync(context.RequestAborted);
                }
            }
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>
    /// Writes one bounded page, with a <c>Link: &lt;…&gt;; rel="next"</c> header when <paramref name="more"/> (and the
    /// page is not empty: <c>n=0</c> gets no Link).
    /// </summary>
    private static async Task WritePageAsync(
        HttpContext context, string field, string? name, string path, int limit, IReadOnlyList<string> page, bool more)
    {
        var response = context.Response;
        response.ContentType = "application/json";
        if (more && page.Count > 0)
        {
            response.Headers.Link = $"<{path}?n={limit}&last={Uri.EscapeDataString(page[^1])}>; rel=\"next\"";
        }
        await using var json = StartList(response, field, name, page);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>A writer on the response body that has written <c>{"name":…,"&lt;field&gt;":[</c> and <paramref name="first"/>.</summary>
    private static Utf8JsonWriter StartList(HttpResponse response, string field, string? name, IReadOnlyList<string> first)
    {
        var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        if (name is not null)
        {
            json.WriteString("name", name);
        }
        json.WriteStartArray(field);
        foreach (var item in first)
        {
            json.WriteStringValue(item);
        }
        return json;
    }

    /// <summary>Reads <c>n</c> and <c>last</c>; the error when either is malformed.</summary>
    private static OciError? ParsePaging(RequestParameters query, out int? n, out string? last, int maxLast)
    {
        n = null;
        last = query["last"];
        var nText = query["n"] ?? "";
        if (nText.Length > 0)
        {
            if (!nText.All(char.IsAsciiDigit))
            {
                return new OciError(Failure.Unsupported, $"{{\"n\":\"{nText[..Math.Min(nText.Length, 32)]}\"}} is not a non-negative integer");
            }
            n = nText.Length > 9 ? MaxPage : Math.Min(int.Parse(nText, CultureInfo.InvariantCulture), MaxPage);
        }
        if (last is { Length: > 0 } && last.Length > maxLast)
        {
            return new OciError(Failure.Unsupported, $"last may be at most {maxLast} characters");
        }
        if (string.IsNullOrEmpty(last))
        {
            last = null;
        }
        return null;
    }
}
