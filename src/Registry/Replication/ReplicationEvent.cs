using System.Text.Json;
using Registry.Oci;

namespace Registry.Replication;

/// <summary>
/// What replication needs of one registry event (a CloudEvent as <c>Registry.Events.RegistryEvents</c> writes it):
/// which repository changed, the manifest digest, and the tag when the change was a tag's. Only where to look: the
/// replicator reads what to write from the primary, so an event applied late or twice changes nothing it should not.
/// </summary>
public sealed record ReplicationEvent(string Id, bool IsDelete, RepositoryName Repository, Digest? Digest, Tag? Tag)
{
    /// <summary>The event in <paramref name="element"/>, or null with the reason when it is not a registry event.</summary>
    public static ReplicationEvent? Parse(JsonElement element, out string? problem)
    {
        problem = null;
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
            || !data.TryGetProperty("target", out var target) || target.ValueKind != JsonValueKind.Object)
        {
            problem = "not a registry event: no data.target object";
            return null;
        }
        var id = Text(element, "id") ?? "";
        var action = Text(data, "action");
        if (action is not ("push" or "delete"))
        {
            problem = $"event {id}: data.action is {action ?? "missing"}, not push or delete";
            return null;
        }
        if (!RepositoryName.TryParse(Text(target, "repository"), out var repository))
        {
            problem = $"event {id}: data.target.repository is not a repository name";
            return null;
        }
        Digest? digest = null;
        if (Text(target, "digest") is { } digestText)
        {
            if (Oci.Digest.TryParse(digestText, out var parsed) != DigestParse.Valid)
            {
                problem = $"event {id}: data.target.digest is not a digest";
                return null;
            }
            digest = parsed;
        }
        Tag? tag = null;
        if (Text(target, "tag") is { } tagText)
        {
            if (!Oci.Tag.TryParse(tagText, out var parsed))
            {
                problem = $"event {id}: data.target.tag is not a tag";
                return null;
            }
            tag = parsed;
        }
        if (digest is null && tag is null)
        {
            problem = $"event {id}: names neither a digest nor a tag";
            return null;
        }
        return new ReplicationEvent(id, action == "delete", repository, digest, tag);
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
