using System.Globalization;
using Registry.Oci;

namespace Registry.Retention;

/// <summary>What a retention decision is about: a tag (removed alone, its manifest stays) or an untagged manifest.</summary>
public enum RetainedKind
{
    Tag,
    Manifest,
}

/// <summary>One decision of a run: <paramref name="Deleted"/> or kept, and why. A tag names the digest it pointed at.</summary>
public sealed record RetentionDecision(string Repository, RetainedKind Kind, string? Tag, Digest Digest, long Size, bool Deleted, string Reason)
{
    public string Reference => Tag is { } tag ? $"{Repository}:{tag}" : $"{Repository}@{Digest}";
}

/// <summary>What one retention run decided (in a dry run: would decide), in the order it examined things.</summary>
public sealed class RetentionReport
{
    private readonly List<RetentionDecision> _decisions = [];

    public bool DryRun { get; init; }

    public IReadOnlyList<RetentionDecision> Decisions => _decisions;

    public int Repositories { get; set; }

    public int TagsExamined { get; set; }

    public void Add(RetentionDecision decision) => _decisions.Add(decision);

    public string Summary => string.Create(CultureInfo.InvariantCulture,
        $"{(DryRun ? "dry run: would delete" : "deleted")} {_decisions.Count(d => d.Deleted && d.Kind == RetainedKind.Tag)} tags and "
        + $"{_decisions.Count(d => d.Deleted && d.Kind == RetainedKind.Manifest)} untagged manifests "
        + $"({_decisions.Where(d => d.Deleted && d.Kind == RetainedKind.Manifest).Sum(d => d.Size)} manifest bytes); "
        + $"kept {_decisions.Count(d => !d.Deleted)}; {TagsExamined} tags in {Repositories} repositories examined");
}
